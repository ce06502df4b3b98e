"""``cpt-search run | front | export | ui``: run a search, read its front, export a schedule, open MLflow."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import warnings
from datetime import datetime, timezone

import click

from cpt_search.cli.params import FiniteFloat, bounded_int
from cpt_search.errors import ConfigError, TrackingError
from cpt_search.limits import MAX_CONCURRENCY, MAX_TRIALS
from cpt_search.records.confirmed import CONFIRM_FIELDS
from cpt_search.store import DEFAULT_STORE_DIR, Store, experiment_name
from cpt_search.tracking.views import FRONT_FILTER

_QUIET_LOGGERS = ("ray", "mlflow", "optuna", "alembic", "urllib3", "filelock")

store_option = click.option(
    "--store", default=DEFAULT_STORE_DIR, show_default=True, type=click.Path(file_okay=False),
    help="Store directory: MLflow DB + artifacts, Optuna DB, Ray results.")
tracking_option = click.option(
    "--tracking-uri", default=None,
    help="MLflow tracking URI [default: $MLFLOW_TRACKING_URI, else the store's mlflow.db].")


def _quiet_libraries(debug: bool, *, with_ray: bool = False) -> None:
    """Keep the terminal for our rows: third-party INFO chatter only with --debug."""
    if debug:
        return
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # read when mlflow is imported
    if with_ray:
        import ray  # noqa: F401 - ray configures its loggers on import; adjust them afterwards

    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # MLflow logs every database error with its traceback before raising it; the error itself
    # reaches cpt-search, which reports it in one line (a full disk, a server away).
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    # Ray Tune logs a failed save of its experiment state with a traceback; on a full disk the
    # search stops with its own one-line error instead.
    logging.getLogger("ray.tune.execution.experiment_state").addFilter(_not_disk_full)
    # Tune's Ctrl-C message points at Tuner.restore; cpt-search resumes by rerunning the command.
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    except ImportError:  # pragma: no cover - optuna is a dependency
        pass
    warnings.filterwarnings("ignore", category=UserWarning, module="optuna")


def _not_disk_full(record: logging.LogRecord) -> bool:
    """Logging filter: drop a record about a full disk (reported once, as the command's error)."""
    from cpt_search.disk_full import is_disk_full

    error = record.exc_info[1] if record.exc_info else None
    return not (is_disk_full(error) or "no space left on device" in record.getMessage().lower())


# ---------------------------------------------------------------------- run


def _progress_header(metric_name: str) -> str:
    return (f"{'done':>9} {'trial':>5}  {'status':<10} {metric_name[:14]:>14} {'rel.cost':>9} "
            f"{'seconds':>8} {'front':>5} {'hypervol':>9}  schedule")


def _progress_row(event) -> str:
    metric = "-" if event.metric is None else f"{event.metric:.4f}"
    cost = "-" if event.relative_cost is None else f"{event.relative_cost:.4f}"
    seconds = "-" if event.seconds is None else f"{event.seconds:.1f}"
    row = (f"{event.finished:>4d}/{event.total:<4d} {event.trial:>5d}  {event.status:<10} {metric:>14} "
           f"{cost:>9} {seconds:>8} {event.front_size:>5d} {event.hypervolume:>9.4f}  {event.label}")
    if event.error and event.status != "complete":
        row += f"  ({event.error[:120]})"
    return row


@click.command("run")
@click.argument("space", type=click.Path(dir_okay=False))
@click.option("--name", help="Search name [default: the space's name]; rerun with it to resume.")
@click.option("--trials", type=bounded_int(1, MAX_TRIALS), help="Sampled trials [default: the space's].")
@click.option("--concurrency", type=bounded_int(1, MAX_CONCURRENCY),
              help="Trials at once [default: the space's].")
@store_option
@click.option("--ray-address", default=None,
              help="Join this Ray cluster ('auto', or $RAY_ADDRESS) [default: a local Ray].")
@tracking_option
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data root for the task's dataset.")
@click.option("--download", is_flag=True,
              help="Allow the standard dataset download (torchvision / torch-geometric) if files are missing.")
@click.option("--no-mlflow", is_flag=True,
              help="Do not record the search in MLflow (the Optuna study in the store keeps it).")
@click.pass_context
def run(ctx: click.Context, space: str, name: str | None, trials: int | None,
        concurrency: int | None, store: str, ray_address: str | None, tracking_uri: str | None,
        data_dir: str | None, download: bool, no_mlflow: bool) -> None:
    """Run (or resume) the multi-objective schedule search described by SPACE (a YAML file).

    Rerunning the same command after Ctrl-C or a crash continues the search: finished trials are
    kept, interrupted ones run again, nothing is recorded twice.
    """
    from cpt_search.orchestrate.search import SearchRequest, run_search

    debug = bool((ctx.obj or {}).get("debug"))
    if not no_mlflow:  # before Ray is imported: an unreachable tracking server is one line in seconds
        from cpt_search.tracking.connection import check_server

        check_server(Store.at(store, tracking_uri).tracking_uri)
    _quiet_libraries(debug, with_ray=True)
    header_shown: list[bool] = []

    def on_progress(event) -> None:
        if not header_shown:
            click.echo(_progress_header(metric_name[0]))
            header_shown.append(True)
        click.echo(_progress_row(event))

    from cpt_search.search.feasibility import check_constraint_reachable
    from cpt_search.space import load_space

    loaded = load_space(space)
    check_constraint_reachable(loaded)  # before Ray starts: an impossible constraint is one line
    metric_name = [str(loaded.objective.metric)]
    request = SearchRequest(space_path=space, name=name, trials=trials, concurrency=concurrency,
                            store_dir=store, ray_address=ray_address, tracking_uri=tracking_uri,
                            data_dir=data_dir, download=download, ray_logs=debug,
                            tracking=not no_mlflow)
    outcome = run_search(request, on_progress=on_progress, on_status=lambda m: click.echo(f"# {m}"))
    _print_outcome(outcome, store)
    if not outcome.complete and not outcome.gave_up:
        raise SystemExit(130)  # interrupted: like Ctrl-C, and the rerun resumes


def _print_outcome(outcome, store_arg: str) -> None:
    p = outcome.progress
    click.echo("")
    state = "finished" if outcome.complete else "stopped early (rerun the same command to resume)"
    if outcome.gave_up:
        state = "stopped: the sampler kept proposing infeasible schedules (widen the space or the constraint)"
    click.echo(f"search {outcome.name!r} {state}: {p.finished}/{outcome.target_trials} trials "
               f"({p.complete} complete, {p.failed} failed, "
               + (f"{p.stopped} stopped early, " if p.stopped else "")
               + f"{p.infeasible} infeasible skipped), "
               f"{outcome.ran_now} in this run, {outcome.seconds:.0f} s")
    kind = "seed-confirmed Pareto front" if outcome.front.confirmed is not None else "Pareto front"
    click.echo(f"{kind} ({len(outcome.front.members)} of {p.complete}), hypervolume "
               f"{outcome.front.hypervolume:.4f}:")
    click.echo(_front_table(outcome.front, outcome.test_metric_name))
    store_flag = "" if store_arg == DEFAULT_STORE_DIR else f" --store {store_arg}"
    click.echo("")
    click.echo(f"store        {outcome.store.root}")
    if outcome.parent_run_id is not None:
        click.echo(f"MLflow       {outcome.store.tracking_uri}, experiment {outcome.experiment!r}, "
                   f"parent run {outcome.parent_run_id}")
    click.echo(f"Optuna       {outcome.store.optuna_url_shown}, study {outcome.name!r}")
    click.echo("front files  pareto_front.csv/.json/.png/.html on the parent run")
    click.echo(f"open the UI  cpt-search ui{store_flag}   (filter: {FRONT_FILTER})")
    click.echo(f"export       cpt-search export {outcome.name}{store_flag} --pick knee -o best.yaml")


# ---------------------------------------------------------------------- front


def _front_rows(front, test_metric_name: str | None = None) -> list[dict]:
    """The members of a :class:`~cpt_search.records.confirmed.SearchFront` as plain rows (confirmed:
    the metric is the seed-adjusted mean, beside seeds, mean, std, interval and P(front))."""
    rows = []
    for c in front.members:
        row = {"trial": c.trial, "label": c.label, front.metric_name: c.metric,
               test_metric_name or "test_metric": c.extra.get("test_metric"), "bitops": c.bitops,
               "relative_cost": c.relative_cost, "relative_cost_vs_8_8": c.extra.get("relative_cost_vs_8_8"),
               "baseline": c.baseline}
        if front.confirmed is not None:
            row.update({key: c.extra.get(key) for key in CONFIRM_FIELDS})
        row["schedule"] = dict(c.schedule)
        rows.append(row)
    return rows


def _front_table(front, test_metric_name: str | None = None) -> str:
    if not front.members:
        return "  (empty: no trial has completed yet)"
    confirmed = front.confirmed is not None
    head = (f"{'trial':>5}  {front.metric_name[:14]:>14} {(test_metric_name or 'test')[:14]:>14} "
            f"{'GBitOPs':>11} {'rel.cost':>9} {'vs 8/8':>7}  ")
    if confirmed:
        head += f"{'seeds':>5} {'mean':>7} {'std':>7} {'95% interval':>15} {'P(front)':>8}  "
    lines = [head + " schedule"]
    for c in front.members:
        vs88 = c.extra.get("relative_cost_vs_8_8")
        vs88_text = "-" if vs88 is None else f"{vs88:.3f}"
        test = c.extra.get("test_metric")
        test_text = "-" if test is None else f"{test:.4f}"
        mark = "*" if c.baseline else " "
        line = (f"{c.trial:>5}  {c.metric:>14.4f} {test_text:>14} {c.bitops / 1e9:>11.3f} {c.relative_cost:>9.4f} "
                f"{vs88_text:>7}  ")
        if confirmed:
            extra = c.extra
            interval = "-" if extra.get("ci_low") is None else f"{extra['ci_low']:.4f}-{extra['ci_high']:.4f}"
            line += (f"{extra.get('n_seeds', 1):>5d} {extra.get('mean', c.metric):>7.4f} "
                     f"{_number(extra.get('std')):>7} {interval:>15} {_number(extra.get('p_front'), 2):>8}  ")
        lines.append(f"{line}{mark}{c.label}")
    if any(c.baseline for c in front.members):
        lines.append("(* = an enqueued paper preset or static baseline)")
    if confirmed:
        settings = front.settings
        lines.append(f"(confirmed on seeds {list(settings.seeds)}: {front.metric_name} is the mean with the "
                     "seed effects removed; interval: 95 % Student t; P(front): paired bootstrap over seeds"
                     f"{'; ' + test_metric_name + ': the plain mean over the same seeds' if test_metric_name else ''})")
    if test_metric_name:
        lines.append(f"(the front is selected on {front.metric_name}; {test_metric_name} is reported, "
                     "never used to select)")
    return "\n".join(lines)


def _number(value, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


@click.command("front")
@click.argument("name")
@store_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format.")
def front(name: str, store: str, fmt: str) -> None:
    """Print the Pareto front (metric vs training BitOPs) of search NAME."""
    from cpt_search.search.snapshot import load_search

    _quiet_libraries(False)
    snapshot = load_search(Store.at(store), name)
    front = snapshot.front
    rows = _front_rows(front, snapshot.test_metric_name)
    if fmt == "json":
        click.echo(json.dumps({"search": name, "task": snapshot.task, "budget": snapshot.budget,
                               "metric_name": front.metric_name, "test_metric_name": snapshot.test_metric_name,
                               "higher_is_better": front.higher_is_better,
                               "hypervolume": front.hypervolume, "confirmed": front.confirmed is not None,
                               "front": rows}, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        flat = [dict(row, schedule=json.dumps(row["schedule"], sort_keys=True)) for row in rows]
        if flat:
            writer = csv.DictWriter(buffer, fieldnames=list(flat[0]))
            writer.writeheader()
            writer.writerows(flat)
        click.echo(buffer.getvalue().rstrip("\n"))
    else:
        done = sum(1 for r in snapshot.records if r.finished)
        kind = "seed-confirmed front" if front.confirmed is not None else "front"
        click.echo(f"search {name!r}: {snapshot.task} ({snapshot.budget}), {done} finished trials, "
                   f"{kind} of {len(front.members)}, hypervolume {front.hypervolume:.4f}")
        click.echo(_front_table(front, snapshot.test_metric_name))


# ---------------------------------------------------------------------- export


@click.command("export")
@click.argument("name")
@click.option("--pick", type=click.Choice(["knee", "max-metric", "min-bitops"]), default="knee",
              show_default=True, help="Which point of the (filtered) front to export.")
@click.option("--max-relative-cost", type=FiniteFloat(0.0, 1e6), default=None,
              help="Only schedules costing at most this fraction of FP32 training.")
@click.option("--min-metric", type=FiniteFloat(-1e12, 1e12), default=None,
              help="Only schedules at least this good (>= for accuracy, <= for lower-is-better metrics).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The schedule file to write (YAML).")
@store_option
def export(name: str, pick: str, max_relative_cost: float | None, min_metric: float | None,
           output: str, store: str) -> None:
    """Export one schedule of search NAME's front as a file that drives your own training."""
    import cpt_search
    from cpt_search.export import save_schedule
    from cpt_search.output_paths import check_output_path
    from cpt_search.schedule import Schedule
    from cpt_search.search.snapshot import load_search
    from cpt_search.select import pick as pick_candidate

    check_output_path(output, flag="--output")  # before the store is read: a bad path is one line
    _quiet_libraries(False)
    snapshot = load_search(Store.at(store), name)
    chosen = pick_candidate(snapshot.front.choices, pick, higher_is_better=snapshot.higher_is_better,
                            max_relative_cost=max_relative_cost, min_metric=min_metric,
                            where=f"export {name}")
    schedule = Schedule.from_dict(chosen.schedule, where=f"search {name} trial {chosen.trial}")
    provenance = {
        "search": name, "trial": chosen.trial, "label": chosen.label, "task": snapshot.task,
        "budget": snapshot.budget, "metric_name": snapshot.metric_name, "metric": chosen.metric,
        "test_metric_name": snapshot.test_metric_name, "test_metric": chosen.extra.get("test_metric"),
        "bitops": chosen.bitops, "relative_cost": chosen.relative_cost, "pick": pick,
        "filters": {"max_relative_cost": max_relative_cost, "min_metric": min_metric},
        "store": str(Store.at(store).root), "cpt_search_version": cpt_search.__version__,
        **_confirmation_provenance(snapshot.front, chosen),
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        path = save_schedule(output, schedule, provenance)
    except ConfigError as error:  # e.g. ENOSPC on /dev/full: name the flag, not the library's key
        raise error.with_context(key="--output") from None
    test = chosen.extra.get("test_metric")
    test_text = "" if test is None else f" ({snapshot.test_metric_name or 'test'} {test:.4f})"
    click.echo(f"wrote {path}: trial {chosen.trial}, {schedule.label}, {snapshot.metric_name} "
               f"{chosen.metric:.4f}{test_text}, {chosen.bitops / 1e9:.3f} GBitOPs, relative cost "
               f"{chosen.relative_cost:.4f} ({pick})")
    for line in _confirmation_lines(name, snapshot.front, chosen):
        click.echo(line)
    click.echo(f"retrain it:  cpt-search train --task {snapshot.task} --budget {snapshot.budget} "
               f"--schedule-file {path}")


def _confirmation_lines(name: str, front, chosen) -> list[str]:
    """How far the exported value can be trusted: its seeds and interval, and a warning when it rests
    on fewer seeds than the race's ``min_seeds`` (two seeds cannot show a schedule that sometimes
    collapses: on Cora a 3-4 bit cycle scored 0.765 on two seeds and 0.729 +- 0.044 on six fresh ones)."""
    if front.confirmed is None:
        return [f"not seed-confirmed: the value is the search's own training; 'cpt-search confirm {name}' "
                "retrains the front on more seeds"]
    n_seeds, mean, std = (chosen.extra.get(k) for k in ("n_seeds", "mean", "std"))
    low, high, p_front = (chosen.extra.get(k) for k in ("ci_low", "ci_high", "p_front"))
    if not n_seeds or mean is None:
        return []
    spread = "" if std is None else f" ± {std:.4f} (std)"
    interval = "" if low is None or high is None else f", 95 % interval {low:.4f}-{high:.4f}"
    chance = "" if p_front is None else f", P(front) {p_front:.2f}"
    lines = [f"confirmed on {n_seeds} seed(s): mean {mean:.4f}{spread}{interval}{chance}"]
    min_seeds = front.settings.min_seeds
    if n_seeds < min_seeds:
        more = max(front.settings.max_trainings, 1) * 2
        lines.append(f"warning: only {n_seeds} seed(s), fewer than the race's min_seeds ({min_seeds}): a "
                     f"retraining may fall outside that interval; train more with 'cpt-search confirm {name} "
                     f"--max-trainings {more}'")
    return lines


def _confirmation_provenance(front, chosen) -> dict:
    """The seed confirmation behind an exported point (empty for a one-seed front)."""
    if front.confirmed is None:
        return {}
    settings = front.settings
    stats = {key: chosen.extra.get(key) for key in CONFIRM_FIELDS}
    return {"confirmation": {
        "metric": "mean over seeds with the seed effects removed (the value the front ranks by)",
        "confirm_seeds": list(settings.seeds), "max_trainings": settings.max_trainings,
        "alpha": settings.alpha, **stats}}


# ---------------------------------------------------------------------- ui


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def check_host(host: str) -> str:
    """The address ``cpt-search ui`` serves on: an IP address, or a host name this machine resolves.

    Dotted numbers are taken as an IPv4 address and never looked up (``999.999.999.999`` is not
    sent to a resolver); names must be valid RFC 1123 host names before they are resolved.

    Raises:
        ConfigError: not an address and not a name that resolves, keyed ``--host``.
    """
    fix = "use an address such as 127.0.0.1 (this machine), 0.0.0.0 (all interfaces) or ::1"
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    if not host or all(label.isdigit() for label in labels) or not all(
            _HOSTNAME_LABEL.match(label) for label in labels) or len(host) > 253:
        raise ConfigError("not an IP address or a host name", key="--host", value=host, fix=fix)
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ConfigError("the host name does not resolve on this machine", key="--host", value=host,
                          fix=fix) from None
    return str(infos[0][4][0])


def _server_ui(where: Store) -> None:
    """``ui`` against an MLflow tracking server: check that it answers (5 s) and print where its UI
    shows each search (``mlflow ui`` cannot open a server URI as its store)."""
    import urllib.error
    import urllib.request

    from cpt_search.search.snapshot import search_names

    base = where.tracking_uri.rstrip("/")
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise TrackingError(f"the MLflow tracking server does not answer ({type(error).__name__})",
                            key="--tracking-uri", value=where.tracking_uri,
                            fix="start it (scripts/services.sh up) or pass the right --tracking-uri") from None
    if not healthy:
        raise TrackingError("the MLflow tracking server is not healthy", key="--tracking-uri",
                            value=where.tracking_uri, fix="see the server's log")
    names = search_names(where)
    click.echo(f"MLflow UI: {base}   (the tracking server's own UI; nothing started)")
    if names:
        click.echo("experiments: " + ", ".join(experiment_name(n) for n in names))
    click.echo(f"in an experiment, search runs with:  {FRONT_FILTER}   to list its Pareto front;")
    click.echo("the parent run holds pareto_front.png/.html/.csv/.json and the hypervolume curve.")


def ui_command(tracking_uri: str, port: int, host: str = "127.0.0.1") -> list[str]:
    """The ``mlflow ui`` command line: loopback by default, one worker (measured: 5 s and 0.4 GB to
    start instead of 20 s, 15 processes and 1.6 GB), MLflow's app with the model-training view as
    the default (the ``cpt-search`` server plugin, :mod:`cpt_search.tracking.ui_app`)."""
    return [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", tracking_uri,
            "--host", host, "--port", str(port), "--workers", "1", "--app-name", "cpt-search"]


def ui_links(where: Store, url: str) -> list[str]:
    """Per search in the store: a link to its front's runs (flat, metric and cost columns, in the
    model-training view) and to its parent run (the front table, plots and files).

    A store that was moved or copied is first re-pointed at its own artifacts.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    from cpt_search.tracking.relocate import relocate_artifacts
    from cpt_search.tracking.views import FRONT_VIEW_TAG, experiment_url, run_url

    moved = relocate_artifacts(where)
    lines = [f"(store moved: {len(moved)} experiment(s) now read their artifacts inside it)"] if moved else []
    client = MlflowClient(tracking_uri=where.tracking_uri)
    prefix = experiment_name("")
    experiments = [e for e in client.search_experiments(filter_string=f"name LIKE '{prefix}%'")]
    for experiment in sorted(experiments, key=lambda e: e.name):
        key = experiment.tags.get(FRONT_VIEW_TAG)
        lines.append(f"{experiment.name}")
        if key:
            lines.append(f"  front   {experiment_url(url, experiment.experiment_id, share_key=key)}")
        else:
            lines.append(f"  runs    {experiment_url(url, experiment.experiment_id)}")
        parents = [run for role in ("search", "analysis") for run in client.search_runs(
            [experiment.experiment_id], f"tags.cpt_search_role = '{role}'", max_results=1)]
        if parents:
            lines.append(f"  parent  {run_url(url, experiment.experiment_id, parents[0].info.run_id)}")
    if experiments:
        lines.append("'front' lists the front's runs flat with metric and cost columns (sorted by bitops); "
                     "'parent' shows the front as a table, pareto_front.png/.html and the hypervolume.")
    return lines


@click.command("ui")
@store_option
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on; 0.0.0.0 only inside a container whose port you publish.")
@click.option("--links-only", is_flag=True,
              help="Print the links the UI will serve (on --host/--port) and exit without starting it.")
@tracking_option
def ui(store: str, port: int, host: str, tracking_uri: str | None, links_only: bool = False) -> None:
    """Start the MLflow UI on the store (127.0.0.1) and print a link to each search's front."""
    address = check_host(host)  # before the store and the port: a bad address is not "port in use"
    _quiet_libraries(False)
    where = Store.at(store, tracking_uri)
    if where.tracking_uri.startswith(("http://", "https://")):
        _server_ui(where)  # a tracking server serves its own UI: nothing to start
        return
    if where.local_tracking and not (where.root / "mlflow.db").is_file():
        raise TrackingError("no MLflow database in the store", where=str(where.root),
                            fix="run a search first ('cpt-search run SPACE.yaml') or pass --store DIR")
    url = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
    if not links_only:  # --links-only: e.g. the quickstart's closing text, where to look once the UI runs
        if not _port_free(port, address):
            raise ConfigError(f"the port is in use on {address}", key="--port", value=port,
                              fix=f"pass another port, e.g. --port {port + 1}")
        click.echo(f"MLflow UI: {url}   (store {where.root}; Ctrl-C stops it)")
    for line in ui_links(where, url):
        click.echo(line)
    if links_only:
        return
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_DISABLE_TELEMETRY="true")
    process = subprocess.Popen(ui_command(where.tracking_uri, port, host), env=env)

    def stop(signum, frame):  # SIGTERM (e.g. from a service manager) stops the server like Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        code = 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code:
        raise TrackingError("mlflow ui exited with an error", key="exit status", value=code,
                            fix="see its output above")
