"""Whether an MLflow tracking server answers, and client settings that fail fast when it does not.

MLflow's HTTP client retries a failed request 7 times with exponential backoff and waits up to 120 s
for each answer (``MLFLOW_HTTP_REQUEST_MAX_RETRIES``, ``MLFLOW_HTTP_REQUEST_TIMEOUT``, tuned for
rate-limited hosted servers): against a stopped server one call blocks the search's driver for
minutes, and an unreachable URI at start takes as long to report. A search's driver therefore:

* asks the server's ``/health`` endpoint once, with a :data:`PROBE_TIMEOUT_S` timeout, before any
  work starts (:func:`check_server`): an unreachable server is one line naming the URI, in seconds;
* sets :data:`FAIL_FAST_ENV` for its own MLflow calls unless the user set those variables, so a
  call to a server that stopped mid-search fails in seconds and the search goes on
  (:class:`cpt_search.tracking.resilient.ResilientRecorder` pauses recording until it answers).

Only ``http(s)://`` stores are probed; a SQLite or file store has no server.
"""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.request

from cpt_search.errors import TrackingError

PROBE_TIMEOUT_S = 3.0
# Two retries (0 s, then 4 s of urllib3 backoff at MLflow's factor 2) and 30 s per answer: a stopped
# server costs one call about 5 s; a slow but live one still gets 30 s.
FAIL_FAST_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


def is_server_uri(uri: str) -> bool:
    """Whether ``uri`` names a tracking server (``http://`` or ``https://``)."""
    return uri.lower().startswith(("http://", "https://"))


def server_answers(uri: str, timeout_s: float = PROBE_TIMEOUT_S) -> str | None:
    """``None`` when the server at ``uri`` answers HTTP at all, else why not (one short phrase).

    Any HTTP status counts as an answer (a server behind authentication says 401 to ``/health``).
    """
    request = urllib.request.Request(uri.rstrip("/") + "/health", method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s):  # noqa: S310 - the user's own URI
            return None
    except urllib.error.HTTPError:
        return None
    except urllib.error.URLError as error:
        reason = error.reason
        return f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else str(reason)
    except (socket.timeout, TimeoutError):
        return f"no answer within {timeout_s:g} s"
    except (OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}"


def check_server(uri: str, *, where: str = "--tracking-uri") -> None:
    """Raise a one-line :class:`TrackingError` naming ``uri`` when its server does not answer
    (nothing to check for a local store)."""
    if not is_server_uri(uri):
        return
    why = server_answers(uri)
    if why is not None:
        raise TrackingError(f"the MLflow tracking server does not answer ({why})", where=where, value=uri,
                            fix="start it (mlflow server --host 127.0.0.1 --port PORT ...), pass another "
                                "--tracking-uri, or run with --no-mlflow (the Optuna study alone keeps "
                                "the search; 'cpt-search sync NAME' records it later)")


def fail_fast() -> None:
    """Make this process's MLflow HTTP calls give up in seconds (:data:`FAIL_FAST_ENV`), keeping
    any value the user set."""
    for key, value in FAIL_FAST_ENV.items():
        os.environ.setdefault(key, value)
