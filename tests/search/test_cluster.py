"""A search on a real two-node Ray cluster, of a user task no worker could import on its own.

The test writes a user's project into a temporary folder outside the repository (a task module
beside its space file, and a helper module in a ``code:`` folder), starts a Ray cluster on this
machine with ``ray.cluster_utils.Cluster`` (a head with 0 CPUs and a worker node with 2), and runs
``cpt-search run SPACE --ray-address ADDRESS`` against it from a third folder, as a user would. The
task records, from inside every trial, the Ray node it ran on, the file its module was imported from
and when it built its data. The test checks that every trial ran on the worker node, imported the
shipped copy (not the user's folder, which is on no worker's path), built its data once on that node,
and that the search completed.

Ray on one machine forms a multi-node cluster on 127.0.0.1 only inside a loopback-only network
namespace (see the multi-node note in the project's stack notes: outside one, its processes listen
on every interface). CI runs the suite in one (``scripts/offline.sh``); elsewhere this test is skipped.
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

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def loopback_only_namespace() -> bool:
    """Whether this process's network namespace has no interface but ``lo``.

    ``/proc/self/net/dev`` lists the interfaces of this process's namespace (``/sys/class/net``
    keeps showing the namespace sysfs was mounted in).
    """
    try:
        lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    except OSError:
        return False
    return [line.split(":")[0].strip() for line in lines] == ["lo"]


HELPER_MODULE = '''"""The user's model, in a folder the space lists under code:."""
from torch import nn


class BlobNet(nn.Module):
    def __init__(self, features: int, classes: int, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x):
        return self.net(x)
'''

TASK_MODULE = '''"""A user's own task (its own data and model), recording where each trial runs."""
import json
import os
import socket
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from blob_model import BlobNet  # from the space's code: folder
from cpt_search.data import build_once
from cpt_search.tasks.base import Evaluation, Prepared, Task
from cpt_search.tasks.budgets import Budget

RECORDS = {records!r}


def record(event):
    import ray

    line = {{"event": event, "node": ray.get_runtime_context().get_node_id(), "pid": os.getpid(),
             "host": socket.gethostname(), "file": __file__}}
    with open(os.path.join(RECORDS, f"{{event}}-{{os.getpid()}}-{{time.time_ns()}}.json"), "w") as out:
        json.dump(line, out)


def make_blobs(path):
    record("built-data")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    points = rng.normal(size=(600, 8)) + 2.5 * np.eye(3, 8)[labels]
    with open(path, "wb") as out:
        np.savez(out, x=points.astype(np.float32), y=labels)


@dataclass(frozen=True)
class BlobBudget(Budget):
    batch_size: int = 50

    def epoch_steps(self, train_size):
        return 400 // self.batch_size


class BlobTask(Task):
    name = "blobs"
    metric_name = "val_accuracy"
    test_metric_name = "test_accuracy"
    budgets = {{"default": BlobBudget(epochs=2)}}

    def prepare(self, budget, options, device):
        record("prepare")
        arrays = np.load(build_once(options.cache / "user-blobs-v1.npz", make_blobs))
        x, y = torch.from_numpy(arrays["x"]).to(device), torch.from_numpy(arrays["y"]).to(device)
        return Prepared(data=(x, y), model=BlobNet(8, 3).to(device), example_inputs=(x[:1],),
                        steps_per_epoch=budget.epoch_steps(None), samples_per_step=budget.batch_size)

    def make_optimizer(self, model, budget, total_steps):
        return torch.optim.Adam(model.parameters(), lr=1e-2), None

    def batches(self, prepared, budget, generator):
        x, y = prepared.data
        order = torch.randperm(400, generator=generator)
        for start in range(0, 400, budget.batch_size):
            index = order[start:start + budget.batch_size]
            yield x[index], y[index]

    def loss(self, model, batch):
        inputs, targets = batch
        return F.cross_entropy(model(inputs), targets)

    def evaluate(self, model, prepared, budget):
        x, y = prepared.data

        def accuracy(part):
            return float((model(x[part]).argmax(1) == y[part]).float().mean())

        return Evaluation(metric=accuracy(slice(400, 500)), accuracy=None, test_metric=accuracy(slice(500, 600)))
'''

DRIVER = r'''
import json, subprocess, sys
from ray.cluster_utils import Cluster

