"""The Ray Tune trainable of every search and analysis: train one schedule per seed and report.

A trial's ``config["cpt"]`` holds the schedule (any :class:`~cpt_search.schedule.BitSchedule` as its
dict) and, for an analysis trial, its own ``seeds``; a search's trials train the space's seeds.

Reports (flat dicts, so Ray's flattening changes nothing):

* after every epoch of every seed: ``kind="epoch"`` with ``seed``, ``epoch``, ``loss``,
  ``epoch_metric``, ``epoch_accuracy``, ``epoch_test_metric``, ``mean_bits_so_far``,
  ``bitops_so_far``, ``seconds`` and ``progress_frac``, the fraction of the whole trial trained
  (seeds train one after the other: ``(seed index + step / total_steps) / seeds``), which an
  early-stopping rule's rungs are placed at (:mod:`cpt_search.search.scheduler`);
  the objective keys are deliberately absent, so a trial that dies later can never be mistaken for a
  complete one (the driver sets ``TUNE_DISABLE_STRICT_METRIC_CHECKING``);
* once at the end, ``kind="final"``: the objectives ``<metric_name>`` (mean over seeds) and
  ``bitops``, plus the summary keys of :data:`cpt_search.search.searcher.SUMMARY_KEYS` (``seconds``
  is the mean training time of one seed, ``trial_seconds`` the whole trial's wall time), and
  ``ray_node_id`` (the Ray node that trained it: which machine of a cluster), and
  ``test_metric`` / ``test_metric_std`` (over seeds) when the task has a test split: recorded
  beside the objective, never one;
* or, when training raised (``TrialDiverged`` or anything else), ``kind="failed"`` with
  ``trial_failed=True``, ``error`` (one line), ``error_type`` and ``error_traceback``; the
  searcher tells Optuna FAIL and the driver marks the MLflow run FAILED. Catching here, rather than
  letting Ray record an actor error, keeps the reason as one clean line.

torch threads are set from the CPUs Ray gave the trial, so parallel trials do not oversubscribe.
"""

from __future__ import annotations

import math
import time
import traceback
from typing import Any, Callable, Sequence


def make_trainable(*, task: str, budget: Any, seeds: Sequence[int], data_dir: str | None,
                   threads: int, metric_name: str, device: str | None = None,
                   code_dirs: Sequence[str] = (), code_digest: str | None = None) -> Callable[[dict], None]:
    """A Ray Tune function trainable bound to one search's task, budget, seeds and data root.

    Args:
        task, budget: what to train (a registered task name or import string, and its budget).
        seeds: one training run per seed (unless the trial's config names its own); the reported
            metric is their mean.
        data_dir: absolute data root prepared once by the driver (trial workers run elsewhere).
        threads: ``torch.set_num_threads`` for the trial (its CPUs).
        metric_name: the key the first objective is reported under.
        device: torch device, ``None`` = CUDA when Ray gave the trial a GPU, else CPU.
        code_dirs: the driver's folders an import-string ``task`` resolves in (the space's); on
            this machine's workers they hold the user's module.
        code_digest: the digest of those folders shipped to a cluster
            (:func:`cpt_search.search.shipping.stage_code`); the trial then imports the shipped copies.
    """
    seeds = tuple(int(s) for s in seeds)
    code_dirs = tuple(str(d) for d in code_dirs)

    def train_schedule(config: dict) -> None:
        entered_unix = time.time()  # wall clock: the driver compares it with its own timestamps
        started = time.perf_counter()
        from ray import tune

        from cpt_search.piecewise import schedule_from_any_dict
        from cpt_search.training import TrialSpec, run_trial

        import_seconds = time.perf_counter() - started
        info = config["cpt"]
        results = []
        trained: list[int] = []
        try:
            _resolve_user_task(task, code_dirs, code_digest)
            schedule = schedule_from_any_dict(info["schedule"], where="trial config")
            trial_seeds = tuple(int(s) for s in info.get("seeds") or seeds)
            for index, seed in enumerate(trial_seeds):
                spec = TrialSpec(task=task, budget=budget, schedule=schedule, seed=seed,
                                 data_dir=data_dir, device=device, threads=threads)
                results.append(run_trial(spec, on_epoch=_epoch_reporter(tune.report, seed, index,
                                                                        len(trial_seeds))))
                trained.append(seed)
        except Exception as error:  # noqa: BLE001 - every failure becomes a recorded FAIL
            tune.report(failure_report(error, time.perf_counter() - started))
            return
        report = final_report(results, metric_name, time.perf_counter() - started, seeds=trained)
        report["ray_node_id"] = _ray_node_id()
        report.update(overhead_report(results, import_seconds, entered_unix))
        tune.report(report)

    return train_schedule


def _epoch_reporter(report: Callable[[dict[str, Any]], Any], seed: int, index: int,
                    seed_count: int) -> Callable[[Any], None]:
    """``run_trial``'s ``on_epoch`` for the ``index``-th of ``seed_count`` seeds: each epoch to ``report``."""

    def on_epoch(record: Any) -> None:
        report(epoch_report(record, seed, seed_index=index, seed_count=seed_count))

    return on_epoch


def _ray_node_id() -> str | None:
    """The Ray node this trial ran on (``ray_node_id`` of its result: which machine of a cluster
    trained it), ``None`` outside a Ray worker."""
    try:
        import ray

        return str(ray.get_runtime_context().get_node_id())
    except Exception:  # noqa: BLE001 - where a trial ran is information, never a reason to fail it
        return None


