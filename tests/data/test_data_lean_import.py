"""``cpt_search.data`` locates and caches without torch, so a search driver can use it cheaply."""

import subprocess
import sys


def test_data_package_imports_no_torch():
    code = ("import sys, cpt_search.data, cpt_search.data.fashion_mnist\n"
            "print(','.join(m for m in ('torch', 'torchvision', 'torch_geometric') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == ""
