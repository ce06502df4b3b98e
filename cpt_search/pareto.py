"""Pareto math for two objectives (pure: numpy only).

Every function takes an ``(n, 2)`` array of objective values and the Optuna-style ``directions`` of
its columns (``"maximize"`` or ``"minimize"``; a search uses ``(metric direction, "minimize")`` for
``(metric, bitops)``). Internally each column is turned into a quantity to minimise by negating the
maximised ones, so there is one implementation of dominance.

Conventions (the tests pin them down):

* ``a`` dominates ``b`` when ``a`` is no worse in every objective and strictly better in one; equal
  points do not dominate each other, so duplicates share the front.
* Rows with a non-finite value (a failed or diverged trial that slipped through) are never on the
  front, dominate nothing, get the last rank and add no hypervolume.
* The hypervolume counts only points strictly better than the reference point in both objectives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cpt_search.errors import ConfigError

DIRECTIONS = ("maximize", "minimize")


@dataclass(frozen=True)
class FrontPoint:
    """One point of a set of objective values, with its place in the non-dominated sorting.

    Attributes:
        index: row of the point in the array it came from.
        values: its ``(objective 0, objective 1)`` values, e.g. ``(metric, bitops)``.
        rank: non-domination rank (0 = on the Pareto front).
        label: an optional name (a schedule label).
    """

    index: int
    values: tuple[float, float]
    rank: int
    label: str | None = None

    @property
    def on_front(self) -> bool:
        """Whether the point is non-dominated."""
        return self.rank == 0


def pareto_mask(values: np.ndarray, directions: Sequence[str] = ("maximize", "minimize")) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values``."""
    loss = _as_loss(values, directions)
    finite = np.isfinite(loss).all(axis=1)
    mask = finite.copy()
    for i in np.flatnonzero(finite):
        others = loss[finite]
        no_worse = (others <= loss[i]).all(axis=1)
        better = (others < loss[i]).any(axis=1)
        if (no_worse & better).any():
            mask[i] = False
    return mask


def pareto_ranks(values: np.ndarray, directions: Sequence[str] = ("maximize", "minimize")) -> np.ndarray:
    """Non-domination rank of every row (0 = front, 1 = front once the front is removed, ...).

    Plain non-dominated sorting (peel the front, repeat); rows with a non-finite value get the rank
    after the last finite one.
    """
    loss = _as_loss(values, directions)
    ranks = np.full(len(loss), -1, dtype=np.int64)
    remaining = np.isfinite(loss).all(axis=1)
    rank = 0
    while remaining.any():
        indices = np.flatnonzero(remaining)
        front = pareto_mask(loss[indices], ("minimize", "minimize"))
        ranks[indices[front]] = rank
        remaining[indices[front]] = False
        rank += 1
    ranks[ranks < 0] = rank
    return ranks


def hypervolume_2d(values: np.ndarray, reference: Sequence[float],
                   directions: Sequence[str] = ("maximize", "minimize")) -> float:
    """Exact area dominated by ``values`` and bounded by the ``reference`` point.

    Sweep in the first objective over the points that strictly beat the reference in both
    objectives; each front point adds the rectangle between it, the previous step and the reference.
    """
    loss = _as_loss(values, directions)
    ref = _as_loss(np.asarray(reference, dtype=np.float64).reshape(1, 2), directions)[0]
    if not np.isfinite(ref).all():
        raise ConfigError("the hypervolume reference point must be finite", key="reference",
                          value=tuple(float(r) for r in reference), fix="pass two finite numbers")
    inside = np.isfinite(loss).all(axis=1) & (loss < ref).all(axis=1)
    points = loss[inside]
    if len(points) == 0:
        return 0.0
    points = points[np.lexsort((points[:, 1], points[:, 0]))]  # by objective 0, then 1
    volume = 0.0
    previous_y = ref[1]
    for x, y in points:
        if y < previous_y:
            volume += (ref[0] - x) * (previous_y - y)
            previous_y = y
    return float(volume)


