"""The front view of the MLflow UI: a shared view state and the links that open it (pure)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from cpt_search.tracking.views import FRONT_FILTER, experiment_url, front_view, run_url, share_tags


def test_view_state_filters_the_front_sorts_by_cost_and_shows_metric_and_cost() -> None:
    view = front_view("val_accuracy", "test_accuracy")
    state = json.loads(view.value())
    assert state["searchFilter"] == FRONT_FILTER
    # Sorted by something other than the start time, the UI lists child runs flat (not under a
    # collapsed parent row).
    assert state["orderByKey"] == "metrics.`bitops`" and state["orderByAsc"] is True
    assert state["selectedColumns"] == ["metrics.`val_accuracy`", "metrics.`relative_cost`",
                                        "metrics.`test_accuracy`", "metrics.`bitops`", "tags.`label`"]
    assert state["columnOrder"] == state["selectedColumns"]  # else the table sorts columns by name
    confirmed = front_view("val_accuracy", confirmed=True)
    assert confirmed.key() != view.key() and "metrics.`p_front`" in json.loads(confirmed.value())["selectedColumns"]
    tags = share_tags(view)
    assert tags["cpt_search.front_view"] == view.key()
    assert json.loads(tags[f"mlflow.sharedViewState.{view.key()}"]) == state


def test_links_open_the_model_training_view() -> None:
    url = experiment_url("http://127.0.0.1:5000/", "3", share_key="abc")
    split = urlsplit(url)
    assert split.fragment.startswith("/experiments/3/runs?")
    query = parse_qs(split.fragment.split("?", 1)[1])
    assert query == {"workflowType": ["machine_learning"], "viewStateShareKey": ["abc"]}
    assert run_url("http://h:1", "3", "r1") == "http://h:1/#/experiments/3/runs/r1?workflowType=machine_learning"


def test_the_ui_app_remembers_the_model_training_view_before_the_bundle_runs() -> None:
    from cpt_search.tracking.ui_app import DEFAULT_VIEW_SCRIPT, WORKFLOW_STORAGE_KEY, with_default_view

    page = '<!doctype html><html><head><meta charset="utf-8"><script src="/static/js/main.js"></script></head></html>'
    served = with_default_view(page)
    assert served.index(DEFAULT_VIEW_SCRIPT) < served.index("main.js")  # before the UI reads the key
    assert served.replace(DEFAULT_VIEW_SCRIPT, "") == page  # nothing else changes
    # Only when the browser has no choice yet: a view the user picked is never overwritten.
    assert f"getItem('{WORKFLOW_STORAGE_KEY}')===null" in DEFAULT_VIEW_SCRIPT
    assert '"machine_learning"' in DEFAULT_VIEW_SCRIPT


def test_the_ui_runs_mlflows_own_app_through_the_cpt_search_plugin() -> None:
    from importlib.metadata import entry_points

    from cpt_search.cli.search_cmd import ui_command

    command = ui_command("sqlite:///x.db", 5001)
    assert command[command.index("--app-name") + 1] == "cpt-search"
    plugins = {e.name: e.value for e in entry_points(group="mlflow.app")}
    assert plugins["cpt-search"] == "cpt_search.tracking.ui_app:create_app"
    import mlflow.server

    # The index page MLflow serves is the one the plugin rewrites (a rename in MLflow would break it).
    assert "serve" in mlflow.server.app.view_functions
