"""The MLflow recorder: one :class:`~cpt_search.observers.SearchObserver` for searches and analyses.

It runs in the driver only (parallel trials never write to SQLite). Layout (one experiment per search
or analysis, ``cpt_search/NAME``, tagged ``mlflow.experimentKind=custom_model_development`` so the UI
opens the classic training-runs view):

* the **parent run** (tag ``cpt_search_role=search``, or ``analysis`` with tag ``analysis=KIND``;
  run name NAME): the settings as params, package versions as tags; artifacts: ``space.yaml`` (a
  search's resolved space), at the end ``pareto_front.csv``/``.json``/``.png``/``.html`` and
  ``trials.csv`` (a search) or the report files (an analysis); a search's metrics ``hypervolume``,
  ``front_size``, ``finished_trials`` with step = finished-trial count;
* one **nested child run per Optuna trial** (tags ``mlflow.parentRunId``, ``cpt_search_role=trial``
  or ``analysis_job``, ``optuna_trial_number``, ``trial_id`` (Ray), ``label``, ``baseline``,
  ``pareto_front``, ``pareto_rank``, an analysis trial's ``job_key``/``row``/``kind``/``seed``;
  ``error`` when it failed; ``infeasible`` when skipped): the schedule's fields as params, per-epoch
  curves (``epoch_*``, step = epoch), the final metric, BitOPs, costs, mean bits and seconds, and
  ``schedule.png``.

Every run is found by its tags before one is created, and :meth:`MlflowRecorder.records_synced`
makes MLflow agree with the Optuna study (the source of truth) after a crash, so a resumed search
creates no duplicate runs: a trial interrupted mid-run has its run marked KILLED and soft-deleted (its
schedule is re-run as a new trial).
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
from typing import Any, Mapping, Sequence, TypeGuard

from cpt_search.disk_full import is_disk_full
from cpt_search.errors import TrackingError
from cpt_search.observers import SearchInfo, SearchObserver
from cpt_search.records import (
    COMPLETE,
    FAILED,
    INFEASIBLE,
    INTERRUPTED,
    STOPPED,
    FrontState,
    TrialRecord,
    cost_fraction,
    front_state,
)
from cpt_search.records.confirmed import CONFIRM_FIELDS, SearchFront
from cpt_search.select import Candidate
from cpt_search.store import Store, experiment_name
from cpt_search.tracking.description import NOTE_TAG, front_markdown
from cpt_search.tracking.names import MetricNames, summary_step
from cpt_search.tracking.views import FRONT_FILTER, front_view, share_tags

log = logging.getLogger(__name__)

ROLE_TAG = "cpt_search_role"
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
# Result fields logged as tags of a finished trial's run: where it trained and which quantizer
# kernels ran (native C++ or the eager fallback), so timings are compared like with like.
RESULT_TAGS = ("device", "quant_kernels", "ray_node_id")
NOMINAL_PLOT_STEPS = 1000
_TERMINAL = ("FINISHED", "FAILED", "KILLED")
_FRONT_TAGS = ("pareto_front", "pareto_rank")


def package_versions() -> dict[str, str]:
    """Versions of the packages a search result depends on (for the parent's tags)."""
    versions = {}
    for package in ("cpt-search", "torch", "optuna", "ray", "mlflow", "numpy"):
        try:
            versions[f"version.{package}"] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[f"version.{package}"] = "not installed"
    return versions


def roles(kind: str) -> tuple[str, str]:
    """``(parent role, child role)`` tags of a search (``kind="search"``) or an analysis."""
    return ("search", "trial") if kind == "search" else ("analysis", "analysis_job")


class MlflowRecorder(SearchObserver):
    """MLflow bookkeeping of one search or analysis (create in the driver, before any trial starts).

    Args:
        store: the store (tracking URI, artifact root).
    """

    def __init__(self, store: Store) -> None:
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        from mlflow.tracking import MlflowClient

        from cpt_search.tracking.relocate import relocate_artifacts

        self.store = store
        relocate_artifacts(store)  # a moved or copied store writes and reads its own artifacts
        self.client = MlflowClient(tracking_uri=store.tracking_uri)
        self.info: SearchInfo | None = None
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None
        self._runs: dict[int, str] = {}  # Optuna trial number -> run id
        self._status: dict[int, str] = {}  # run status as last seen/set
        self._tags: dict[int, dict[str, str]] = {}  # front tags as last seen/set
        self._hv_last_step = -1
        self._parent_params: dict[str, str] = {}

    @property
    def _names(self) -> MetricNames:
        info = self.info
        return MetricNames("metric") if info is None else MetricNames(info.metric_name, info.test_metric_name)

    @property
    def _name(self) -> str:
        assert self.info is not None, "search_started() must come first"
        return self.info.name

    @property
    def _parent_id(self) -> str:
        assert self.parent_run_id is not None, "search_started() must come first"
        return self.parent_run_id

    @property
    def _experiment_id(self) -> str:
        assert self.experiment_id is not None, "search_started() must come first"
        return self.experiment_id

    # ------------------------------------------------------------------ experiment and parent

    def search_started(self, info: SearchInfo) -> None:
        """Create (or find) the experiment and the parent run; index existing child runs."""
        from mlflow.entities import Param

        self.info = info
        parent_role, _ = roles(info.kind)
        try:
            experiment = self.client.get_experiment_by_name(experiment_name(info.name))
        except Exception as error:  # noqa: BLE001 - any client error means the store is unusable
            raise TrackingError(f"cannot reach MLflow ({type(error).__name__}: {error})",
                                where="mlflow", value=self.store.tracking_uri,
                                fix="check --store / --tracking-uri / MLFLOW_TRACKING_URI") from None
        if experiment is None:
            self.experiment_id = self.client.create_experiment(
                experiment_name(info.name), artifact_location=self.store.artifact_location(info.name),
                tags=EXPERIMENT_KIND)
        else:
            if experiment.lifecycle_stage != "active":
                raise TrackingError("the search's MLflow experiment is deleted", where="mlflow",
                                    value=experiment.name,
                                    fix="restore it (mlflow experiments restore) or use another --name")
            self.experiment_id = experiment.experiment_id
        parents = self._search(f"tags.{ROLE_TAG} = '{parent_role}'")
        if parents:
            parent = sorted(parents, key=lambda r: r.info.start_time)[0]
            self.parent_run_id = parent.info.run_id
            self._parent_params = dict(parent.data.params)
            if parent.info.status != "RUNNING":
                self.client.update_run(self.parent_run_id, status="RUNNING")
        else:
            tags = {ROLE_TAG: parent_role, "search": info.name, **package_versions()}
            if not info.is_search:
                tags["analysis"] = info.kind
            parent = self.client.create_run(self.experiment_id, run_name=info.name, tags=tags)
            self.parent_run_id = parent.info.run_id
        new = {k: _param_text(v) for k, v in info.params.items() if k not in self._parent_params}
        if new:
            self.client.log_batch(self.parent_run_id, params=[Param(k, v) for k, v in new.items()])
            self._parent_params.update(new)
        if info.space_yaml is not None:
            self._log_text(self.parent_run_id, "space.yaml", info.space_yaml)
        self.reindex()

    def reindex(self) -> int:
        """Read the child runs (and the hypervolume's last step) back from MLflow, forgetting what
        this recorder believed; returns how many duplicate runs were deleted.

        After the tracking server was unreachable a call may have succeeded on the server with its
        answer lost (a run created that this recorder never learnt of): the server's runs are the
        truth. Two runs of one trial (the second made for such a lost answer) keep the older one;
        the other is soft-deleted and tagged ``duplicate_of``.
        """
        from mlflow.entities import RunTag

        _, child_role = roles(self._kind)
        history = self.client.get_metric_history(self._parent_id, "hypervolume")
        self._hv_last_step = max((m.step for m in history), default=-1)
        runs: dict[int, str] = {}
        status: dict[int, str] = {}
        tags: dict[int, dict[str, str]] = {}
        deleted = 0
        children = self._search(f"tags.{ROLE_TAG} = '{child_role}'")
        for run in sorted(children, key=lambda r: (r.info.start_time, r.info.run_id)):
            number = int(run.data.tags.get("optuna_trial_number", -1))
            if number < 0:
                continue
            if number in runs:
                log.warning("two MLflow runs for trial %d: keeping %s, deleting %s", number, runs[number],
                            run.info.run_id)
                self.client.log_batch(run.info.run_id, tags=[RunTag("duplicate_of", runs[number])])
                self.client.delete_run(run.info.run_id)
                deleted += 1
                continue
            runs[number] = run.info.run_id
            status[number] = run.info.status
            tags[number] = {k: run.data.tags.get(k, "") for k in _FRONT_TAGS}
        self._runs, self._status, self._tags = runs, status, tags
        return deleted

    @property
    def _kind(self) -> str:
        return self.info.kind if self.info else "search"

    def _log_reference(self, reference: tuple[float, float]) -> None:
        """Record the hypervolume reference point once (MLflow params are immutable)."""
        from mlflow.entities import Param

        params = {"hv_reference_metric": reference[0], "hv_reference_cost_fraction": reference[1]}
        new = [Param(k, _param_text(v)) for k, v in params.items() if k not in self._parent_params
               and not (isinstance(v, float) and math.isnan(v))]
        if new:
            self.client.log_batch(self._parent_id, params=new)
            self._parent_params.update({p.key: p.value for p in new})

    # ------------------------------------------------------------------ child runs

    def run_id(self, number: int) -> str | None:
        """The child run of Optuna trial ``number``, if any."""
        return self._runs.get(number)

    def run_ids(self) -> dict[int, str]:
        """Optuna trial number -> child run id of every trial known."""
        return dict(self._runs)

    def trial_started(self, record: TrialRecord) -> None:
        self._open_child(record)

    def _open_child(self, record: TrialRecord) -> str:
        """Find or create the run of ``record``'s trial (status RUNNING); returns its id."""
        from mlflow.entities import Param, RunTag

        number = record.number
        run_id = self._runs.get(number)
        tags = {"label": record.label, "baseline": _bool(record.baseline), **record.tags}
        if record.ray_trial_id:
            tags["trial_id"] = record.ray_trial_id
        if record.retry_of is not None:
            tags["retry_of"] = str(record.retry_of)
        if run_id is None:
            _, child_role = roles(self.info.kind if self.info else "search")
            run = self.client.create_run(
                self._experiment_id, run_name=f"{number:03d} {record.label}",
                tags={"mlflow.parentRunId": self._parent_id, ROLE_TAG: child_role,
                      "search": self._name, "optuna_trial_number": str(number),
                      "pareto_front": "false", **tags})
            run_id = run.info.run_id
            self._runs[number] = run_id
            self._tags[number] = {"pareto_front": "false", "pareto_rank": ""}
            params = [Param(k, _param_text(v)) for k, v in _schedule_params(record.schedule).items()]
            self.client.log_batch(run_id, params=params)
        else:
            self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
        self._status[number] = "RUNNING"
        return run_id

    def trial_epoch(self, number: int, report: Mapping[str, Any]) -> None:
        """Log one epoch report of trial ``number`` (step = epoch) under the names of the final values:
        a metric's history is its curve and its latest value the summary (one name per quantity)."""
        from mlflow.entities import Metric

        run_id = self._runs.get(number)
        if run_id is None or self.info is None:
            return
        suffix = f"_seed{report.get('seed', 0)}" if len(self.info.seeds) > 1 else ""
        step = int(report["epoch"])
        now = _now_ms()
        metrics = [Metric(name + suffix, float(report[key]), now, step)
                   for key, name in self._names.epoch_keys().items() if _finite(report.get(key))]
        self.client.log_batch(run_id, metrics=metrics)

    def trial_finished(self, record: TrialRecord, *, traceback_text: str | None = None,
                       error: str | None = None) -> None:
        """Log a complete or failed trial's final values and close its run (idempotent)."""
        from mlflow.entities import Metric, RunTag

        number = record.number
        if self._status.get(number) in _TERMINAL and number in self._runs:
            return
        run_id = self._runs.get(number) or self._open_child(record)
        now = _now_ms()
        tags = {"pareto_front": "false"}
        if record.reused_from is not None:
            tags["reused_from"] = str(record.reused_from)
        if record.status == COMPLETE and record.values is not None:
            result = dict(record.result)
            for key in RESULT_TAGS:  # where and how it trained: provenance for comparing timings
                if result.get(key):
                    tags[key] = str(result[key])
            values = self._names.final_values(record.values, result)
            step = summary_step(result)
            metrics = [Metric(k, float(v), now, step) for k, v in values.items()]
            self.client.log_batch(run_id, metrics=metrics, tags=[RunTag(k, v) for k, v in tags.items()])
            status = "FINISHED"
        elif record.status == STOPPED:
            # Stopped early by the search's rule: KILLED (not FAILED: nothing went wrong), tagged
            # with the rung so `tags.stopped_at_rung != ""` lists them; never on a front.
            tags["stopped_at_rung"] = str(record.stopped_at_rung)
            tags["stop_reason"] = (record.error or "stopped early")[:4000]
            self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
            status = "KILLED"
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

    def trial_skipped(self, record: TrialRecord) -> None:
        """Record a schedule skipped for its cost: a KILLED run tagged ``infeasible=true``."""
        from mlflow.entities import Metric, RunTag

        if self._status.get(record.number) in _TERMINAL:
            return
        run_id = self._open_child(record)
        relative_cost = math.nan if record.relative_cost is None else float(record.relative_cost)
        self.client.log_batch(
            run_id, metrics=[Metric("relative_cost", relative_cost, _now_ms(), 0)],
            tags=[RunTag("infeasible", "true"),
                  RunTag("error", "infeasible: over constraints.max_relative_cost, not trained")])
        self.client.set_terminated(run_id, status="KILLED")
        self._status[record.number] = "KILLED"

    def _trial_interrupted(self, number: int) -> None:
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

    def records_synced(self, records: Sequence[TrialRecord]) -> None:
        """Make MLflow agree with the Optuna records (:meth:`repair`)."""
        self.repair(records)

    def repair(self, records: Sequence[TrialRecord]) -> int:
        """Finish, skip or retire runs as the Optuna records say; returns how many runs changed."""
        fixed = 0
        for record in records:
            status = self._status.get(record.number)
            if record.status == STOPPED and status != "KILLED":
                self._status.pop(record.number, None)
                self.trial_finished(record)
            elif record.status in (COMPLETE, FAILED) and status not in ("FINISHED", "FAILED"):
                self._status.pop(record.number, None)
                self.trial_finished(record)
            elif record.status == INFEASIBLE and status != "KILLED":
                self.trial_skipped(record)
            elif record.status == INTERRUPTED and record.number in self._runs:
                self._trial_interrupted(record.number)
            else:
                continue
            fixed += 1
        return fixed

    # ------------------------------------------------------------------ the front

    def front_updated(self, state: FrontState, finished: int) -> None:
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
            self.client.log_batch(self._parent_id, metrics=[
                Metric("hypervolume", float(state.hypervolume), now, finished),
                Metric("front_size", float(len(state.on_front)), now, finished),
                Metric("finished_trials", float(finished), now, finished)])
            self._hv_last_step = finished
        if not math.isnan(state.reference[0]):
            self._log_reference(state.reference)

    def report_written(self, files: Sequence[Path], metrics: Mapping[str, float | None]) -> None:
        """Attach an analysis's report files and summary numbers to the parent run."""
        from mlflow.entities import Metric

        now = _now_ms()
        values = [Metric(k, float(v), now, 0) for k, v in metrics.items() if _finite(v)]
        if values:
            self.client.log_batch(self._parent_id, metrics=values)
        for path in files:
            self.client.log_artifact(self._parent_id, str(path))

    def search_finished(self, records: Sequence[TrialRecord], candidates: Sequence[Candidate],
                        state: FrontState, *, complete: bool) -> None:
        """Write a search's front to the parent (artifacts, description, the UI's front view) and set
        its status (FINISHED when all trials ran, KILLED when interrupted and resumable)."""
        if self.info is not None and self.info.is_search:
            members = tuple(sorted((c for c in candidates if c.trial in state.on_front),
                                   key=lambda c: (c.bitops, c.trial)))
            front = SearchFront(self.info.metric_name, self.info.higher_is_better, members,
                                tuple(candidates), state.hypervolume, state.reference)
            self._publish_front(records, candidates, front, state.ranks)
        self.client.set_terminated(self._parent_id, status="FINISHED" if complete else "KILLED")

    def front_confirmed(self, records: Sequence[TrialRecord], front: SearchFront) -> None:
        """A seed confirmation ended: the confirmed values on every confirmed trial's run, the front
        tags moved to the confirmed members, and the parent's table, files and view rewritten."""
        from mlflow.entities import Metric, RunTag

        if front.confirmed is None or self.info is None:
            return
        by_number = {r.number: r for r in records}
        now = _now_ms()
        for row in front.confirmed.rows:
            number = int(row.id)
            run_id = self._runs.get(number)
            record = by_number.get(number)
            if run_id is None or record is None:
                continue
            stats = row.stats
            extra = {"n_seeds": stats.n_seeds, "mean": stats.mean, "std": stats.std, "ci_low": stats.ci_low,
                     "ci_high": stats.ci_high, "p_front": stats.p_front}
            step = summary_step(record.result)
            metrics = [Metric(k, v, now, step)
                       for k, v in self._names.confirmed(extra, stats.adjusted_mean).items()]
            tags = [RunTag("confirm_status", row.status), RunTag("confirm_why", row.why[:4000])]
            self.client.log_batch(run_id, metrics=metrics, tags=tags)
        finished = sum(1 for r in records if r.finished)
        self.client.log_batch(self._parent_id, metrics=[
            Metric("hypervolume_confirmed", float(front.hypervolume), now, finished)])
        ranks = front_state(list(front.choices), front.higher_is_better, front.reference[0]).ranks
        complete = [r.candidate() for r in records if r.status == COMPLETE and r.values is not None
                    and all(map(math.isfinite, r.values))]
        self._publish_front(records, complete, front, ranks)

    def _publish_front(self, records: Sequence[TrialRecord], candidates: Sequence[Candidate],
                       front: SearchFront, ranks: Mapping[int, int]) -> None:
        """Front tags on the child runs, the parent's front files and description, the UI's view."""
        from mlflow.entities import RunTag

        for number, run_id in self._runs.items():
            if self._status.get(number) not in _TERMINAL:
                continue
            wanted = {"pareto_front": _bool(number in front.on_front),
                      "pareto_rank": str(ranks[number]) if number in ranks else ""}
            if self._tags.get(number) != wanted:
                self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in wanted.items()])
                self._tags[number] = wanted
        self._log_front_files(records, candidates, front, ranks)
        info = self.info
        assert info is not None
        names = {c.trial: f"{c.trial:03d} {c.label}" for c in front.members}
        note = front_markdown(front, search=info.name, test_metric_name=info.test_metric_name, run_names=names)
        self.client.set_tag(self._parent_id, NOTE_TAG, note)
        view = front_view(info.metric_name, info.test_metric_name, confirmed=front.confirmed is not None)
        for key, value in share_tags(view).items():
            self.client.set_experiment_tag(self._experiment_id, key, value)
        self.client.set_experiment_tag(self._experiment_id, NOTE_TAG, (
            f"Search `{info.name}`. The parent run `{info.name}` holds the front as a table, "
            "`pareto_front.png`/`.html`/`.csv`/`.json` and the hypervolume curve; each child run is one "
            f"trial. Filter with `{FRONT_FILTER}` and sort by `bitops` to list the front's runs flat "
            "(`cpt-search ui` prints a link that does it)."))

    def _log_front_files(self, records: Sequence[TrialRecord], candidates: Sequence[Candidate],
                         front: SearchFront, ranks: Mapping[int, int]) -> None:
        from cpt_search.tracking.plots import plot_front_html, plot_front_png

        info = self.info
        assert info is not None
        with tempfile.TemporaryDirectory(prefix="cpt_search_front_") as tmp:
            tmp_path = Path(tmp)
            rows = [self._front_row(c, ranks, confirmed=front.confirmed is not None) for c in front.members]
            write_csv(tmp_path / "pareto_front.csv", rows)
            document = {
                "search": info.name, "metric_name": info.metric_name,
                "higher_is_better": info.higher_is_better, "hypervolume": front.hypervolume,
                "reference_point": {"metric": front.reference[0], "cost_fraction": front.reference[1]},
                "confirmed": front.confirmed is not None,
                "front": [dict(row, schedule=dict(c.schedule)) for row, c in zip(rows, front.members)]}
            if front.settings is not None:
                document["confirm_seeds"] = list(front.settings.seeds)
            (tmp_path / "pareto_front.json").write_text(json.dumps(document, indent=2, default=str),
                                                        encoding="utf-8")
            write_csv(tmp_path / "trials.csv", [_trial_row(r) for r in records])
            kind = "seed-confirmed front" if front.confirmed is not None else "front"
            title = f"{info.name}: {len(candidates)} trained trials, {kind} of {len(front.members)}"
            if candidates:
                for plot, suffix in ((plot_front_png, "png"), (plot_front_html, "html")):
                    plot(candidates, front.on_front, tmp_path / f"pareto_front.{suffix}",
                         metric_name=info.metric_name, higher_is_better=info.higher_is_better, title=title,
                         members=front.members)
            for path in sorted(tmp_path.iterdir()):
                self.client.log_artifact(self._parent_id, str(path))

    def _front_row(self, candidate: Candidate, ranks: Mapping[int, int], *, confirmed: bool) -> dict[str, Any]:
        names = self._names
        row = {"trial": candidate.trial, "label": candidate.label, names.metric: candidate.metric,
               names.test_metric or "test_metric": candidate.extra.get("test_metric"),
               "bitops": candidate.bitops, "relative_cost": candidate.relative_cost,
               "cost_fraction": cost_fraction(candidate), "baseline": candidate.baseline,
               "pareto_rank": ranks.get(candidate.trial, 0), "run_id": self._runs.get(candidate.trial, "")}
        if confirmed:
            row.update({key: candidate.extra.get(key) for key in CONFIRM_FIELDS})
        return row

    # ------------------------------------------------------------------ helpers

    def _search(self, filter_string: str) -> list[Any]:
        runs: list[Any] = []
        token = None
        while True:
            page = self.client.search_runs([self._experiment_id], filter_string=filter_string,
                                           max_results=1000, page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def _log_text(self, run_id: str, name: str, text: str) -> None:
        with tempfile.TemporaryDirectory(prefix="cpt_search_art_") as tmp:
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8")
            self.client.log_artifact(run_id, str(path))

    def _log_schedule_png(self, run_id: str, schedule: Mapping[str, Any], total_steps: Any) -> None:
        from cpt_search.piecewise import schedule_from_any_dict
        from cpt_search.tracking.plots import plot_schedule_png

        if not schedule:
            return
        steps = int(total_steps) if _finite(total_steps) and total_steps else NOMINAL_PLOT_STEPS
        try:
            parsed = schedule_from_any_dict(schedule)
            steps = max(steps, 2 * getattr(parsed, "num_cycles", 1))
            with tempfile.TemporaryDirectory(prefix="cpt_search_sched_") as tmp:
                path = plot_schedule_png(parsed, steps, Path(tmp) / "schedule.png")
                self.client.log_artifact(run_id, str(path))
        except Exception as error:  # noqa: BLE001 - a picture must never fail a search
            if is_disk_full(error):
                raise  # not the picture's fault: the observer group reports it in one line
            log.warning("could not draw the schedule of run %s", run_id, exc_info=True)


def _schedule_params(schedule: Mapping[str, Any]) -> dict[str, Any]:
    """A schedule's fields as run params (a piecewise schedule's segments become one JSON param)."""
    return dict(schedule)


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


def _finite(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _now_ms() -> int:
    return int(time.time() * 1000)
