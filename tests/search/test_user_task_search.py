"""A user task the repository has never seen, in a folder outside it, searched through the CLI.

Both forms: a ``cpt_search.Task`` subclass and a ``@cpt_search.training_function``, each with its own
model and data, named by an import string in a space file beside it. The CLI runs with only the
repository on ``PYTHONPATH`` and another working directory, so the module is found through the
space's folder alone. The function form is interrupted (SIGINT after its first finished trial) and
resumed; MLflow holds the validation and test metrics and BitOPs of every trial.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]

USER_MODULE = textwrap.dedent('''
    """Someone's own model and data: a two-moons-like problem and a small MLP."""
    import torch
    from torch import nn
    import cpt_search
    from cpt_search.tasks.base import Evaluation, Prepared

    def make_data(seed=0, n=640):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, 6, generator=g)
        y = ((x[:, 0] * x[:, 1] + 0.5 * x[:, 2]) > 0).long()
        return x[:384], y[:384], x[384:512], y[384:512], x[512:], y[512:]

    def mlp():
        return nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))

    def acc(model, x, y):
        return (model(x).argmax(1) == y).float().mean().item()

    class MoonsTask(cpt_search.Task):
        metric_name = "val_accuracy"
        test_metric_name = "test_accuracy"
        budgets = {"default": cpt_search.Budget(epochs=3)}

        def prepare(self, budget, options, device):
            data = make_data()
            return Prepared(data=data, model=mlp(), example_inputs=(data[0][:1],), steps_per_epoch=12,
                            samples_per_step=32)

        def make_optimizer(self, model, budget, total_steps):
            return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), None

        def batches(self, prepared, budget, generator):
            x, y = prepared.data[0], prepared.data[1]
            order = torch.randperm(len(y), generator=generator)
            for step in range(12):
                rows = order[step * 32:(step + 1) * 32]
                yield x[rows], y[rows]

        def loss(self, model, batch):
            return nn.functional.cross_entropy(model(batch[0]), batch[1])

        def evaluate(self, model, prepared, budget):
            _, _, vx, vy, tx, ty = prepared.data
            return Evaluation(metric=acc(model, vx, vy), accuracy=None, test_metric=acc(model, tx, ty))

    @cpt_search.training_function(metric="val_accuracy", test_metric="test_accuracy",
                                  total_steps=lambda budget: budget["epochs"] * 12)
    def train(ctx):
        x, y, vx, vy, tx, ty = make_data()
        model = mlp()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        ctx.quantize(model, x[:32])
        ctx.attach(optimizer)
        g = torch.Generator().manual_seed(ctx.seed)
        for epoch in range(1, ctx.budget["epochs"] + 1):
            model.train()
            order = torch.randperm(len(y), generator=g)
            for step in range(12):
                rows = order[step * 32:(step + 1) * 32]
                loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
                optimizer.zero_grad(); loss.backward(); optimizer.step()
            model.eval()
            with torch.no_grad():
                ctx.report(epoch=epoch, metric=acc(model, vx, vy), test_metric=acc(model, tx, ty))
