"""An Optuna RDB storage on a database server that rides out the server's restart.

The Optuna study is the source of truth of a search, so a database that is restarted or briefly
unreachable mid-search (fault 4 of issue 13: PostgreSQL restarted) must cost a pause, not the
search. Two layers:

* ``pool_pre_ping`` (SQLAlchemy): a pooled connection that the restart closed is noticed when it is
  checked out and replaced, instead of failing the next query;
* :class:`ReconnectingRDBStorage`: a storage call that fails because the server cannot be reached
  (SQLAlchemy ``OperationalError`` / ``InterfaceError``, which Optuna re-raises as
  ``StorageInternalError``) is run again, with backoff, for up to :data:`RECONNECT_WINDOW_S`. The
  failed attempt's transaction was rolled back, so its retry does not write twice; the one window
  where it could (the server commits and dies before acknowledging) is the same as any client's.

A SQLite store keeps Optuna's plain ``RDBStorage`` (a file does not restart).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any, Callable

from optuna.storages import RDBStorage

log = logging.getLogger(__name__)

RECONNECT_WINDOW_S = 60.0  # longer than a PostgreSQL restart (about a second) or a fail-over
_FIRST_PAUSE_S = 0.5
_MAX_PAUSE_S = 5.0
# The storage API a search uses (optuna.storages.BaseStorage's methods that RDBStorage implements).
_RETRIED = (
    "create_new_study", "delete_study", "set_study_user_attr", "set_study_system_attr",
    "get_study_id_from_name", "get_study_name_from_id", "get_study_directions", "get_study_user_attrs",
    "get_study_system_attrs", "get_trial_user_attrs", "get_trial_system_attrs", "get_all_studies",
    "create_new_trial", "set_trial_param", "get_trial_param", "set_trial_state_values",
    "set_trial_intermediate_value", "set_trial_user_attr", "set_trial_system_attr",
    "get_trial_id_from_study_id_trial_number", "get_trial", "get_all_trials", "get_best_trial",
    "get_n_trials", "get_trial_number_from_id", "get_trial_params",
)


def is_disconnect(error: BaseException) -> bool:
    """Whether ``error`` (or what Optuna wrapped) means the database could not be reached."""
    from sqlalchemy import exc

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, (exc.OperationalError, exc.InterfaceError)) or (
                isinstance(seen, exc.DBAPIError) and seen.connection_invalidated):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reconnecting(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + RECONNECT_WINDOW_S
        pause = _FIRST_PAUSE_S
        while True:
            try:
                return method(self, *args, **kwargs)
            except Exception as error:  # Optuna wraps SQLAlchemy errors in StorageInternalError
                if not is_disconnect(error) or time.monotonic() + pause > deadline:
                    raise
                log.warning("the Optuna database is unreachable (%s in %s); retrying in %.1f s",
                            type(error.__cause__ or error).__name__, name, pause)
                time.sleep(pause)
                pause = min(pause * 2, _MAX_PAUSE_S)
    return call


class ReconnectingRDBStorage(RDBStorage):
    """``RDBStorage`` whose calls wait for an unreachable database server to come back (module doc)."""


for _name in _RETRIED:
    if hasattr(RDBStorage, _name):
        setattr(ReconnectingRDBStorage, _name, _reconnecting(_name, getattr(RDBStorage, _name)))
