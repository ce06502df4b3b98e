"""The orchestrator: the only code that knows both the search adapters and the observers.

| module | what |
|---|---|
| :mod:`~cpt_search.orchestrate.search` | ``run_search``: the whole of ``cpt-search run`` |
| :mod:`~cpt_search.orchestrate.analysis` | ``run_jobs``: an analysis as a search over a fixed list of trials |
| :mod:`~cpt_search.orchestrate.session` | what both share: the store lock, the study, the observers, the Tuner |

Below it, :mod:`cpt_search.search` holds the Optuna and Ray Tune adapters and
:mod:`cpt_search.tracking` the MLflow recorder; neither imports the other (an import contract checks
it), and both speak in the pure records of :mod:`cpt_search.records` and the hooks of
:mod:`cpt_search.observers`.
"""
