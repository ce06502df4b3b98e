"""Reproducing the papers' analyses on a user's task: job lists, statistics, reports.

| module | what |
|---|---|
| :mod:`~cpt_search.analysis.jobs` | the fixed job lists (presets + baselines; impairment windows) and outcomes |
| :mod:`~cpt_search.analysis.stats` | mean/std over seeds, Welch's and paired tests, Spearman's rho |
| :mod:`~cpt_search.analysis.reproduce` | the ten-schedule table and the cost-metric correlation |
| :mod:`~cpt_search.analysis.critical` | critical learning periods: early vs late windows |
| :mod:`~cpt_search.analysis.range_test` | CPT's precision range test: scoring stages, the bit picker |
| :mod:`~cpt_search.analysis.tables` | Markdown and CSV tables |
| :mod:`~cpt_search.analysis.plots` | matplotlib pictures of the reports |
| :mod:`~cpt_search.analysis.report_files` | the report's Markdown, CSV, JSON and PNG files |
| :mod:`~cpt_search.analysis.range_run` | the range test: a staircase hook on one training (torch) |

Running the job lists is the orchestrator's (:mod:`cpt_search.orchestrate.analysis`: the same
searcher, trainable and recorder as a search). All but ``range_run`` are pure (numpy, scipy, and
matplotlib for the plots); importing this package imports none of torch, Ray or MLflow.
"""
