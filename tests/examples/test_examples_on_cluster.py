"""Both examples searched on a real two-node Ray cluster, copied out of the repository first.

``examples/tiny_gpt`` (a task class) and ``examples/own_loop`` (a ``@cpt_search.training_function``)
are copied as they ship into a folder outside the checkout, so no Ray worker can import them but from
the code the driver ships; each space is cut to two sampled trials on its smallest budget. The search
runs as a user runs it, ``cpt-search run SPACE --ray-address ADDRESS`` against a cluster of a head
with no CPUs and a worker node with two (the driver of :mod:`tests.search.test_cluster`). Checked:
every trial ran on the worker node (the node id each trial reports), and the MLflow child runs hold
the validation metric, the test metric, BitOPs and the schedule.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.search.test_cluster import DRIVER, loopback_only_namespace

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    # example folder: (space overrides, validation metric, test metric)
    "tiny_gpt": ({"budget": "tiny", "schedule": {"profile": "cosine", "num_cycles": 2,
                                                 "min_bits": {"low": 4, "high": 6}, "bits_span": 1}},
                 "val_bpc", "test_bpc"),
    "own_loop": ({"budget": {"epochs": 2, "batch_size": 64, "lr": 0.05}}, "val_accuracy", "test_accuracy"),
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not loopback_only_namespace(),
                       reason="a multi-node Ray cluster on one machine needs a loopback-only network namespace "
                              "(run as root: scripts/offline.sh python -m pytest tests/examples)"),
]


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_example_searches_on_the_worker_node_of_a_two_node_cluster(example: str, tmp_path: Path,
                                                                       data_dir) -> None:
    overrides, metric, test_metric = EXAMPLES[example]
    project = tmp_path / "project" / example  # outside the repository, on no worker's path
    shutil.copytree(REPO_ROOT / "examples" / example, project,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    space_file = project / "space.yaml"
    space = yaml.safe_load(space_file.read_text(encoding="utf-8"))
    space.update(trials=2, concurrency=2, include_baselines=False, **overrides)
    space["sampler"] = {"name": "random", "seed": 1}
    space_file.write_text(yaml.safe_dump(space), encoding="utf-8")
    driver_cwd = tmp_path / "elsewhere"  # Ray puts the driver's folder on workers' paths: not the project's
    driver_cwd.mkdir()
    (tmp_path / "driver.py").write_text(DRIVER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_ADDRESS", "PYTHONPATH")}
    ray_tmp = tempfile.mkdtemp(prefix="cptray-")  # short: Ray's unix sockets live under it
    env.update(PYTHONPATH=str(REPO_ROOT), RAY_TMPDIR=ray_tmp, RAY_USAGE_STATS_ENABLED="0",
               RAY_AUTH_MODE="disabled", MLFLOW_DISABLE_TELEMETRY="true", CPT_SEARCH_DATA=str(data_dir))
    nodes_file = tmp_path / "nodes.json"
    store = tmp_path / "store"
    try:
        run = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(space_file), str(store),
                              str(driver_cwd), str(nodes_file)],
                             cwd=driver_cwd, env=env, capture_output=True, text=True, timeout=600)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])
    assert "shipping" in run.stdout
    nodes = json.loads(nodes_file.read_text())
    assert nodes["head"] != nodes["worker"]

    import optuna

    study = optuna.load_study(study_name=space["name"], storage=f"sqlite:///{store / 'optuna.db'}")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2, [(t.number, t.state, t.user_attrs.get("error")) for t in study.trials]
    assert {t.user_attrs["result"]["ray_node_id"] for t in complete} == {nodes["worker"]}  # never the head
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(f"cpt_search/{space['name']}")
    children = client.search_runs([experiment.experiment_id], "tags.cpt_search_role = 'trial'")
    assert len(children) == 2
    for child in children:
        assert {metric, test_metric, "bitops"} <= set(child.data.metrics), child.data.metrics
        assert child.data.tags["ray_node_id"] == nodes["worker"]
        assert {"profile", "min_bits", "max_bits", "num_cycles"} <= set(child.data.params), child.data.params  # the schedule
