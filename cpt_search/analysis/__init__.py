"""Reproducing the papers' analyses on a user's task (issue 5).

| module | what |
|---|---|
| :mod:`~cpt_search.analysis.jobs` | the fixed job lists (presets + baselines; impairment windows) and outcomes |
| :mod:`~cpt_search.analysis.stats` | mean/std over seeds, Welch's and paired tests, Spearman's rho |
| :mod:`~cpt_search.analysis.reproduce` | the ten-schedule table and the cost-metric correlation |
| :mod:`~cpt_search.analysis.critical` | critical learning periods: early vs late windows |
| :mod:`~cpt_search.analysis.range_test` | CPT's precision range test: scoring stages, the bit picker |
| :mod:`~cpt_search.analysis.tables` | Markdown and CSV tables |
| :mod:`~cpt_search.analysis.plots` | matplotlib pictures of the reports |
| :mod:`~cpt_search.analysis.range_run` | training the range test's staircase (torch) |
| :mod:`~cpt_search.analysis.execute` | Ray Tune over a job list (orchestration) |
| :mod:`~cpt_search.analysis.recording` | MLflow runs of an analysis (orchestration) |

The first six are pure (numpy, scipy); importing this package imports none of torch, Ray or MLflow.
"""
