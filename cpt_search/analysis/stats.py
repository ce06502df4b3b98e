"""Statistics of the analyses: mean/std over seeds, differences with a significance mark, Spearman.

Pure (numpy and scipy.stats), so the numbers in the tables are tested without training anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

# Welch's t-test threshold of the significance mark.
ALPHA = 0.05


@dataclass(frozen=True)
class SeedStats:
    """Mean, sample standard deviation (ddof = 1) and count of one quantity over seeds.

    ``std`` is ``None`` with fewer than two values (undefined, not zero); ``mean`` is ``None``
    with none.
    """

    mean: float | None
    std: float | None
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "SeedStats":
        """Stats of the finite ``values`` (non-finite ones are dropped)."""
        array = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
        if array.size == 0:
            return cls(None, None, 0)
        std = float(array.std(ddof=1)) if array.size >= 2 else None
        return cls(float(array.mean()), std, int(array.size))


@dataclass(frozen=True)
class Difference:
    """``a - b`` of two seed samples with the evidence that it is real.

    Attributes:
        delta: ``mean(a) - mean(b)``.
        intervals_overlap: whether ``mean ± std`` of the two samples overlap (``None`` when a std
            is undefined).
        welch_p: two-sided Welch t-test p-value (``None`` with fewer than two values on a side or
            zero variance on both).
        mark: ``"*"`` when ``welch_p < 0.05``, else ``""``.
    """

    delta: float | None
    intervals_overlap: bool | None
    welch_p: float | None

    @property
    def mark(self) -> str:
        """``"*"`` for a significant difference (Welch p < 0.05)."""
        return "*" if self.welch_p is not None and self.welch_p < ALPHA else ""


def difference(a: Sequence[float], b: Sequence[float]) -> Difference:
    """Difference of the means of two seed samples, with interval overlap and Welch's test."""
    sa, sb = SeedStats.of(a), SeedStats.of(b)
    if sa.mean is None or sb.mean is None:
        return Difference(None, None, None)
    delta = sa.mean - sb.mean
    overlap = None
    if sa.std is not None and sb.std is not None:
        overlap = (sa.mean - sa.std) <= (sb.mean + sb.std) and (sb.mean - sb.std) <= (sa.mean + sa.std)
    p = None
    if sa.n >= 2 and sb.n >= 2 and (sa.std or 0) + (sb.std or 0) > 0:
        from scipy.stats import ttest_ind

        xa = [v for v in a if v is not None and math.isfinite(v)]
        xb = [v for v in b if v is not None and math.isfinite(v)]
        p = float(ttest_ind(xa, xb, equal_var=False).pvalue)
    return Difference(delta, overlap, p)


@dataclass(frozen=True)
class Correlation:
    """Spearman's rank correlation ``rho`` with its two-sided ``p`` over ``n`` points."""

    rho: float | None
    p: float | None
    n: int

    def to_dict(self) -> dict[str, float | None]:
        """``{"rho": .., "p": .., "n": ..}`` (``None`` where undefined), JSON-safe."""
        return {"rho": self.rho, "p": self.p, "n": self.n}


def spearman(x: Sequence[float], y: Sequence[float]) -> Correlation:
    """``scipy.stats.spearmanr(x, y)`` over the pairs where both are finite.

    Undefined (``None``) with fewer than three pairs or a constant side.
    """
    pairs = [(float(a), float(b)) for a, b in zip(x, y)
             if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)]
    if len(pairs) < 3:
        return Correlation(None, None, len(pairs))
    xs, ys = zip(*pairs)
    if len(set(xs)) == 1 or len(set(ys)) == 1:
        return Correlation(None, None, len(pairs))
    from scipy.stats import spearmanr

    result = spearmanr(xs, ys)
    return Correlation(float(result.statistic), float(result.pvalue), len(pairs))
