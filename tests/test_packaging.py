"""The torch-free core: what ``pip install cpt-search`` (no extras) gives, and what it refuses.

A fresh ``pip install .`` cannot run here (the suite runs offline), so the core's absence of torch,
Ray, MLflow and Optuna is simulated the way Python sees a missing package: a meta-path finder that
raises ``ModuleNotFoundError`` for them. The declared dependencies are read from ``pyproject.toml``.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from cpt_search.extras import DISTRIBUTION_OF_MODULE, EXTRA_OF_MODULE

REPO_ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "torch_geometric", "ray", "mlflow", "optuna")

TORCH = ("torch", "torchvision", "torch_geometric")

BLOCK = """
import sys
from importlib.abc import MetaPathFinder
missing = sys.argv[1].split(",")

class NotInstalled(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in missing:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from cpt_search.cli import main
code = main(sys.argv[2:])
print("HEAVY:" + ",".join(m for m in %r if m in sys.modules))
sys.exit(code)
""" % (HEAVY,)


def without(missing: tuple[str, ...], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK, ",".join(missing), *args], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=120)


def _name(requirement: str) -> str:
    for stop in "=<>[; ":
        requirement = requirement.split(stop)[0]
    return requirement.lower()


def test_the_core_requires_no_heavy_dependency_and_the_extras_install_them() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    core = {_name(r) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    heavy = {DISTRIBUTION_OF_MODULE.get(m, m).replace("_", "-") for m in EXTRA_OF_MODULE}
    assert not core & heavy, f"the core depends on {sorted(core & heavy)}"
    for module, extra in EXTRA_OF_MODULE.items():
        distribution = DISTRIBUTION_OF_MODULE.get(module, module).replace("_", "-")
        assert distribution in {_name(r) for r in extras[extra]}, f"{distribution} is not in [{extra}]"
    assert "cpt-search[train]" in extras["search"] and "cpt-search[search]" in extras["all"]


def test_schedule_runs_without_torch_ray_mlflow_optuna() -> None:
    done = without(HEAVY, "schedule", "--preset", "CR", "--total-steps", "64", "--format", "text")
    assert done.returncode == 0, done.stderr
    assert "CR 3-8/8 n=8" in done.stdout and done.stdout.strip().endswith("HEAVY:")


def test_validate_reads_every_shipped_space_without_torch() -> None:
    # validate checks sampler options against Optuna's constructors, so it needs [search] but not torch
    for space in sorted((REPO_ROOT / "search_spaces").glob("*.yaml")):
        done = without(TORCH, "validate", str(space))
        assert done.returncode == 0, f"{space.name}: {done.stderr}"
        imported = done.stdout.strip().split("HEAVY:")[-1].split(",")
        assert not set(imported) & set(TORCH), f"{space.name} imported {imported}"


def test_a_command_needing_an_extra_names_it_in_one_line() -> None:
    done = without(HEAVY, "train", "--task", "digits/mlp", "--budget", "tiny", "--preset", "CR")
    assert done.returncode == 2
    assert done.stderr == ("error: module='torch': this command needs torch, which is not installed; "
                           "pip install 'cpt-search[train]'\n")
