"""Statistics of the analyses: mean/std over seeds, differences with a significance mark, Spearman.

Pure (numpy and scipy.stats), so the numbers in the tables are tested without training anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence, Union

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
        paired_p: two-sided paired t-test p-value over the seeds both samples finished (``None``
            unless both are keyed by seed, with at least two common seeds whose differences vary).
            Trainings with the same seed share initial weights and data order, so seed-to-seed
            spread cancels in the paired differences; it can show effects Welch's test cannot.
        mark: ``"*"`` when ``welch_p < 0.05``, else ``""``.
    """

    delta: float | None
    intervals_overlap: bool | None
    welch_p: float | None
    paired_p: float | None = None

    @property
    def mark(self) -> str:
        """``"*"`` for a significant difference (Welch p < 0.05)."""
        return "*" if self.welch_p is not None and self.welch_p < ALPHA else ""


Sample = Union[Sequence[float], Mapping[int, float]]  # values, or values keyed by seed


def difference(a: Sample, b: Sample) -> Difference:
    """Difference of the means of two seed samples, with interval overlap and Welch's test.

    With both samples given as ``{seed: value}``, the paired test over their common seeds too.
    """
    paired_p = _paired_p(a, b) if isinstance(a, Mapping) and isinstance(b, Mapping) else None
    if isinstance(a, Mapping):
        a = [a[seed] for seed in sorted(a)]
    if isinstance(b, Mapping):
        b = [b[seed] for seed in sorted(b)]
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
    return Difference(delta, overlap, p, paired_p)


def _paired_p(a: Mapping[int, float], b: Mapping[int, float]) -> float | None:
    common = [seed for seed in sorted(set(a) & set(b))
              if a[seed] is not None and b[seed] is not None
              and math.isfinite(a[seed]) and math.isfinite(b[seed])]
    diffs = [a[seed] - b[seed] for seed in common]
    if len(diffs) < 2 or len(set(diffs)) == 1:
        return None  # undefined: too few pairs, or no variance of the differences
    from scipy.stats import ttest_rel

    return float(ttest_rel([a[s] for s in common], [b[s] for s in common]).pvalue)


@dataclass(frozen=True)
class Correlation:
    """Spearman's rank correlation ``rho`` with its two-sided ``p`` over ``n`` points."""

    rho: float | None
    p: float | None
    n: int

    def to_dict(self) -> dict[str, float | None]:
        """``{"rho": .., "p": .., "n": ..}`` (``None`` where undefined), JSON-safe."""
        return {"rho": self.rho, "p": self.p, "n": self.n}


def spearman(x: Sequence[float | None], y: Sequence[float | None]) -> Correlation:
    """``scipy.stats.spearmanr(x, y)`` over the pairs where both are finite.

    Undefined (``None``) with fewer than three pairs or a constant side.
    """
    pairs = [(float(a), float(b)) for a, b in zip(x, y)
             if a is not None and b is not None and math.isfinite(a) and math.isfinite(b)]  # None: no data
    if len(pairs) < 3:
        return Correlation(None, None, len(pairs))
    xs, ys = zip(*pairs)
    if len(set(xs)) == 1 or len(set(ys)) == 1:
        return Correlation(None, None, len(pairs))
    from scipy.stats import spearmanr

    result = spearmanr(xs, ys)
    return Correlation(float(result.statistic), float(result.pvalue), len(pairs))
