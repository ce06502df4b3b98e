"""The pure core must stay light: importing it pulls in no torch, Ray, MLflow or Optuna."""

import subprocess
import sys

HEAVY = ("torch", "ray", "mlflow", "optuna", "torch_geometric", "torchvision", "matplotlib", "lightning",
         "transformers", "accelerate")
CORE = ("cpt_search", "cpt_search.schedule", "cpt_search.presets", "cpt_search.costs",
        "cpt_search.profiles", "cpt_search.export", "cpt_search.registry", "cpt_search.errors",
        "cpt_search.cli", "cpt_search.cli.schedule_cmd", "cpt_search.space", "cpt_search.pareto",
        "cpt_search.select", "cpt_search.piecewise", "cpt_search.malloc_tuning", "cpt_search.data",
        "cpt_search.analysis", "cpt_search.analysis.jobs", "cpt_search.analysis.stats",
        "cpt_search.analysis.reproduce", "cpt_search.analysis.critical", "cpt_search.analysis.range_test",
        "cpt_search.analysis.tables", "cpt_search.yaml_io", "cpt_search.output_paths", "cpt_search.limits",
        "cpt_search.cli.params", "cpt_search.integrations", "cpt_search.stopping")


def test_core_imports_no_heavy_dependency():
    code = (
        f"import sys\nfor m in {CORE!r}: __import__(m)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "", f"pure core imported: {out.stdout.strip()}"
