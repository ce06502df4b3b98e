"""A store that was moved or copied reads its own artifacts: the MLflow URIs are re-pointed into it.

MLflow 3.17.2 stores absolute artifact URIs: ``SqlAlchemyStore.create_experiment`` passes an
experiment's ``artifact_location`` through ``mlflow.utils.uri.resolve_uri_if_local`` (a relative path
becomes absolute against the *current directory* at creation), and every run's ``artifact_uri`` is that
location plus ``/RUN_ID/artifacts``, written once. There is no relative form, so a copied store kept
reading (and writing!) the original folder's artifacts, and a moved one lost them.

The store's own tracking database (``STORE/mlflow.db``) and its artifacts (``STORE/mlruns/NAME``) move
together, so :func:`relocate_artifacts` rewrites, in that database only, every experiment location of
the store's layout (``file://.../mlruns/NAME`` for an experiment ``cpt_search/NAME``) that does not point
into this store, and the ``artifact_uri`` of its runs, from the old prefix to the new one. It runs
before the recorder or the UI touches the store; a store in place is left alone (one query). An
experiment with a location of the user's choosing (a remote server's) is never touched.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass

from cpt_search.store import EXPERIMENT_PREFIX, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Relocation:
    """One experiment re-pointed into the store.

    Attributes:
        experiment: the experiment's name.
        old, new: its artifact location before and after.
        runs: runs whose ``artifact_uri`` moved with it.
    """

    experiment: str
    old: str
    new: str
    runs: int


def relocate_artifacts(store: Store) -> list[Relocation]:
    """Point the artifact URIs of ``store``'s experiments into it (see the module docstring).

    Only a local store (its own ``mlflow.db``) is relocated; returns what moved (empty when nothing).
    """
    database = store.root / "mlflow.db"
    if not store.local_tracking or not database.is_file():
        return []
    moved: list[Relocation] = []
    connection = sqlite3.connect(str(database), timeout=30)
    try:
        with connection:  # one transaction: all experiments move, or none
            rows = connection.execute(
                "SELECT experiment_id, name, artifact_location FROM experiments WHERE name LIKE ?",
                (EXPERIMENT_PREFIX + "%",)).fetchall()
            for experiment_id, name, location in rows:
                search = name[len(EXPERIMENT_PREFIX):]
                wanted = store.artifact_location(search)
                suffix = f"/mlruns/{search}"
                if not wanted or not location or location == wanted or not location.startswith("file:") \
                        or not location.endswith(suffix):
                    continue
                cursor = connection.execute(
                    "UPDATE runs SET artifact_uri = ? || substr(artifact_uri, ?) "
                    "WHERE experiment_id = ? AND substr(artifact_uri, 1, ?) = ?",
                    (wanted, len(location) + 1, experiment_id, len(location), location))
                connection.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                                   (wanted, experiment_id))
                moved.append(Relocation(name, location, wanted, cursor.rowcount))
    finally:
        connection.close()
    for item in moved:
        log.info("store moved: %s's artifacts now at %s (was %s; %d runs)", item.experiment, item.new,
                 item.old, item.runs)
    return moved
