"""The MLflow adapter: :class:`~cpt_search.tracking.recorder.MlflowRecorder`, one observer of a search
(:mod:`cpt_search.observers`), and the pictures it logs (:mod:`~cpt_search.tracking.plots`).

It imports nothing of the Optuna/Ray adapters (:mod:`cpt_search.search`); an import contract checks it.
"""
