"""A link that opens a search's front in the MLflow UI: the front's runs, flat, with metric and cost.

Verified against MLflow 3.17.2's UI bundle (``mlflow/server/js/build``) and in headless Chromium
(tests/tracking/test_ui_browser.py):

* **the view**: the UI picks the GenAI or the model-training layout from the ``workflowType`` URL
  parameter, else from the browser's remembered choice (default GenAI); the experiment tag
  ``mlflow.experimentKind`` is only read when a feature flag is off, and it is on in 3.17.2. So every
  link carries ``workflowType=machine_learning``; the tag is still set for other MLflow versions.
* **the runs**: a shared view state (experiment tag ``mlflow.sharedViewState.KEY``, JSON, opened by
  ``?viewStateShareKey=KEY`` as the UI's own *Share* button does) sets the search filter
  ``tags.pareto_front = "true"``, the order and the columns. The table nests child runs under their
  parent, collapsed, unless it is sorted by something other than the start time; sorting by
  ``bitops`` (cheapest first) lists the front members flat, as rows that can be selected and compared.

The view is a pure value here; :class:`~cpt_search.tracking.recorder.MlflowRecorder` writes its tag.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Sequence
from urllib.parse import urlencode

SHARED_VIEW_TAG_PREFIX = "mlflow.sharedViewState."  # the UI's own prefix (its "Share" button)
FRONT_VIEW_TAG = "cpt_search.front_view"  # experiment tag: the share key of the front view
FRONT_FILTER = 'tags.pareto_front = "true"'
MACHINE_LEARNING = "machine_learning"  # the UI's workflowType of the model-training view


@dataclass(frozen=True)
class FrontView:
    """The runs-table view of a search's front.

    Attributes:
        metric_columns: metric columns, in order (objective, its confirmed values, test metric, costs).
        tag_columns: tag columns (the schedule label).
    """

    metric_columns: tuple[str, ...]
    tag_columns: tuple[str, ...] = ("label",)

    def state(self) -> dict:
        """The shared view state the UI loads from the tag (it fills in its defaults for the rest)."""
        columns = [f"metrics.`{name}`" for name in self.metric_columns]
        columns += [f"tags.`{name}`" for name in self.tag_columns]
        # columnOrder too: without it the table orders metric columns by name, which pushed the
        # objective past the right edge behind bitops, n_seeds, p_front, ... (seen in Chromium).
        return {"searchFilter": FRONT_FILTER, "orderByKey": "metrics.`bitops`", "orderByAsc": True,
                "selectedColumns": columns, "columnOrder": columns}

    def value(self) -> str:
        """The tag value: the state as JSON (the UI also accepts its compressed form)."""
        return json.dumps(self.state(), sort_keys=True, separators=(",", ":"))

    def key(self) -> str:
        """The share key: a digest of the value, so a changed view gets a new key and old links stay."""
        return hashlib.sha256(self.value().encode("utf-8")).hexdigest()[:32]


def front_view(metric_name: str, test_metric_name: str | None = None, *, confirmed: bool = False) -> FrontView:
    """The front view of a search on ``metric_name``: the objective (confirmed: its confirmed value,
    P(front), seeds and interval) and ``relative_cost`` first, then the test metric and ``bitops``."""
    # The metric and the cost first: the runs table shows about six metric columns without scrolling.
    if confirmed:
        columns = [f"{metric_name}_confirmed", "relative_cost", "p_front", "n_seeds", f"{metric_name}_ci_low",
                   f"{metric_name}_ci_high"]
    else:
        columns = [metric_name, "relative_cost"]
    if test_metric_name:
        columns.append(test_metric_name)
    columns.append("bitops")
    if confirmed:
        columns.append(metric_name)  # the search-seed value, for comparison
    return FrontView(tuple(columns))


def experiment_url(base_url: str, experiment_id: str, *, share_key: str | None = None) -> str:
    """The runs page of an experiment in the model-training view; with ``share_key``, that view."""
    query = {"workflowType": MACHINE_LEARNING}
    if share_key:
        query["viewStateShareKey"] = share_key
    return f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/runs?{urlencode(query)}"


def run_url(base_url: str, experiment_id: str, run_id: str) -> str:
    """A run's page (its description, metrics and artifacts) in the model-training view."""
    return (f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?"
            f"{urlencode({'workflowType': MACHINE_LEARNING})}")


def share_tags(view: FrontView) -> dict[str, str]:
    """The experiment tags that publish ``view``: the UI's shared state and cpt_search's pointer to it."""
    return {f"{SHARED_VIEW_TAG_PREFIX}{view.key()}": view.value(), FRONT_VIEW_TAG: view.key()}


def column_names(view: FrontView) -> Sequence[str]:
    """The column headers the runs table shows for ``view`` (metric and tag names)."""
    return (*view.metric_columns, *view.tag_columns)