space, store, cwd, out = sys.argv[1:5]
cluster = Cluster(initialize_head=True, head_node_args={
    "num_cpus": 0, "node_ip_address": "127.0.0.1", "include_dashboard": False,
    "object_store_memory": 80 * 2**20})
worker = cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1", object_store_memory=120 * 2**20)
cluster.wait_for_nodes()
try:
    with open(out, "w") as handle:
        json.dump({"address": cluster.address, "head": cluster.head_node.node_id, "worker": worker.node_id}, handle)
    command = [sys.executable, "-m", "cpt_search", "run", space, "--ray-address", cluster.address,
               "--store", store]
    sys.exit(subprocess.run(command, cwd=cwd).returncode)
finally:
    cluster.shutdown()
'''


@pytest.mark.skipif(not loopback_only_namespace(),
                    reason="a multi-node Ray cluster on one machine needs a loopback-only network namespace "
                           "(run as root: scripts/offline.sh python -m pytest tests/search/test_cluster.py)")
def test_user_task_runs_on_the_worker_node_from_shipped_code(tmp_path: Path) -> None:
    project = tmp_path / "project"  # outside the repository, on no worker's path
    records = tmp_path / "records"
    records.mkdir()
    (project / "spaces").mkdir(parents=True)
    (project / "lib").mkdir()
    (project / "lib" / "blob_model.py").write_text(HELPER_MODULE, encoding="utf-8")
    (project / "spaces" / "blob_task.py").write_text(TASK_MODULE.format(records=str(records)), encoding="utf-8")
    space = project / "spaces" / "blobs.yaml"
    space.write_text(yaml.safe_dump({
        "task": "blob_task:BlobTask", "trials": 2, "concurrency": 2, "code": ["../lib"],
        "sampler": {"name": "random", "seed": 3},
        "schedule": {"profile": "cosine", "num_cycles": 2, "min_bits": {"low": 4, "high": 6},
                     "bits_span": 2}}), encoding="utf-8")
    driver_cwd = tmp_path / "elsewhere"  # Ray puts the driver's folder on workers' paths: not the project's
    driver_cwd.mkdir()
    (tmp_path / "driver.py").write_text(DRIVER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_ADDRESS", "PYTHONPATH")}
    # Short: Ray's unix sockets live under it (path limit ~107 characters).
    ray_tmp = tempfile.mkdtemp(prefix="cptray-")
    env.update(PYTHONPATH=str(REPO_ROOT), RAY_TMPDIR=ray_tmp, RAY_USAGE_STATS_ENABLED="0",
               RAY_AUTH_MODE="disabled", MLFLOW_DISABLE_TELEMETRY="true")
    nodes_file = tmp_path / "nodes.json"
    try:
        run = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(space),
                              str(tmp_path / "store"), str(driver_cwd), str(nodes_file)],
                             cwd=driver_cwd, env=env, capture_output=True, text=True, timeout=540)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])
    assert "shipping 3 file(s)" in run.stdout  # the task module, the space file, the helper
    nodes = json.loads(nodes_file.read_text())
    assert nodes["head"] != nodes["worker"]

    events = [json.loads(p.read_text()) for p in sorted(records.iterdir())]
    prepares = [e for e in events if e["event"] == "prepare"]
    assert len(prepares) == 2, events  # one per trial
    assert {e["node"] for e in events} == {nodes["worker"]}, (nodes, events)  # never the head
    for event in events:
        shipped = Path(event["file"])
        assert not shipped.is_relative_to(project), event  # the shipped copy, not the user's folder
        # Ray's unpacked working_dir (removed with its session folder): <pkg>/code/<i>-spaces/blob_task.py
        assert shipped.parents[1].name == "code" and shipped.parent.name == "0-spaces", event
        assert "working_dir_files" in shipped.parts, event
    # The data was built where the trials ran, once for the node.
    assert [e["node"] for e in events if e["event"] == "built-data"] == [nodes["worker"]]

    import optuna

    study = optuna.load_study(study_name="blobs", storage=f"sqlite:///{tmp_path / 'store' / 'optuna.db'}")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2 and all(0.0 <= t.values[0] <= 1.0 for t in complete)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cpt_search/blobs")
    children = client.search_runs([experiment.experiment_id], "tags.cpt_search_role = 'trial'")
    assert len(children) == 2
    for child in children:
        assert {"val_accuracy", "test_accuracy", "bitops"} <= set(child.data.metrics), child.data.metrics
