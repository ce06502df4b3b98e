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
