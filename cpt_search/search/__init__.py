"""The schedule search: a space's dimensions -> Optuna suggestions and samplers, run by Ray Tune.

Modules (imported on demand; this package imports nothing heavy itself):

* :mod:`~cpt_search.search.suggest`: ``suggest_schedule(space, trial)``, the define-by-run function;
  baseline enqueueing; feasibility under the space's cost constraint.
* :mod:`~cpt_search.search.samplers`: ``make_sampler(space)`` and the ``SAMPLERS`` table.
* the runner, trainable, results and front modules: running trials with Ray Tune and keeping the
  Pareto front (:mod:`cpt_search.pareto` holds the math).
"""
