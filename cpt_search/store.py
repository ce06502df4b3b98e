"""Where a search keeps its state: the store directory.

One store directory (default ``./cpt_search_runs``) holds any number of searches::

    STORE/
      mlflow.db          MLflow tracking (SQLite), unless --tracking-uri / MLFLOW_TRACKING_URI
      mlruns/            MLflow artifacts (one folder per experiment)
      optuna.db          Optuna RDB storage; one study per search, named after it (optuna-dashboard opens it),
                         unless $CPT_SEARCH_OPTUNA_STORAGE names another RDB (e.g. PostgreSQL) shared by a team
      ray/NAME/          Ray Tune's storage_path for search NAME (one folder per session)
      locks/NAME.lock    held while a driver runs search NAME (two drivers on one study would race)

In MLflow every search is its own experiment ``cpt_search/NAME`` holding one parent run (the search)
and one nested child run per trial, so the UI filter ``tags.pareto_front = "true"`` inside that
experiment lists exactly that search's front.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from cpt_search.space.names import check_search_name  # noqa: F401 - the one name rule, re-exported

DEFAULT_STORE_DIR = "cpt_search_runs"
EXPERIMENT_PREFIX = "cpt_search/"
# An SQLAlchemy URL of the Optuna storage to use instead of the store's SQLite file, e.g.
# postgresql+psycopg://user:password@host:5432/optuna (what scripts/services.sh up prints).
OPTUNA_STORAGE_ENV = "CPT_SEARCH_OPTUNA_STORAGE"
_PASSWORD = re.compile(r"(?<=://)([^:/@]*):[^@/]*@")


@dataclass(frozen=True)
class Store:
    """The paths and URIs of one store directory.

    Attributes:
        root: the store directory (absolute).
        tracking_uri: MLflow tracking URI; ``sqlite:///ROOT/mlflow.db`` unless given.
        local_tracking: whether MLflow writes into this store (then artifacts go to ``ROOT/mlruns``).
        optuna_storage: SQLAlchemy URL of a shared Optuna RDB storage (``None``: the store's
            ``optuna.db``).
    """

    root: Path
    tracking_uri: str
    local_tracking: bool
    optuna_storage: str | None = None

    @classmethod
    def at(cls, root: str | os.PathLike | None = None, tracking_uri: str | None = None,
           optuna_storage: str | None = None) -> "Store":
        """The store at ``root`` (default ``./cpt_search_runs``); ``tracking_uri`` falls back to
        ``$MLFLOW_TRACKING_URI`` and then to the store's own SQLite file, ``optuna_storage`` to
        ``$CPT_SEARCH_OPTUNA_STORAGE`` and then to the store's ``optuna.db``."""
        path = Path(root if root is not None else DEFAULT_STORE_DIR).expanduser().absolute()
        uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or None
        optuna = optuna_storage or os.environ.get(OPTUNA_STORAGE_ENV) or None
        if uri is None:
            return cls(root=path, tracking_uri=f"sqlite:///{path / 'mlflow.db'}", local_tracking=True,
                       optuna_storage=optuna)
        return cls(root=path, tracking_uri=uri, local_tracking=False, optuna_storage=optuna)

    @property
    def optuna_db(self) -> Path:
        """The Optuna SQLite file (used unless :attr:`optuna_storage` is set)."""
        return self.root / "optuna.db"

    @property
    def optuna_local(self) -> bool:
        """Whether the Optuna study lives in this store's ``optuna.db``."""
        return self.optuna_storage is None

    @property
    def optuna_url(self) -> str:
        """SQLAlchemy URL of the Optuna storage (``optuna-dashboard URL`` opens it)."""
        return self.optuna_storage or f"sqlite:///{self.optuna_db}"

    @property
    def optuna_url_shown(self) -> str:
        """:attr:`optuna_url` with any password masked, for messages and MLflow params."""
        return redact_url(self.optuna_url)

    @property
    def artifacts_root(self) -> Path:
        """Where MLflow artifacts go when tracking is local."""
        return self.root / "mlruns"

    def artifact_location(self, name: str) -> str | None:
        """Explicit artifact location of search ``name``'s experiment (``None``: the server's)."""
        if self.local_tracking or self.tracking_uri.startswith(("sqlite:", "file:")) \
                or "://" not in self.tracking_uri:
            return (self.artifacts_root / name).as_uri()
        return None

    def ray_dir(self, name: str) -> Path:
        """Ray Tune ``storage_path`` of search ``name``."""
        return self.root / "ray" / name

    def lock_path(self, name: str) -> Path:
        """The lock file held while search ``name`` runs."""
        return self.root / "locks" / f"{name}.lock"

    def create(self) -> "Store":
        """Make the directories (idempotent); returns ``self``."""
        for path in (self.root, self.artifacts_root, self.root / "ray", self.root / "locks"):
            path.mkdir(parents=True, exist_ok=True)
        return self


def redact_url(url: str) -> str:
    """``scheme://user:***@host/...``: a URL safe to print or log."""
    return _PASSWORD.sub(r"\1:***@", url)


def experiment_name(search_name: str) -> str:
    """MLflow experiment of a search: ``cpt_search/NAME``."""
    return f"{EXPERIMENT_PREFIX}{search_name}"
