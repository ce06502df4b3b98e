"""The pure analysis modules (and the piecewise schedules) import none of torch, Ray, MLflow, Optuna."""

import subprocess
import sys

HEAVY = ("torch", "ray", "mlflow", "optuna", "matplotlib")
PURE = ("cpt_search.piecewise", "cpt_search.analysis", "cpt_search.analysis.jobs",
        "cpt_search.analysis.stats", "cpt_search.analysis.reproduce", "cpt_search.analysis.critical",
        "cpt_search.analysis.range_test", "cpt_search.analysis.tables")


def test_pure_analysis_imports_no_heavy_dependency():
    code = (
        f"import sys\nfor m in {PURE!r}: __import__(m)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "", f"pure analysis imported: {out.stdout.strip()}"
