"""``cpt_search.confirm`` is pure core: the search engine imports it without torch, Ray, MLflow or Optuna."""

import subprocess
import sys

HEAVY = ("torch", "ray", "mlflow", "optuna", "torch_geometric", "torchvision", "matplotlib")
MODULES = ("cpt_search.confirm", "cpt_search.confirm.settings", "cpt_search.confirm.stats",
           "cpt_search.confirm.racing", "cpt_search.confirm.front", "cpt_search.confirm.simulate")


def test_confirm_imports_no_heavy_dependency():
    code = (f"import sys\nfor m in {MODULES!r}: __import__(m)\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "", f"cpt_search.confirm imported: {out.stdout.strip()}"
