"""glibc malloc tuning: applied once, reported honestly."""

import subprocess
import sys

CHECK = """
import ctypes, ctypes.util, sys
from cpt_search import malloc_tuning
first = malloc_tuning.keep_freed_memory()
second = malloc_tuning.keep_freed_memory()
print(first, second, 'torch' in sys.modules)
"""


def test_keep_freed_memory_applies_once_without_heavy_imports():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    first, second, torch_loaded = out.stdout.split()
    assert first == second
    if sys.platform.startswith("linux"):
        assert first == "True"  # glibc accepts the three settings (the 32 MiB cap included)
    assert torch_loaded == "False"
