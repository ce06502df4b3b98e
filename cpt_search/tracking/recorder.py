"""Recording a search in MLflow, from the driver only (parallel trials never write to SQLite).

Layout (one experiment per search, ``cpt_search/NAME``, tagged
``mlflow.experimentKind=custom_model_development`` so the UI opens the classic training-runs view):

* the **parent run** (tag ``cpt_search_role=search``, run name NAME): params task, budget, sampler,
  seeds, num_trials, ... and the hypervolume reference point; tags: package versions; artifacts:
  ``space.yaml`` (the resolved space), and at the end ``pareto_front.csv``/``.json``/``.png``/``.html``
  and ``trials.csv``; metrics ``hypervolume``, ``front_size``, ``finished_trials`` with
  step = finished-trial count;
* one **nested child run per Optuna trial** (tags ``mlflow.parentRunId``, ``cpt_search_role=trial``,
  ``optuna_trial_number``, ``trial_id`` (Ray), ``label``, ``baseline``, ``pareto_front``,
  ``pareto_rank``; ``error`` when it failed; ``infeasible`` when skipped): the schedule's fields as
  params, per-epoch curves (``epoch_*``, step = epoch), the final metric, BitOPs, costs, mean bits
  and seconds, and ``schedule.png``.

Every run is found by its tags before one is created, and :meth:`SearchRecorder.sync` makes MLflow
agree with the Optuna study (the source of truth) after a crash, so a resumed search creates no
duplicate runs: a trial interrupted mid-run has its run marked KILLED and soft-deleted (its schedule
is re-run as a new trial).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from cpt_search.errors import TrackingError
from cpt_search.search.front import FrontState, cost_fraction
from cpt_search.search.results import COMPLETE, FAILED, INFEASIBLE, INTERRUPTED, TrialRecord
from cpt_search.select import Candidate
from cpt_search.tracking.store import Store, experiment_name

log = logging.getLogger(__name__)

ROLE_TAG = "cpt_search_role"
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
# Result fields logged as tags of a finished trial's run: where it trained and which quantizer
# kernels ran (native C++ or the eager fallback), so timings are compared like with like.
RESULT_TAGS = ("device", "quant_kernels")
NOMINAL_PLOT_STEPS = 1000
_TERMINAL = ("FINISHED", "FAILED", "KILLED")
_SCHEDULE_PARAM_PREFIX = ""


def package_versions() -> dict[str, str]:
    """Versions of the packages a search result depends on (for the parent's tags)."""
    versions = {}
    for package in ("cpt-search", "torch", "optuna", "ray", "mlflow", "numpy"):
        try:
            versions[f"version.{package}"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[f"version.{package}"] = "not installed"
    return versions


class SearchRecorder:
    """MLflow bookkeeping of one search (create once, then call from the driver only).

    Args:
        store: the store (tracking URI, artifact root).
        name: the search name.
        metric_name, higher_is_better: the task's metric and direction.
        seeds: the space's seeds (curves get a ``_seed<N>`` suffix when there are several).
    """

    def __init__(self, store: Store, name: str, *, metric_name: str, higher_is_better: bool,
                 seeds: Sequence[int] = (0,)) -> None:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        from mlflow.tracking import MlflowClient

        self.store = store
        self.name = name
        self.metric_name = metric_name
        self.higher_is_better = higher_is_better
        self.seeds = tuple(seeds)
        self.client = MlflowClient(tracking_uri=store.tracking_uri)
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None
        self._runs: dict[int, str] = {}  # Optuna trial number -> run id
        self._status: dict[int, str] = {}  # run status as last seen/set
        self._tags: dict[int, dict[str, str]] = {}  # front tags as last seen/set
        self._hv_last_step = -1
        self._parent_params: dict[str, str] = {}

    # ------------------------------------------------------------------ experiment and parent

    def open(self, *, params: Mapping[str, Any], space_yaml: str | None = None) -> "SearchRecorder":
        """Create (or find) the experiment and the parent run; index existing child runs."""
        from mlflow.entities import Param

        try:
            experiment = self.client.get_experiment_by_name(experiment_name(self.name))
        except Exception as error:
            raise TrackingError(f"cannot reach MLflow ({type(error).__name__}: {error})",
                                where="mlflow", value=self.store.tracking_uri,
                                fix="check --tracking-uri / MLFLOW_TRACKING_URI") from None
        if experiment is None:
            self.experiment_id = self.client.create_experiment(
                experiment_name(self.name), artifact_location=self.store.artifact_location(self.name),
                tags=EXPERIMENT_KIND)
        else:
            if experiment.lifecycle_stage != "active":
                raise TrackingError("the search's MLflow experiment is deleted", where="mlflow",
                                    value=experiment.name,
                                    fix="restore it (mlflow experiments restore) or use another --name")
            self.experiment_id = experiment.experiment_id
        parents = self._search(f"tags.{ROLE_TAG} = 'search'")
        if parents:
            parent = sorted(parents, key=lambda r: r.info.start_time)[0]
            self.parent_run_id = parent.info.run_id
            self._parent_params = dict(parent.data.params)
            if parent.info.status != "RUNNING":
                self.client.update_run(self.parent_run_id, status="RUNNING")
        else:
            parent = self.client.create_run(
                self.experiment_id, run_name=self.name,
                tags={ROLE_TAG: "search", "search": self.name, **package_versions()})
            self.parent_run_id = parent.info.run_id
        new = {k: _param_text(v) for k, v in params.items() if k not in self._parent_params}
        if new:
            self.client.log_batch(self.parent_run_id, params=[Param(k, v) for k, v in new.items()])
            self._parent_params.update(new)
        if space_yaml is not None:
            self._log_text(self.parent_run_id, "space.yaml", space_yaml)
        history = self.client.get_metric_history(self.parent_run_id, "hypervolume")
        self._hv_last_step = max((m.step for m in history), default=-1)
        for run in self._search(f"tags.{ROLE_TAG} = 'trial'"):
            number = int(run.data.tags.get("optuna_trial_number", -1))
            if number < 0:
                continue
            if number in self._runs:  # should not happen; keep the first, report the rest
                log.warning("two MLflow runs for trial %d: %s and %s", number, self._runs[number],
                            run.info.run_id)
                continue
            self._runs[number] = run.info.run_id
            self._status[number] = run.info.status
            self._tags[number] = {k: run.data.tags.get(k, "") for k in ("pareto_front", "pareto_rank")}
        return self

    def log_reference(self, reference: tuple[float, float]) -> None:
        """Record the hypervolume reference point once (MLflow params are immutable)."""
        from mlflow.entities import Param

        params = {"hv_reference_metric": reference[0], "hv_reference_cost_fraction": reference[1]}
        new = [Param(k, _param_text(v)) for k, v in params.items() if k not in self._parent_params
               and not (isinstance(v, float) and math.isnan(v))]
        if new:
            self.client.log_batch(self.parent_run_id, params=new)
            self._parent_params.update({p.key: p.value for p in new})

    # ------------------------------------------------------------------ child runs

    def run_id(self, number: int) -> str | None:
        """The child run of Optuna trial ``number``, if any."""
        return self._runs.get(number)

    def trial_started(self, number: int, *, label: str, schedule: Mapping[str, Any], baseline: bool,
                      ray_trial_id: str | None = None, retry_of: int | None = None) -> str:
        """Find or create trial ``number``'s run (status RUNNING)."""
        from mlflow.entities import Param, RunTag

        run_id = self._runs.get(number)
        tags = {"label": label, "baseline": _bool(baseline)}
        if ray_trial_id:
            tags["trial_id"] = ray_trial_id
        if retry_of is not None:
            tags["retry_of"] = str(retry_of)
        if run_id is None:
            run = self.client.create_run(
                self.experiment_id, run_name=f"{number:03d} {label}",
                tags={"mlflow.parentRunId": self.parent_run_id, ROLE_TAG: "trial", "search": self.name,
                      "optuna_trial_number": str(number), "pareto_front": "false", **tags})
            run_id = run.info.run_id
            self._runs[number] = run_id
            self._tags[number] = {"pareto_front": "false", "pareto_rank": ""}
            params = [Param(f"{_SCHEDULE_PARAM_PREFIX}{k}", _param_text(v)) for k, v in schedule.items()]
            self.client.log_batch(run_id, params=params)
        else:
            self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
        self._status[number] = "RUNNING"
        return run_id

    def trial_epoch(self, number: int, report: Mapping[str, Any]) -> None:
        """Log one epoch report of trial ``number`` (step = epoch)."""
        from mlflow.entities import Metric

        run_id = self._runs.get(number)
        if run_id is None:
            return
        suffix = f"_seed{report.get('seed', 0)}" if len(self.seeds) > 1 else ""
        step = int(report["epoch"])
        now = _now_ms()
        keys = {"loss": "epoch_loss", "epoch_metric": f"epoch_{self.metric_name}",
                "epoch_accuracy": "epoch_accuracy", "mean_bits_so_far": "epoch_mean_bits",
                "bitops_so_far": "epoch_bitops", "seconds": "epoch_seconds"}
        if self.metric_name == "accuracy":
            keys.pop("epoch_accuracy")
        metrics = [Metric(name + suffix, float(report[key]), now, step)
                   for key, name in keys.items() if _finite(report.get(key))]
        self.client.log_batch(run_id, metrics=metrics)

    def trial_finished(self, record: TrialRecord, *, traceback_text: str | None = None,
                       error: str | None = None) -> None:
        """Log a complete or failed trial's final values and close its run (idempotent)."""
        from mlflow.entities import Metric, RunTag

        number = record.number
        if self._status.get(number) in _TERMINAL and number in self._runs:
            return
        run_id = self._runs.get(number) or self.trial_started(
            number, label=record.label, schedule=record.schedule, baseline=record.baseline,
            ray_trial_id=record.ray_trial_id, retry_of=record.retry_of)
        now = _now_ms()
        tags = {"pareto_front": "false"}
        if record.reused_from is not None:
            tags["reused_from"] = str(record.reused_from)
        if record.status == COMPLETE:
            result = dict(record.result)
            for key in RESULT_TAGS:  # where and how it trained: provenance for comparing timings
                if result.get(key):
                    tags[key] = str(result[key])
            step = int(result.get("epochs", 0) or 0)
            values = {self.metric_name: record.values[0], "bitops": record.values[1]}
            for key in ("metric_std", "accuracy", "paper_bitops", "fp32_bitops", "relative_cost",
                        "relative_cost_vs_8_8", "mean_bits", "mean_grad_bits", "total_steps",
                        "trial_seconds"):
                if _finite(result.get(key)) and key not in values:
                    values[key] = result[key]
            metrics = [Metric("seconds" if k == "trial_seconds" else k, float(v), now, step)
                       for k, v in values.items()]
            self.client.log_batch(run_id, metrics=metrics, tags=[RunTag(k, v) for k, v in tags.items()])
            status = "FINISHED"
        else:
            reason = error or record.error or "failed"
            tags["error"] = reason[:4000]
            self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
            if traceback_text:
                self._log_text(run_id, "error.txt", traceback_text)
            status = "FAILED"
        self._tags[number] = {"pareto_front": "false", "pareto_rank": ""}
        self._log_schedule_png(run_id, record.schedule, record.result.get("total_steps"))
        self.client.set_terminated(run_id, status=status)
        self._status[number] = status

    def trial_infeasible(self, number: int, *, label: str, schedule: Mapping[str, Any],
                         baseline: bool, relative_cost: float) -> None:
        """Record a schedule skipped for its cost: a KILLED run tagged ``infeasible=true``."""
        from mlflow.entities import Metric, RunTag

        if self._status.get(number) in _TERMINAL:
            return
        run_id = self.trial_started(number, label=label, schedule=schedule, baseline=baseline)
        self.client.log_batch(
            run_id, metrics=[Metric("relative_cost", float(relative_cost), _now_ms(), 0)],
            tags=[RunTag("infeasible", "true"),
                  RunTag("error", "infeasible: over constraints.max_relative_cost, not trained")])
        self.client.set_terminated(run_id, status="KILLED")
        self._status[number] = "KILLED"

    def trial_interrupted(self, number: int) -> None:
        """Close and soft-delete the run of a trial cut off by a crash (it is re-run as a new trial)."""
        from mlflow.entities import RunTag

        run_id = self._runs.pop(number, None)
        if run_id is None:
            return
        self.client.log_batch(run_id, tags=[RunTag("interrupted", "true")])
        self.client.set_terminated(run_id, status="KILLED")
        self.client.delete_run(run_id)
        self._status.pop(number, None)
        self._tags.pop(number, None)

    def sync(self, records: Iterable[TrialRecord]) -> int:
        """Make MLflow agree with the Optuna records; returns how many runs were fixed."""
        fixed = 0
        for record in records:
            status = self._status.get(record.number)
            if record.status in (COMPLETE, FAILED) and status not in ("FINISHED", "FAILED"):
                self._status.pop(record.number, None)
                self.trial_finished(record)
                fixed += 1
            elif record.status == INFEASIBLE and status != "KILLED":
                self.trial_infeasible(record.number, label=record.label, schedule=record.schedule,
                                      baseline=record.baseline, relative_cost=record.relative_cost or math.nan)
                fixed += 1
            elif record.status == INTERRUPTED and record.number in self._runs:
                self.trial_interrupted(record.number)
                fixed += 1
        return fixed

    # ------------------------------------------------------------------ the front

    def update_front(self, state: FrontState, finished: int) -> None:
        """Re-tag the child runs of complete trials and log the parent's hypervolume at step
        ``finished`` (skipped when that step is already logged, e.g. on resume)."""
        from mlflow.entities import Metric, RunTag

        for number, rank in state.ranks.items():
            run_id = self._runs.get(number)
            if run_id is None:
                continue
            wanted = {"pareto_front": _bool(number in state.on_front), "pareto_rank": str(rank)}
            if self._tags.get(number) != wanted:
                self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in wanted.items()])
                self._tags[number] = wanted
        if finished > self._hv_last_step and finished > 0:
            now = _now_ms()
            self.client.log_batch(self.parent_run_id, metrics=[
                Metric("hypervolume", float(state.hypervolume), now, finished),
                Metric("front_size", float(len(state.on_front)), now, finished),
                Metric("finished_trials", float(finished), now, finished)])
            self._hv_last_step = finished
        if not math.isnan(state.reference[0]):
            self.log_reference(state.reference)

    def finish(self, records: Sequence[TrialRecord], candidates: Sequence[Candidate],
               state: FrontState, *, complete: bool) -> None:
        """Write the front artifacts to the parent and set its status (FINISHED when all trials
        ran, KILLED when the search was interrupted and can be resumed)."""
        from cpt_search.tracking.plots import plot_front_html, plot_front_png

        with tempfile.TemporaryDirectory(prefix="cpt_search_front_") as tmp:
            tmp_path = Path(tmp)
            front = sorted((c for c in candidates if c.trial in state.on_front), key=lambda c: c.bitops)
            rows = [self._front_row(c, state) for c in front]
            write_csv(tmp_path / "pareto_front.csv", rows)
            (tmp_path / "pareto_front.json").write_text(json.dumps({
                "search": self.name, "metric_name": self.metric_name,
                "higher_is_better": self.higher_is_better, "hypervolume": state.hypervolume,
                "reference_point": {"metric": state.reference[0], "cost_fraction": state.reference[1]},
                "front": [dict(row, schedule=dict(c.schedule)) for row, c in zip(rows, front)],
            }, indent=2, default=str), encoding="utf-8")
            write_csv(tmp_path / "trials.csv", [_trial_row(r) for r in records])
            title = f"{self.name}: {len(candidates)} trained trials, front of {len(front)}"
            if candidates:
                plot_front_png(candidates, state.on_front, tmp_path / "pareto_front.png",
                               metric_name=self.metric_name, higher_is_better=self.higher_is_better,
                               title=title)
                plot_front_html(candidates, state.on_front, tmp_path / "pareto_front.html",
                                metric_name=self.metric_name, higher_is_better=self.higher_is_better,
                                title=title)
            for path in sorted(tmp_path.iterdir()):
                self.client.log_artifact(self.parent_run_id, str(path))
        self.client.set_terminated(self.parent_run_id, status="FINISHED" if complete else "KILLED")

    def _front_row(self, candidate: Candidate, state: FrontState) -> dict[str, Any]:
        return {"trial": candidate.trial, "label": candidate.label, self.metric_name: candidate.metric,
                "bitops": candidate.bitops, "relative_cost": candidate.relative_cost,
                "cost_fraction": cost_fraction(candidate), "baseline": candidate.baseline,
                "pareto_rank": state.ranks.get(candidate.trial, 0), "run_id": self._runs.get(candidate.trial, "")}

    # ------------------------------------------------------------------ helpers

    def _search(self, filter_string: str) -> list[Any]:
        return search_all_runs(self.client, self.experiment_id, filter_string)

    def _log_text(self, run_id: str, name: str, text: str) -> None:
        log_text_artifact(self.client, run_id, name, text)

    def _log_schedule_png(self, run_id: str, schedule: Mapping[str, Any], total_steps: Any) -> None:
        from cpt_search.schedule import Schedule
        from cpt_search.tracking.plots import plot_schedule_png

        if not schedule:
            return
        steps = int(total_steps) if _finite(total_steps) and total_steps else NOMINAL_PLOT_STEPS
        try:
            parsed = Schedule.from_dict(schedule)
            with tempfile.TemporaryDirectory(prefix="cpt_search_sched_") as tmp:
                path = plot_schedule_png(parsed, max(steps, parsed.num_cycles * 2),
                                         Path(tmp) / "schedule.png")
                self.client.log_artifact(run_id, str(path))
        except Exception:  # a picture must never fail a search
            log.warning("could not draw the schedule of run %s", run_id, exc_info=True)


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Rows of plain values to a CSV file (header from the first row; empty file when no rows)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if rows:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path


def _trial_row(record: TrialRecord) -> dict[str, Any]:
    metric, bitops = record.values if record.values else (None, None)
    return {"trial": record.number, "status": record.status, "label": record.label,
            "baseline": record.baseline, "metric": metric, "bitops": bitops,
            "relative_cost": record.result.get("relative_cost", record.relative_cost),
            "seconds": record.result.get("trial_seconds"), "error": record.error or ""}


def _param_text(value: Any) -> str:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)[:6000]
    return str(value)[:6000]


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _now_ms() -> int:
    return int(time.time() * 1000)


def search_all_runs(client: Any, experiment_id: str, filter_string: str) -> list[Any]:
    """Every run of an experiment matching ``filter_string`` (all pages)."""
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string=filter_string, max_results=1000,
                                  page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def log_text_artifact(client: Any, run_id: str, name: str, text: str) -> None:
    """Log ``text`` as the artifact file ``name`` of a run."""
    with tempfile.TemporaryDirectory(prefix="cpt_search_art_") as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        client.log_artifact(run_id, str(path))
