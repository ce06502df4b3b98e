"""Without its trainer package, an adapter says which extra to install, in one line."""

import subprocess
import sys

import pytest

BLOCK = """
import sys
from importlib.abc import MetaPathFinder
missing = sys.argv[1]

class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == missing:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
try:
    __import__(sys.argv[2])
except Exception as error:
    print(type(error).__name__ + ": " + str(error))
"""


@pytest.mark.parametrize("module, adapter", [("lightning", "cpt_search.integrations.lightning"),
                                             ("transformers", "cpt_search.integrations.transformers")])
def test_a_missing_trainer_package_names_its_extra(module, adapter):
    done = subprocess.run([sys.executable, "-c", BLOCK, module, adapter], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == (f"MissingDependencyError: module={module!r}: this command needs {module}, "
                                   f"which is not installed; pip install 'cpt-search[{module}]'")