''')


def space(name: str, task: str, budget, trials: int) -> dict:
    return {"name": name, "task": task, "budget": budget, "trials": trials, "concurrency": 2,
            "sampler": {"name": "random", "seed": 3},
            "schedule": {"profile": ["cosine", "linear"], "num_cycles": [1, 2],
                         "min_bits": {"low": 3, "high": 6}, "bits_span": {"low": 0, "high": 2}}}


@pytest.fixture()
def user_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "someone_else" / "project"
    folder.mkdir(parents=True)
    assert REPO_ROOT not in folder.parents
    (folder / "moons_tasks.py").write_text(USER_MODULE, encoding="utf-8")
    return folder


def _cli(args: list[str], cwd: Path, **popen) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen([sys.executable, "-m", "cpt_search", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)


def _front(name: str, store: Path, cwd: Path) -> dict:
    shown = _cli(["front", name, "--store", str(store), "--format", "json"], cwd)
    out = shown.communicate(timeout=120)[0]
    assert shown.returncode == 0, out
    return json.loads(out)


def _mlflow_children(store: Path, name: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(f"cpt_search/{name}")
    return client.search_runs([experiment.experiment_id], "tags.cpt_search_role = 'trial'")


@pytest.mark.slow
def test_a_user_task_class_is_searched_end_to_end(user_folder: Path, tmp_path: Path) -> None:
    path = user_folder / "class_space.yaml"
    path.write_text(yaml.safe_dump(space("moons_class", "moons_tasks:MoonsTask", "default", 3)))
    store = tmp_path / "store_class"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    run = _cli(["run", str(path), "--store", str(store)], elsewhere)
    output = run.communicate(timeout=400)[0]
    assert run.returncode == 0, output
    assert "search 'moons_class' finished: 3/3 trials (3 complete" in output
    front = _front("moons_class", store, elsewhere)
    assert front["metric_name"] == "val_accuracy" and front["test_metric_name"] == "test_accuracy"
    assert front["front"] and all(0.0 <= row["test_accuracy"] <= 1.0 for row in front["front"])
    runs = _mlflow_children(store, "moons_class")
    assert len(runs) == 3
    for child in runs:
        assert {"val_accuracy", "test_accuracy", "bitops"} <= set(child.data.metrics)
    # the confirmation's workers find the user's module too (the space folder is in the study)
    confirm = _cli(["confirm", "moons_class", "--store", str(store), "--seeds", "5",
                    "--max-trainings", "2", "--no-mlflow"], elsewhere)
    out = confirm.communicate(timeout=300)[0]
    assert confirm.returncode == 0, out
    confirmed = _front("moons_class", store, elsewhere)["front"]
    assert any((row.get("n_seeds") or 0) >= 2 for row in confirmed), confirmed


@pytest.mark.slow
def test_a_training_function_is_searched_interrupted_and_resumed(user_folder: Path, tmp_path: Path) -> None:
    import optuna

    from cpt_search.search.resume import open_storage

    path = user_folder / "function_space.yaml"
    path.write_text(yaml.safe_dump(space("moons_fn", "moons_tasks:train", {"epochs": 3}, 4)))
    store = tmp_path / "store_fn"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    args = ["run", str(path), "--store", str(store)]

    first = _cli(args, elsewhere)
    lines = []
    deadline = time.monotonic() + 300
    assert first.stdout is not None
    for line in first.stdout:  # interrupt as soon as the first trial has finished
        lines.append(line)
        if " complete " in line:
            first.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline, "".join(lines)
    lines += first.stdout.readlines()
    assert first.wait(timeout=120) == 130, "".join(lines)

    second = _cli(args, elsewhere)
    output = second.communicate(timeout=400)[0]
    assert second.returncode == 0, output
    assert "search 'moons_fn' finished: 4/4 trials" in output

    study = optuna.load_study(study_name="moons_fn", storage=open_storage(f"sqlite:///{store / 'optuna.db'}"))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 4
    assert study.user_attrs["budget"] == {"epochs": 3}
    for trial in complete:  # BitOPs from the counted MACs: 36 steps of 32 samples, per-layer MACs
        result = trial.user_attrs["result"]
        assert result["total_steps"] == 36 and 0 < trial.values[1] < result["fp32_bitops"]
    front = _front("moons_fn", store, elsewhere)
    assert front["test_metric_name"] == "test_accuracy" and front["front"]
    runs = [r for r in _mlflow_children(store, "moons_fn") if r.info.status == "FINISHED"]
    assert len(runs) == 4
    for child in runs:
        assert {"val_accuracy", "test_accuracy", "bitops"} <= set(child.data.metrics)
    exported = tmp_path / "best.yaml"
    export = _cli(["export", "moons_fn", "--store", str(store), "--pick", "knee", "-o", str(exported)],
                  elsewhere)
    out = export.communicate(timeout=120)[0]
    assert export.returncode == 0 and exported.exists(), out