def knee_index(values: np.ndarray, directions: Sequence[str] = ("maximize", "minimize")) -> int:
    """Row of the knee of the front: the best balance of the two objectives.

    Definition: normalise both objectives over the front to ``[0, 1]`` (0 = best), draw the line
    through the two extreme points of the front, and take the front point farthest from that line on
    the side of the ideal point ``(0, 0)`` (signed distance; on a concave front the least-bad point).
    Ties, and fronts of one or two points, go to the point with the better first objective (the
    metric), since a knee is asked for when the metric matters.
    """
    loss = _as_loss(values, directions)
    front = np.flatnonzero(pareto_mask(loss, ("minimize", "minimize")))
    if len(front) == 0:
        raise ConfigError("a knee needs at least one finite point", key="values",
                          value=f"{len(loss)} rows", fix="pass finished trials with finite values")
    points = loss[front]
    low, high = points.min(axis=0), points.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    norm = (points - low) / span
    # Extremes: best objective 0 (ties: best objective 1), and best objective 1 (ties: best 0).
    a = norm[np.lexsort((norm[:, 1], norm[:, 0]))[0]]
    b = norm[np.lexsort((norm[:, 0], norm[:, 1]))[0]]
    direction = b - a
    length = float(np.hypot(*direction))
    if length == 0.0:
        signed = np.zeros(len(points))
    else:
        # Cross product sign: positive on the side of the ideal point (0, 0) for a front running
        # from (0, 1) to (1, 0).
        signed = (direction[0] * (norm[:, 1] - a[1]) - direction[1] * (norm[:, 0] - a[0])) / length
        signed = -signed
    best = np.max(signed)
    tied = np.flatnonzero(np.isclose(signed, best, rtol=0.0, atol=1e-12))
    winner = tied[np.lexsort((points[tied, 1], points[tied, 0]))[0]]
    return int(front[winner])


def reference_point(values: np.ndarray, directions: Sequence[str] = ("maximize", "minimize"), *,
                    worst: Sequence[float | None] = (None, None),
                    margin_frac: float = 0.1) -> tuple[float, float]:
    """A hypervolume reference point ``(objective 0, objective 1)``.

    Each objective uses its ``worst`` value when given: a stable choice that does not move as trials
    arrive, e.g. ``worst=(0.0, fp32_bitops)`` for accuracy (worst possible) and BitOPs (the budget's
    full-precision cost). An objective without a given worst falls back to the nadir of the finite
    values (their worst), pushed outwards by ``margin_frac`` of their range (or of the nadir's
    magnitude, or 1, when the range is zero) so that the extreme points still add volume.
    """
    loss = _as_loss(values, directions)
    signs = _signs(directions)
    finite = loss[np.isfinite(loss).all(axis=1)]
    reference: list[float] = []
    for column in range(2):
        given = worst[column]
        if given is not None:
            reference.append(float(given))
            continue
        if len(finite) == 0:
            raise ConfigError("a reference point needs finite values or a given worst value",
                              key=f"worst[{column}]", value=None,
                              fix="pass worst=(metric_worst, bitops_worst) or finished trials")
        nadir, ideal = finite[:, column].max(), finite[:, column].min()
        spread = nadir - ideal or abs(nadir) or 1.0
        reference.append(float((nadir + margin_frac * spread) * signs[column]))
    return reference[0], reference[1]


def front_points(values: np.ndarray, directions: Sequence[str] = ("maximize", "minimize"),
                 labels: Sequence[str] | None = None) -> list[FrontPoint]:
    """The non-dominated points as :class:`FrontPoint` records, sorted by the first objective's
    best value first (for tables and exports)."""
    loss = _as_loss(values, directions)
    ranks = pareto_ranks(loss, ("minimize", "minimize"))
    raw = np.asarray(values, dtype=np.float64).reshape(-1, 2)
    order = [i for i in np.lexsort((loss[:, 1], loss[:, 0])) if ranks[i] == 0]
    return [FrontPoint(index=int(i), values=(float(raw[i, 0]), float(raw[i, 1])), rank=0,
                       label=None if labels is None else labels[i]) for i in order]


def _signs(directions: Sequence[str]) -> np.ndarray:
    if len(directions) != 2 or any(d not in DIRECTIONS for d in directions):
        raise ConfigError("directions must be two of 'maximize'/'minimize'", key="directions",
                          value=tuple(directions), fix="pass e.g. ('maximize', 'minimize')")
    return np.array([-1.0 if d == "maximize" else 1.0 for d in directions])


def _as_loss(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """``values`` as an ``(n, 2)`` float array of quantities to minimise."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        array = array.reshape(0, 2)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ConfigError("objective values must be an (n, 2) array", key="values",
                          value=f"shape {array.shape}", fix="pass one (metric, bitops) row per trial")
    return array * _signs(directions)
