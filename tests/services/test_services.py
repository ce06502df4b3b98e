"""The project's services for real: loopback only, and a search on the two-node Ray cluster with the
PostgreSQL-backed MLflow server and the Optuna study in PostgreSQL; ``front``, ``export`` and ``ui``
against them (issue 13, "Real services, started by the project")."""

from __future__ import annotations

import collections
import ipaddress
import json
import os
import urllib.request
from pathlib import Path

import pytest

from cpt_search.export import load_schedule

from .support import Services, mlflow_runs, study_trials, unique_name, write_space

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _listening(table: Path) -> list[str]:
    """Local addresses of the LISTEN sockets in a /proc/net/tcp{,6} table."""
    found = []
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] != "0A":  # TCP_LISTEN
            continue
        raw = bytes.fromhex(fields[1].split(":")[0])
        # /proc writes each 32-bit word in host (little-endian) order
        words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
        found.append(str(ipaddress.ip_address(words)))
    return found


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def test_everything_the_services_run_is_in_a_loopback_only_namespace(services: Services) -> None:
    # The namespace has no interface but lo ...
    interfaces = {line.split(":")[0].strip() for line in
                  Path(f"/proc/{services.netns_pid}/net/dev").read_text().splitlines()[2:]}
    assert interfaces == {"lo"}
    # ... every socket listening in it is bound to a loopback address ...
    listening = [a for t in ("tcp", "tcp6") for a in _listening(Path(f"/proc/{services.netns_pid}/net/{t}"))]
    assert len(listening) >= 4, listening  # PostgreSQL, MLflow, Ray GCS, raylets and agents
    assert all(_loopback(a) for a in listening), listening
    # ... and every process the script started lives in it.
    namespace = os.readlink(f"/proc/{services.netns_pid}/ns/net")
    started = services.pids("postgres.pid") + services.pids("mlflow.pid") + services.pids("ray-head.pids") \
        + services.pids("ray-worker.pids")
    alive = [pid for pid in started if os.path.exists(f"/proc/{pid}")]
    assert len(alive) >= 4, started
    for pid in alive:
        assert os.readlink(f"/proc/{pid}/ns/net") == namespace, pid
    status = services.script("status")
    assert status.returncode == 0, status.stderr
    for line in ("postgres: up", "mlflow: up", "ray-head: up", "ray-worker: up"):
        assert line in status.stdout, status.stdout


def _trial_actors_per_node(services: Services) -> collections.Counter:
    """Ray Tune function-trial actors ever placed, per node id (from the GCS; no dashboard needed)."""
    import ray
    from ray._private.state import state

    with ray.init(address=services.ray_address, logging_level="ERROR", log_to_driver=False):
        return collections.Counter(a["Address"]["NodeID"] for a in state.actor_table(None).values()
                                   if a["ActorClassName"] == "ImplicitFunc")


def test_a_search_runs_on_the_two_node_cluster_and_front_export_ui_read_the_servers(
        services: Services, tmp_path: Path) -> None:
    name = unique_name("cluster")
    space = write_space(tmp_path, name, trials=4)
    store = tmp_path / "store"
    before = _trial_actors_per_node(services)
    done = services.cpt("run", str(space), "--store", str(store), "--ray-address", services.ray_address,
                        "--tracking-uri", services.tracking_uri)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "on the connected Ray" in done.stdout and "4/4 trials (4 complete" in done.stdout
    assert "View run" not in done.stdout  # MLflow's per-run links stay out of the progress table
    assert "***@" in done.stdout and services.optuna_storage not in done.stdout  # no password shown

    # The trials ran on both nodes of the cluster. Ray Tune reuses a trial actor for the next trial
    # (``reuse_actors``), so 4 trials may run in as few as 2 actors: new actors were placed on both
    # nodes, and each trial's MLflow run names the node that trained it.
    after = _trial_actors_per_node(services)
    placed = {node: after[node] - before.get(node, 0) for node in after if after[node] > before.get(node, 0)}
    assert 2 <= sum(placed.values()) <= 4 and len(placed) == 2, placed

    # Optuna: the study is in PostgreSQL, none in the store; MLflow: on the server, none in the store.
    trials = study_trials(services, name)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert not (store / "optuna.db").exists() and not (store / "mlflow.db").exists()
    parent, children = mlflow_runs(services, name)
    assert parent.info.status == "FINISHED"
    assert sorted(int(r.data.tags["optuna_trial_number"]) for r in children) == [0, 1, 2, 3]
    assert all(r.info.status == "FINISHED" and "val_accuracy" in r.data.metrics for r in children)
    trained_on = collections.Counter(r.data.tags["ray_node_id"] for r in children)
    assert set(trained_on) == set(placed) and sum(trained_on.values()) == 4, (trained_on, placed)
    # Artifacts go through the server (proxied) into its artifacts destination.
    from mlflow.tracking import MlflowClient

    artifacts = {a.path for a in MlflowClient(services.tracking_uri).list_artifacts(parent.info.run_id)}
    assert "pareto_front.csv" in artifacts and parent.info.artifact_uri.startswith("mlflow-artifacts:")
    assert list((services.state_dir / "mlflow-artifacts").rglob("pareto_front.csv"))

    # front and export read the study from PostgreSQL.
    front = services.cpt("front", name, "--store", str(store), "--format", "json")
    assert front.returncode == 0, front.stderr
    shown = json.loads(front.stdout)
    assert shown["search"] == name and shown["front"], front.stdout
    best = tmp_path / "best.yaml"
    exported = services.cpt("export", name, "--store", str(store), "--pick", "knee", "-o", str(best))
    assert exported.returncode == 0, exported.stderr
    assert load_schedule(best).max_bits >= 3

    # ui: the server already serves the UI; the command says where and lists the experiment.
    ui = services.cpt("ui", "--store", str(store), "--tracking-uri", services.tracking_uri, timeout=60)
    assert ui.returncode == 0, ui.stderr
    assert services.tracking_uri in ui.stdout and f"cpt_search/{name}" in ui.stdout
    with urllib.request.urlopen(services.tracking_uri + "/", timeout=10) as page:
        assert page.status == 200 and b"<html" in page.read().lower()


def test_ui_names_an_unreachable_tracking_server_in_one_line(services: Services, tmp_path: Path) -> None:
    ui = services.cpt("ui", "--store", str(tmp_path), "--tracking-uri", "http://127.0.0.1:9", timeout=30)
    assert ui.returncode == 2 and "Traceback" not in ui.stderr
    assert len(ui.stderr.strip().splitlines()) == 1 and "http://127.0.0.1:9" in ui.stderr, ui.stderr
