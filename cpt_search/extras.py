"""Which optional extra of the ``cpt-search`` distribution installs which heavy dependency.

``pip install cpt-search`` installs the torch-free core (schedules, presets, costs, search-space
validation, export). Training needs ``[train]`` (torch, torchvision, torch-geometric), searching and
the analyses ``[search]`` (Optuna, Ray Tune, MLflow, and ``[train]``), the trainer integrations
``[lightning]`` and ``[transformers]`` (:mod:`cpt_search.integrations`), ``[all]`` everything. A command
that reaches a missing one stops with one line naming the extra, instead of a traceback:
:func:`missing_dependency` turns the ``ModuleNotFoundError`` into a :class:`MissingDependencyError`.
This table and ``[project.optional-dependencies]`` in ``pyproject.toml`` must agree
(``tests/test_packaging.py`` checks it).
"""

from __future__ import annotations

from cpt_search.errors import MissingDependencyError

# top-level import name -> the extra that installs it
EXTRA_OF_MODULE: dict[str, str] = {
    "torch": "train",
    "torchvision": "train",
    "torch_geometric": "train",
    "sklearn": "train",
    "tqdm": "train",
    "optuna": "search",
    "ray": "search",
    "mlflow": "search",
    "pandas": "search",
    "pyarrow": "search",
    "plotly": "search",
    "lightning": "lightning",
    "transformers": "transformers",
    "psycopg": "services",  # PostgreSQL URLs (postgresql+psycopg://) for MLflow and the Optuna storage
}

# import name -> distribution name, where they differ (for the consistency test and the message)
DISTRIBUTION_OF_MODULE: dict[str, str] = {"torch_geometric": "torch-geometric", "sklearn": "scikit-learn"}


def missing_dependency(error: ModuleNotFoundError) -> MissingDependencyError | None:
    """The one-line error for a missing optional dependency, or ``None`` when ``error`` is another
    missing module (a bug or a user's own import, which keeps its traceback)."""
    root = (error.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(root)
    if extra is None:
        return None
    distribution = DISTRIBUTION_OF_MODULE.get(root, root)
    return MissingDependencyError(f"this command needs {distribution}, which is not installed",
                                  key="module", value=root, fix=f"pip install 'cpt-search[{extra}]'")