def _resolve_user_task(task: str, code_dirs: Sequence[str], code_digest: str | None) -> None:
    """Import a user task where this trial runs, from the shipped code when the worker got it.

    :func:`~cpt_search.tasks.resolve.resolve_task` remembers the result per process, so
    ``run_trial``'s own lookup then finds it without search folders.
    """
    from cpt_search.search.shipping import worker_code_dirs
    from cpt_search.tasks.resolve import is_import_string, resolve_task

    if is_import_string(task):
        resolve_task(task, where="trial", key="task", search_dirs=worker_code_dirs(code_dirs, code_digest))


def epoch_report(record: Any, seed: int, *, seed_index: int = 0, seed_count: int = 1) -> dict[str, Any]:
    """One epoch's progress (an :class:`~cpt_search.training.EpochRecord`) as a Tune result, the
    ``seed_index``-th of ``seed_count`` seeds trained one after the other."""
    seed_frac = record.step / record.total_steps if record.total_steps else 0.0
    report = {"kind": "epoch", "seed": int(seed), "epoch": int(record.epoch), "loss": float(record.loss),
              "progress_frac": (seed_index + min(1.0, seed_frac)) / max(1, seed_count),
              "epoch_metric": float(record.metric), "mean_bits_so_far": float(record.mean_bits_so_far),
              "bitops_so_far": float(record.bitops_so_far), "seconds": float(record.seconds)}
    if record.accuracy is not None:
        report["epoch_accuracy"] = float(record.accuracy)
    if record.test_metric is not None:
        report["epoch_test_metric"] = float(record.test_metric)
    return report


def final_report(results: Sequence[Any], metric_name: str, seconds: float,
                 seeds: Sequence[int] = ()) -> dict[str, Any]:
    """The objectives and summary of a trained schedule (``TrialResult`` per seed, trained on ``seeds``).

    ``seed_metrics`` keeps the metric of each seed (``{"seed": value}``; seed confirmation pairs
    schedules seed by seed) and ``final_epoch`` the last evaluated epoch, the step the summary metrics
    are logged at so they line up with the curves.
    """
    mean, std = _mean_std([float(r.metric) for r in results])
    first = results[0]  # the cost is the schedule's and the task's: the same for every seed
    report: dict[str, Any] = {
        "kind": "final", metric_name: mean, "metric": mean, "metric_std": std,
        "bitops": float(first.bitops), "paper_bitops": float(first.paper_bitops),
        "fp32_bitops": float(first.fp32_bitops), "relative_cost": float(first.relative_cost),
        "relative_cost_vs_8_8": float(first.relative_cost_vs_8_8), "mean_bits": float(first.mean_bits),
        "mean_grad_bits": float(first.mean_grad_bits), "total_steps": int(first.total_steps),
        "epochs": len(first.epochs), "trial_seconds": float(seconds), "seeds": len(results),
        "seconds": sum(float(r.seconds) for r in results) / len(results),
        "device": first.device, "quant_kernels": first.quant_kernels,
    }
    if len(seeds) == len(results):
        report["seed_metrics"] = {str(int(seed)): float(r.metric) for seed, r in zip(seeds, results)}
    if first.epochs:
        report["final_epoch"] = int(first.epochs[-1].epoch)
    accuracies = [r.accuracy for r in results if r.accuracy is not None]
    if accuracies:
        report["accuracy"] = sum(accuracies) / len(accuracies)
    tests = [float(r.test_metric) for r in results if r.test_metric is not None]
    if tests:
        report["test_metric"], report["test_metric_std"] = _mean_std(tests)
    return report


def overhead_report(results: Sequence[Any], import_seconds: float, entered_unix: float) -> dict[str, Any]:
    """Where a trial's time went, summed over its seeds (docs/performance.md, "Per-trial overhead").

    ``overhead_import_s`` (the trainable's imports and each run's torch / task imports: a fresh
    worker pays them, a reused one does not), ``overhead_data_s`` (reading the dataset),
    ``overhead_build_s`` (model, quantizing, MACs, optimizer) and ``train_s`` (steps and
    evaluations); ``trial_entered_unix`` / ``final_reported_unix`` (wall clock, so the driver can
    place the trial between its own events), ``worker_pid`` and ``worker_started_unix`` (when the
    worker process started: a reused worker reports the same pid and start for several trials).
    """
    import os

    import psutil  # a dependency of Ray

    phases = [dict(getattr(r, "phase_seconds", None) or {}) for r in results]
    return {
        "overhead_import_s": import_seconds + sum(p.get("import", 0.0) for p in phases),
        "overhead_data_s": sum(p.get("data", 0.0) for p in phases),
        "overhead_build_s": sum(p.get("build", 0.0) for p in phases),
        "train_s": sum(p.get("train", 0.0) for p in phases),
        "trial_entered_unix": entered_unix, "final_reported_unix": time.time(),
        "worker_pid": os.getpid(), "worker_started_unix": psutil.Process().create_time(),
    }


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and population standard deviation (0 for one seed)."""
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def failure_report(error: BaseException, seconds: float) -> dict[str, Any]:
    """The failure marker the searcher turns into an Optuna FAIL."""
    line = " ".join(str(error).split()) or type(error).__name__
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {"kind": "failed", "trial_failed": True, "error": f"{type(error).__name__}: {line}"[:1000],
            "error_type": type(error).__name__, "error_traceback": text[-4000:],
            "trial_seconds": float(seconds)}
