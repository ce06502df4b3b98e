"""The search's parent-run description: the front as a Markdown table a reader sees first (pure).

MLflow shows a run's ``mlflow.note.content`` tag as its description, rendered as Markdown, at the top
of the run page. The parent run of a search carries :func:`front_markdown` there: the objective (named
once), the front with the values it was chosen on (seed-confirmed ones once a confirmation ran:
seeds, mean, std, 95 % interval, P(front)), the test metric beside them, the cost, and what the
schedule labels mean, so the page reads without opening a file.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from cpt_search.records.confirmed import SearchFront

NOTE_TAG = "mlflow.note.content"
MAX_NOTE_CHARS = 8000  # MLflow's limit on a run tag's value (mlflow.utils.validation.MAX_TAG_VAL_LENGTH)


def front_markdown(front: SearchFront, *, search: str, test_metric_name: str | None = None,
                   run_names: Mapping[int, str] | None = None) -> str:
    """The description of search ``search``'s parent run.

    Args:
        front: the front (one-seed, or seed-confirmed when ``front.confirmed`` is set).
        test_metric_name: the task's test metric, shown beside the objective (``None``: none).
        run_names: trial number -> child run name (default: ``NNN label``, the recorder's run name).
    """
    metric = front.metric_name
    direction = "maximise" if front.higher_is_better else "minimise"
    confirmed = front.confirmed is not None
    kind = "Seed-confirmed Pareto front" if confirmed else "Pareto front"
    # The table comes first: the run page shows the top of a long description and folds the rest.
    lines = [f"**{kind}** of `{search}`, cheapest first (the objective is below the table).", ""]
    objective = (f"**Objective**: {direction} `{metric}` (the task's validation metric) and minimise the "
                 "training bit operations (`bitops`; `relative_cost` is the same cost as a fraction of "
                 "FP32 training).")
    if test_metric_name:
        objective += f" `{test_metric_name}` is reported beside it and never used to select."
    objective += (f" {len(front.members)} schedule(s) on the front, hypervolume {front.hypervolume:.4f} "
                  f"(reference: {metric} {front.reference[0]:g}, cost {front.reference[1]:g} = FP32); the "
                  "runs tagged `pareto_front = \"true\"` are these rows.")
    head = ["run (trial, schedule)", metric]  # the child run's name, as the runs table lists it
    if confirmed:
        head += ["seeds", "mean ± std", "95 % interval", "P(front)"]
    if test_metric_name:
        head.append(test_metric_name)
    head += ["relative_cost", "GBitOPs"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    names = run_names or {}
    rows = []
    for c in front.members:
        extra = c.extra
        run = names.get(c.trial) or f"{c.trial:03d} {c.label}"
        cells = [_cell(run + (" *" if c.baseline else "")), _num(c.metric)]
        if confirmed:
            std = extra.get("std")
            interval = ("-" if extra.get("ci_low") is None
                        else f"{_num(extra['ci_low'])} – {_num(extra['ci_high'])}")
            cells += [str(extra.get("n_seeds", 1)),
                    _num(extra.get("mean")) + ("" if std is None else f" ± {_num(std)}"),
                    interval, _num(extra.get("p_front"), 2)]
        if test_metric_name:
            cells.append(_num(extra.get("test_metric")))
        cells += [_num(c.relative_cost), _num(c.bitops / 1e9, 3)]
        rows.append("| " + " | ".join(cells) + " |")
    if not rows:
        rows.append("| " + " | ".join("-" for _ in head) + " |")
    after = ["", objective, ""]
    if any(c.baseline for c in front.members):
        after += ["\\* an enqueued paper preset or static baseline, trained like any other trial.", ""]
    if confirmed:
        settings = front.settings
        seeds = ", ".join(str(s) for s in settings.seeds) if settings is not None else "?"
        after += [f"Confirmed on seeds {seeds} after the search (docs/confirmation.md): `{metric}` is the "
                  "mean over seeds with the seed effects removed (what the front ranks by; the run's "
                  f"metric `{metric}_confirmed`), mean ± std and the 95 % Student t interval are over "
                  "every seed trained, P(front) is the paired-bootstrap probability of being "
                  f"non-dominated. A child run's own `{metric}` is its search-seed value.", ""]
    after.append(LABELS_HELP)
    # A tag holds at most MAX_NOTE_CHARS: a very long front keeps its cheapest rows and says so.
    fixed = len("\n".join(lines + after)) + 200
    kept: list[str] = []
    for line in rows:
        if fixed + sum(len(r) + 1 for r in kept) + len(line) + 1 > MAX_NOTE_CHARS:
            break
        kept.append(line)
    if len(kept) < len(rows):
        kept.append(f"| … {len(rows) - len(kept)} more in pareto_front.csv |" + " |" * (len(head) - 1))
    return "\n".join(lines + kept + after)


LABELS_HELP = (
    "**Schedule labels** (docs/method.md §1): `NAME MIN-MAX/GRAD n=CYCLES` — forward bits (weights and "
    "activations) cycle between MIN and MAX bits CYCLES times over training; GRAD is the gradient bits "
    "(one number when fixed, `LOW-HIGH` when cycled too). NAME is a Better Schedules preset: the first "
    "letter the profile (C cosine, L linear, E exponential, R REX), then R repeated (every cycle rises "
    "from MIN) or T triangular (cycles fall and rise), and for a triangle of an asymmetric profile "
    "H/V, the decay mirrored horizontally or vertically; `CR` is CPT's original schedule. "
    "A sampled shape outside the presets reads `profile-form`. `static B/G` trains at B forward and G "
    "gradient bits throughout, `FP32` in full precision; `+warmup F@B` spends the first fraction F of "
    "training at B bits, `+cooldown F@B` the last.")


def _cell(text: str) -> str:
    """Table cell text: a pipe would end the cell."""
    return text.replace("|", "\\|")


def _num(value: Any, digits: int = 4) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"
