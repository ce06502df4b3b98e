"""check-task on broken user tasks written outside the repository: one line per problem, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cpt_search.testing import check_task

REPO_ROOT = Path(__file__).resolve().parents[2]

TASKS_MODULE = textwrap.dedent('''
    import torch
    from cpt_search.tasks import TASKS
    from cpt_search.tasks.base import Evaluation, Task
    from cpt_search.tasks.builtin import DIGITS_TRAIN
    from cpt_search.tasks.digits import DigitsMLP
    import cpt_search

    class Good(DigitsMLP):
        metric_name = "val_accuracy"; test_metric_name = "test_accuracy"; dataset = "digits"
        budgets = TASKS.get("digits/mlp").budgets; train_size = DIGITS_TRAIN

    class NoLoss(Task):
        metric_name = "val_accuracy"; budgets = TASKS.get("digits/mlp").budgets
        def prepare(self, budget, options, device): ...
        def make_optimizer(self, model, budget, total_steps): ...
        def batches(self, prepared, budget, generator): ...
        def evaluate(self, model, prepared, budget): ...

    class ShortEpoch(Good):
        def batches(self, prepared, budget, generator):
            yield from list(super().batches(prepared, budget, generator))[:-1]

    class TensorMetric(Good):
        def evaluate(self, model, prepared, budget):
            e = super().evaluate(model, prepared, budget)
            return Evaluation(metric=torch.tensor(e.metric), accuracy=e.accuracy, test_metric=e.test_metric)

    class NanMetric(Good):
        def evaluate(self, model, prepared, budget):
            e = super().evaluate(model, prepared, budget)
            return Evaluation(metric=float("nan"), accuracy=e.accuracy, test_metric=e.test_metric)

    def plain(ctx):
        pass

    @cpt_search.training_function(total_steps=5)
    def never_quantizes(ctx):
        pass
''')


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("user_code")
    assert REPO_ROOT not in path.parents
    (path / "user_checks.py").write_text(TASKS_MODULE, encoding="utf-8")
    return path


@pytest.mark.parametrize("attribute, check, message", [
    ("NoLoss", "methods", "NoLoss does not implement loss(self, model, batch)"),
    ("ShortEpoch", "batches", "batches() gave 21 batches in one epoch, but prepare() says steps_per_epoch=22"),
    ("TensorMetric", "metric", "Evaluation.metric (val_accuracy) must be a float, got Tensor of shape ()"),
    ("NanMetric", "metric", "Evaluation.metric (val_accuracy) is nan"),
    ("never_quantizes", "train", "never called ctx.quantize"),
    ("plain", "import", "decorate it with @cpt_search.training_function"),
    ("missing", "import", "module 'user_checks' has no attribute 'missing'"),
])
def test_a_broken_task_is_one_line(folder, attribute, check, message):
    report = check_task(f"user_checks:{attribute}", search_dirs=[str(folder)])
    assert not report.ok and len(report.problems) == 1, report.problems
    problem = report.problems[0]
    assert problem.check == check and message in problem.message and "\n" not in str(problem)
    with pytest.raises(AssertionError, match="breaks the task contract"):
        report.raise_for_problems()


def test_a_sound_task_passes_every_check(folder):
    report = check_task("user_checks:Good", search_dirs=[str(folder)]).raise_for_problems()
    assert report.passed == ["metadata", "methods", "budget", "prepare", "steps_per_epoch", "batches",
                             "loss", "metric", "train"]
    assert report.budget == "tiny" and report.result.total_steps == 44


def test_a_function_task_passes(folder):
    report = check_task("tests.training.function_tasks:train", budget={"epochs": 1, "batches": 4})
    assert report.ok and report.passed == ["metadata", "total_steps", "train"]
    assert report.result.total_steps == 4


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "cpt_search", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_cli_prints_one_line_and_exits_2(folder):
    broken = _cli("check-task", "user_checks:ShortEpoch", cwd=folder)
    assert broken.returncode == 2, broken.stderr
    assert broken.stderr.strip().splitlines() == [
        "error: user_checks:ShortEpoch: batches: batches() gave 21 batches in one epoch, but prepare() "
        "says steps_per_epoch=22; drop the last partial batch and make the two agree"]
    bad = _cli("check-task", "user_checks:1bad", cwd=folder)
    assert bad.returncode == 2 and "an import string must look like 'module:attribute'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
