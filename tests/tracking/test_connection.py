"""Asking a tracking server whether it answers: a real HTTP server on loopback, and a closed port."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time

import pytest

from cpt_search.errors import TrackingError
from cpt_search.tracking.connection import FAIL_FAST_ENV, check_server, fail_fast, server_answers


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(200 if self.path == "/health" else 401)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_live_server_answers(server: str) -> None:
    assert server_answers(server) is None
    assert server_answers(server + "/") is None
    check_server(server)


def test_a_closed_port_is_one_line_naming_the_uri_at_once() -> None:
    uri = f"http://127.0.0.1:{_closed_port()}"
    started = time.monotonic()
    with pytest.raises(TrackingError) as raised:
        check_server(uri)
    assert time.monotonic() - started < 5
    text = str(raised.value)
    assert "\n" not in text and uri in text and "does not answer" in text and "--no-mlflow" in text


def test_local_stores_are_not_probed() -> None:
    check_server("sqlite:////nonexistent/mlflow.db")
    check_server("file:///nonexistent")


def test_fail_fast_keeps_the_users_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in FAIL_FAST_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "300")
    fail_fast()
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "300"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == FAIL_FAST_ENV["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]


def test_a_search_ending_during_an_outage_waits_a_bounded_time_for_the_server(tmp_path) -> None:
    """Paused at the end of a search: one probe a second for at most FINAL_WAIT_S, then it gives up
    (and the caller says to run `cpt-search sync`), however long each probe takes."""
    import socket

    from cpt_search.store import Store
    from cpt_search.tracking import resilient
    from cpt_search.tracking.recorder import MlflowRecorder

    with socket.socket() as sock:  # a loopback port nobody listens on: every probe is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    recorder = resilient.ResilientRecorder(MlflowRecorder(Store.at(tmp_path / "store", f"http://127.0.0.1:{port}")),
                                           clock=lambda: now[0], sleep=sleep)
    recorder.paused_since = 0.0
    recorder._wait_for_server()
    assert recorder.paused  # the server never came back
    assert len(slept) == int(resilient.FINAL_WAIT_S / resilient.FINAL_PROBE_S)
    assert now[0] == resilient.FINAL_WAIT_S
