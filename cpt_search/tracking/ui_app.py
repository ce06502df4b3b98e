"""The MLflow server app ``cpt-search ui`` runs: MLflow's own, opening experiments in the model-training view.

MLflow 3.17.2's UI chooses between its GenAI and model-training layouts from the ``workflowType`` URL
parameter, else from the browser's remembered choice (``localStorage["mlflow.workflowType_v1"]``,
written only when the user flips the switch), else GenAI; the experiment tag ``mlflow.experimentKind``
is not read (see :mod:`cpt_search.tracking.views`). The links ``cpt-search ui`` prints carry the
parameter, but an experiment opened from MLflow's own experiment list does not, so a new user landed
on the GenAI overview of a search. This app serves the same UI with one line added to its
``index.html``: when the browser has no remembered choice yet, remember the model-training one. A
choice the user makes with the UI's switch is kept.

It is registered as the MLflow server plugin ``cpt-search`` (entry point group ``mlflow.app``, the
mechanism of MLflow's ``basic-auth`` app) and started with ``mlflow ui --app-name cpt-search``.
A tracking server run by someone else keeps its own app; the printed links still carry the parameter.
"""

from __future__ import annotations

from typing import Any

WORKFLOW_STORAGE_KEY = "mlflow.workflowType_v1"  # the UI's useLocalStorage key: f"{key}_v{version}"
# JSON-encoded, as the UI stores it; only set when absent, so the user's own switch wins.
DEFAULT_VIEW_SCRIPT = (
    "<script>try{if(window.localStorage.getItem('" + WORKFLOW_STORAGE_KEY + "')===null)"
    "{window.localStorage.setItem('" + WORKFLOW_STORAGE_KEY + "','\"machine_learning\"')}}catch(e){}</script>"
)


def with_default_view(index_html: str) -> str:
    """``index.html`` with :data:`DEFAULT_VIEW_SCRIPT` first in its ``<head>`` (before the UI's bundle runs)."""
    marker = "<head>"
    at = index_html.find(marker)
    if at < 0:
        return DEFAULT_VIEW_SCRIPT + index_html
    at += len(marker)
    return index_html[:at] + DEFAULT_VIEW_SCRIPT + index_html[at:]


def create_app() -> Any:
    """The ASGI app for ``mlflow ui --app-name cpt-search`` (uvicorn calls this factory)."""
    from pathlib import Path

    from flask import Response
    from mlflow.server import app as flask_app
    from mlflow.server.fastapi_app import create_fastapi_app

    original = flask_app.view_functions["serve"]
    index = Path(str(flask_app.static_folder)) / "index.html"

    def serve() -> Any:
        if not index.is_file():  # a source install without the built UI: MLflow's own message
            return original()
        return Response(with_default_view(index.read_text(encoding="utf-8")), mimetype="text/html")

    flask_app.view_functions["serve"] = serve
    return create_fastapi_app(flask_app)
