"""Recording an analysis (a fixed list of trainings) in MLflow, from the driver only.

The store layout is the search's (:mod:`cpt_search.tracking.store`): an analysis named NAME is the
experiment ``cpt_search/NAME`` in the store's MLflow, with the classic training-runs view. What
differs from a search is the key of a run: there is no Optuna trial, so each child run is tagged with
its job key (``"CR#seed0"``) and looked up by it before one is created. Rerunning the same command
therefore resumes: finished jobs are read back from their runs instead of being trained again, and
nothing is duplicated.

* parent run: tags ``cpt_search_role=analysis``, ``analysis=<reproduce|critical-period>``, package
  versions; params: the command's settings; artifacts at the end: tables (``.md``/``.csv``), the JSON
  report and the plots;
* child runs (nested): tags ``mlflow.parentRunId``, ``cpt_search_role=analysis_job``, ``job_key``,
  ``row``, ``kind``, ``seed``, ``label``; params: the schedule's fields; metrics: per-epoch curves
  (``epoch_*``, step = epoch, as a search's trials) and the final summary; ``error`` tag when failed.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from cpt_search.analysis.jobs import Job, Outcome
from cpt_search.errors import TrackingError
from cpt_search.tracking.recorder import (EXPERIMENT_KIND, RESULT_TAGS, ROLE_TAG, log_text_artifact,
                                         package_versions, search_all_runs)
from cpt_search.tracking.store import Store, experiment_name

log = logging.getLogger(__name__)

PARENT_ROLE = "analysis"
CHILD_ROLE = "analysis_job"
# Final numbers of a TrialResult logged on a job's run (and read back on resume).
RESULT_METRICS = ("metric", "accuracy", "bitops", "paper_bitops", "fp32_bitops", "relative_cost",
                  "relative_cost_vs_8_8", "mean_bits", "mean_grad_bits", "total_steps", "seconds")
_EPOCH_KEYS = {"loss": "epoch_loss", "epoch_metric": "epoch_metric", "epoch_accuracy": "epoch_accuracy",
               "mean_bits_so_far": "epoch_mean_bits", "bitops_so_far": "epoch_bitops",
               "seconds": "epoch_seconds"}


class AnalysisRecorder:
    """MLflow bookkeeping of one analysis; create in the driver before any trial starts.

    Args:
        store: the store (tracking URI and artifact root).
        name: the analysis name (the experiment is ``cpt_search/NAME``).
        kind: ``reproduce`` or ``critical-period``.
        metric_name: the task's metric, logged under its own name as well as ``metric``.
    """

    def __init__(self, store: Store, name: str, *, kind: str, metric_name: str) -> None:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        from mlflow.tracking import MlflowClient

        self.store = store
        self.name = name
        self.kind = kind
        self.metric_name = metric_name
        self.client = MlflowClient(tracking_uri=store.tracking_uri)
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None
        self._runs: dict[str, Any] = {}  # job key -> mlflow Run (as found or created)

    def open(self, params: Mapping[str, Any]) -> "AnalysisRecorder":
        """Create (or find) the experiment and the parent run, and index existing job runs."""
        from mlflow.entities import Param

        try:
            experiment = self.client.get_experiment_by_name(experiment_name(self.name))
        except Exception as error:  # noqa: BLE001 - any client error means the store is unusable
            raise TrackingError(f"cannot reach MLflow ({type(error).__name__}: {error})",
                                where="mlflow", value=self.store.tracking_uri,
                                fix="check --store / --tracking-uri / MLFLOW_TRACKING_URI") from None
        if experiment is None:
            self.experiment_id = self.client.create_experiment(
                experiment_name(self.name), artifact_location=self.store.artifact_location(self.name),
                tags=EXPERIMENT_KIND)
        elif experiment.lifecycle_stage != "active":
            raise TrackingError("the analysis's MLflow experiment is deleted", where="mlflow",
                                value=experiment.name, fix="restore it or pick another --name")
        else:
            self.experiment_id = experiment.experiment_id
        parents = self._search(f"tags.{ROLE_TAG} = '{PARENT_ROLE}'")
        if parents:
            parent = sorted(parents, key=lambda r: r.info.start_time)[0]
            self.parent_run_id = parent.info.run_id
            known = dict(parent.data.params)
            self.client.update_run(self.parent_run_id, status="RUNNING")
        else:
            parent = self.client.create_run(self.experiment_id, run_name=self.name, tags={
                ROLE_TAG: PARENT_ROLE, "analysis": self.kind, **package_versions()})
            self.parent_run_id = parent.info.run_id
            known = {}
        changed = [k for k, v in params.items() if k in known and known[k] != _text(v)]
        if changed:
            key = changed[0]
            raise TrackingError(
                f"analysis {self.name!r} was recorded with other settings", where="mlflow",
                key=key, value=_text(params[key]),
                fix=f"it has {key}={known[key]}; rerun with those settings or pick another --name")
        new = [Param(k, _text(v)) for k, v in params.items() if k not in known]
        if new:
            self.client.log_batch(self.parent_run_id, params=new)
        for run in self._search(f"tags.{ROLE_TAG} = '{CHILD_ROLE}'"):
            key = run.data.tags.get("job_key")
            if key and key not in self._runs:
                self._runs[key] = run
        return self

    # ------------------------------------------------------------------ jobs

    def finished_outcome(self, job: Job) -> Outcome | None:
        """The outcome of ``job`` if a previous invocation finished it (status FINISHED)."""
        run = self._runs.get(job.key)
        if run is None or run.info.status != "FINISHED":
            return None
        metrics = run.data.metrics
        if "metric" not in metrics:
            return None
        result = {key: metrics[key] for key in RESULT_METRICS if key in metrics}
        result["total_steps"] = int(result.get("total_steps", 0))
        result["schedule_label"] = job.schedule.label
        return Outcome(job=job, result=result, run_id=run.info.run_id)

    def job_started(self, job: Job) -> str:
        """Find or create ``job``'s run and mark it RUNNING; returns the run id."""
        from mlflow.entities import Param

        run = self._runs.get(job.key)
        if run is not None:
            run_id = run.info.run_id
            self.client.update_run(run_id, status="RUNNING")
            return run_id
        created = self.client.create_run(self.experiment_id, run_name=job.key, tags={
            "mlflow.parentRunId": self.parent_run_id, ROLE_TAG: CHILD_ROLE, "analysis": self.kind,
            "job_key": job.key, "row": job.row, "kind": job.kind, "seed": str(job.seed),
            "label": job.schedule.label})
        params = [Param(k, _text(v)) for k, v in _flat_schedule(job.schedule.to_dict()).items()]
        params.append(Param("seed", str(job.seed)))
        if job.window_frac is not None:
            params.append(Param("window_frac", _text(job.window_frac)))
        self.client.log_batch(created.info.run_id, params=params)
        self._runs[job.key] = created
        return created.info.run_id

    def job_epoch(self, job: Job, report: Mapping[str, Any]) -> None:
        """Log one epoch report (``cpt_search.search.trainable.epoch_report``), step = epoch."""
        from mlflow.entities import Metric

        run = self._runs.get(job.key)
        if run is None:
            return
        now, step = _now_ms(), int(report["epoch"])
        metrics = [Metric(name, float(report[key]), now, step) for key, name in _EPOCH_KEYS.items()
                   if _finite(report.get(key))]
        self.client.log_batch(run.info.run_id, metrics=metrics)

    def job_finished(self, outcome: Outcome, traceback_text: str | None = None) -> None:
        """Log the final numbers (or the error) and close the run."""
        from mlflow.entities import Metric, RunTag

        run_id = self.job_started(outcome.job) if outcome.job.key not in self._runs \
            else self._runs[outcome.job.key].info.run_id
        now = _now_ms()
        if outcome.ok:
            result = outcome.result or {}
            step = int(result.get("total_steps") or 0)
            values = {key: result.get(key) for key in RESULT_METRICS}
            values[self.metric_name] = result.get("metric")
            metrics = [Metric(k, float(v), now, step) for k, v in values.items() if _finite(v)]
            tags = [RunTag(k, str(result[k])) for k in RESULT_TAGS if result.get(k)]
            self.client.log_batch(run_id, metrics=metrics, tags=tags)
            self.client.set_terminated(run_id, status="FINISHED")
        else:
            self.client.log_batch(run_id, tags=[RunTag("error", (outcome.error or "failed")[:4000])])
            if traceback_text:
                self._log_text(run_id, "error.txt", traceback_text)
            self.client.set_terminated(run_id, status="FAILED")
        # Refresh the cached run so a later finished_outcome() sees the final state.
        self._runs[outcome.job.key] = self.client.get_run(run_id)

    def job_schedule_plot(self, job: Job, total_steps: int) -> None:
        """Attach a picture of the job's schedule (a picture never fails an analysis)."""
        from cpt_search.plotting import plot_schedule

        run = self._runs.get(job.key)
        if run is None:
            return
        try:
            with tempfile.TemporaryDirectory(prefix="cpt_search_sched_") as tmp:
                path = plot_schedule(job.schedule, max(int(total_steps), 1),
                                     Path(tmp) / "schedule.png", figsize_in=(5.0, 2.0))
                self.client.log_artifact(run.info.run_id, str(path))
        except Exception:  # noqa: BLE001
            log.warning("could not draw the schedule of %s", job.key, exc_info=True)

    # ------------------------------------------------------------------ parent

    def finish(self, artifacts: Iterable[Path], *, metrics: Mapping[str, float | None],
               complete: bool) -> None:
        """Attach the report files and summary numbers to the parent and close it."""
        from mlflow.entities import Metric

        now = _now_ms()
        values = [Metric(k, float(v), now, 0) for k, v in metrics.items() if _finite(v)]
        if values:
            self.client.log_batch(self.parent_run_id, metrics=values)
        for path in artifacts:
            self.client.log_artifact(self.parent_run_id, str(path))
        self.client.set_terminated(self.parent_run_id, status="FINISHED" if complete else "KILLED")

    def job_run_ids(self) -> dict[str, str]:
        """Job key -> run id of every job run known."""
        return {key: run.info.run_id for key, run in self._runs.items()}

    # ------------------------------------------------------------------ helpers

    def _search(self, filter_string: str) -> list[Any]:
        return search_all_runs(self.client, self.experiment_id, filter_string)

    def _log_text(self, run_id: str, name: str, text: str) -> None:
        log_text_artifact(self.client, run_id, name, text)


def _flat_schedule(data: Mapping[str, Any]) -> dict[str, Any]:
    """Schedule params: a piecewise schedule's segments become one JSON param."""
    return {f"schedule.{k}": v for k, v in data.items() if v is not None}


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)[:6000]
    return str(value)[:6000]


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _now_ms() -> int:
    return int(time.time() * 1000)
