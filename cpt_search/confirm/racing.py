"""The seed-confirmation race: which schedules of a one-seed front hold up on more seeds (pure).

A search trains each schedule once, so its front is partly luck: the members are the schedules whose
one seed happened to go well. Confirmation retrains the front, and every schedule that could plausibly
be on it, on further seeds until each is clearly on or off the front or the training budget runs out.

The rule implemented: a **multi-objective race with paired one-sided t-tests over seeds**.

* *Racing* (Maron & Moore 1994; F-Race, Birattari et al., GECCO 2002): candidates are evaluated
  round by round on the same sequence of blocks, and a candidate stops as soon as the evidence
  against it is significant; the survivors share the remaining budget. As in F-Race the blocks are
  paired (here seeds: the same seeds for every candidate, so the noise common to a seed, such as the
  shared data order, cancels), and no test is made before ``min_seeds`` common blocks.
* *Intensification* (SMAC, Hutter et al., LION 2011, and SMAC3's ``Intensifier``): a challenger is
  only ever compared with an incumbent on the instance-seed pairs both have run, and the incumbents
  keep getting new runs while challengers are judged. Here the incumbents are the candidates already
  decided ``on``: one keeps receiving seeds while a more expensive candidate still needs to be told
  apart from it.
* *Multi-objective racing* (S-Race, Zhang, Georgiopoulos & Anagnostopoulos, GECCO 2013; MO-irace,
  Lopez-Ibanez et al.): elimination by Pareto dominance established pairwise, rather than by a single
  best. Because the training cost is exact, ``j`` dominates ``i`` exactly when ``j`` costs no more and
  has the better metric, so dominance needs a test of one noisy quantity only. That test is a paired
  t-test rather than S-Race's sign test or F-Race's Friedman ranks: on 3-4 seeds a sign or signed-rank
  test cannot reach 5 % at all (its smallest one-sided p on 4 pairs is 1/16), on 5 only when every
  pair agrees, whereas the metric is a continuous quality whose paired differences the t-test uses in
  full (irace offers the same paired t-test, ``testType = "t-test"``, beside the F-test).

Per round, from the values alone (so the state rebuilt after a crash is the same):

1. ``off`` (dominated): some candidate that costs no more is better with one-sided paired
   significance (``p < alpha``) over at least ``min_seeds`` common seeds.
2. The front of the seed-adjusted means (:func:`cpt_search.confirm.stats.seed_effects`) among the
   rest races; so does any candidate within ``plausible_stds`` noise standard deviations below that
   front at its own cost. The others are ``off`` as implausible, and come back if the front falls.
   Until the noise can be estimated (everyone on one seed, no ``noise_std``) only the front races:
   its first round measures the noise; the rest wait, ``undecided``.
3. ``on``: a racing candidate significantly better than every candidate not ``off`` that costs no
   more (the cheapest one is ``on`` at once: nothing can dominate it; it is still trained up to
   ``min_seeds`` seeds so that the metric reported for it is not that of one lucky seed).
4. Everyone else is ``undecided``. The next round gives every racing candidate, and each ``on``
   candidate still needed as a reference or below ``min_seeds``, its own first missing confirm seed
   (the seeds are handed out in the same order to all, so pairs stay paired); the incumbents (the
   front of the means and those ``on`` members) come first, then the challengers closest to the
   front; never a pair already trained, never more pairs than the budget left.

Two candidates of equal cost cannot both be eliminated by each other (the two one-sided tests on the
same seeds cannot both be significant), and dominance through a chain of cheaper candidates is
transitive, so an ``off`` candidate always has a surviving dominator. Tests are repeated every round
without a multiplicity correction, as in F-Race and irace's plain t-test; on synthetic fronts
(:mod:`cpt_search.confirm.simulate`, ``docs/confirmation.md``) that declares about 5-7 % of the truly
non-dominated schedules ``off`` at ``alpha = 0.05`` (5 % with 60 extra trainings for 30 schedules;
about 2 % at 0.01, for the same front recovery).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cpt_search.confirm.settings import ConfirmSettings, RaceCandidate
from cpt_search.confirm.stats import (
    PairedComparisons,
    SeedEffects,
    SeedTable,
    dominated_rows,
    noise_scale,
    paired_comparisons,
    seed_effects,
    summarize_table,
)
from cpt_search.errors import ConfigError

if TYPE_CHECKING:
    from cpt_search.confirm.front import ConfirmedFront

logger = logging.getLogger(__name__)

ON, OFF, UNDECIDED = "on", "off", "undecided"
STATUSES = (ON, OFF, UNDECIDED)


@dataclass(frozen=True)
class CandidateStats:
    """A candidate's per-seed statistics (the front table's columns).

    Attributes:
        n_seeds: seeds trained.
        mean: plain mean over them.
        std: sample std (ddof = 1); ``None`` with one seed.
        ci_low, ci_high: 95 % Student-t interval of the mean; ``None`` with one seed.
        adjusted_mean: the mean with the seed effects removed (equal to ``mean`` for a candidate trained
            on every seed anyone was trained on); the race and the confirmed front rank by it.
        p_front: paired-bootstrap probability of being non-dominated among all candidates, filled in by
            :func:`cpt_search.confirm.front.confirmed_front`; ``None`` before that and with one seed
            (nothing to resample: the bootstrap would say 0 or 1 with no evidence behind it).
    """

    n_seeds: int
    mean: float
    std: float | None
    ci_low: float | None
    ci_high: float | None
    adjusted_mean: float
    p_front: float | None = None


@dataclass(frozen=True)
class CandidateRecord:
    """Where one candidate stands after a round; also a row of the confirmed front's table.

    Attributes:
        id: the candidate's id.
        cost: its exact cost.
        status: ``"on"``, ``"off"`` or ``"undecided"``.
        why: one line saying what decided the status (or what it still waits for).
        stats: its statistics.
        racing: whether it is in the race (on the front of the means, or plausibly near it).
        on_front: whether it is on the confirmed front (``None`` until
            :func:`cpt_search.confirm.front.confirmed_front` decides).
    """

    id: str
    cost: float
    status: str
    why: str
    stats: CandidateStats
    racing: bool
    on_front: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as a flat JSON-safe dict (the statistics beside the verdict; ``None`` where undefined)."""
        flat: dict[str, Any] = {"id": self.id, "cost": self.cost, "status": self.status,
                                "on_front": self.on_front}
        flat.update(dataclasses.asdict(self.stats))
        flat["why"] = self.why
        return flat


@dataclass(frozen=True)
class RaceState:
    """The race after the values given to :func:`race`: one record per candidate and the next round.

    Attributes:
        records: one per candidate, in the order given.
        settings: the settings the race ran with.
        higher_is_better: the metric's direction.
        trainings_spent: values already held on confirm seeds (counted against ``max_trainings``).
        planned: the pairs :meth:`next_round` returns.
        table: every candidate's values as a ``candidates x seeds`` table (rows in ``records`` order).
        effects: the candidate + seed model fitted on ``table`` (adjusted means, seed effects).
    """

    records: tuple[CandidateRecord, ...]
    settings: ConfirmSettings
    higher_is_better: bool
    trainings_spent: int
    planned: tuple[tuple[str, int], ...]
    table: SeedTable = field(repr=False, compare=False)
    effects: SeedEffects = field(repr=False, compare=False)

    @property
    def trainings_left(self) -> int:
        """Trainings the budget still allows."""
        return max(0, self.settings.max_trainings - self.trainings_spent)

    @property
    def finished(self) -> bool:
        """Whether the race is over (everyone decided, the budget spent, or no confirm seed left)."""
        return not self.planned

    def next_round(self) -> tuple[tuple[str, int], ...]:
        """The ``(candidate id, seed)`` pairs to train next; empty when the race is over.

        At most one new seed per candidate per round, its first missing one in ``settings.seeds``;
        never a pair that already has a value; at most ``trainings_left`` pairs (the incumbents first,
        then the challengers closest to the front, when the budget cuts a round short).
        """
        return self.planned

    def record(self, candidate_id: str) -> CandidateRecord:
        """The record of one candidate."""
        for record in self.records:
            if record.id == candidate_id:
                return record
        raise ConfigError("no such candidate in the race", where="confirmation", key="id",
                          value=candidate_id, fix=f"use one of {[r.id for r in self.records][:10]}")

    def by_status(self, status: str) -> tuple[str, ...]:
        """Ids of the candidates with ``status``, cheapest first."""
        if status not in STATUSES:
            raise ConfigError("unknown status", where="confirmation", key="status", value=status,
                              fix=f"use one of {list(STATUSES)}")
        return tuple(r.id for r in sorted(self.records, key=lambda r: r.cost) if r.status == status)

    def front(self, reference: tuple[float, float] | None = None) -> ConfirmedFront:
        """The confirmed front with its hypervolume and rows (:func:`cpt_search.confirm.front.confirmed_front`)."""
        from cpt_search.confirm.front import confirmed_front

        return confirmed_front(self, reference)

    def rows(self) -> tuple[CandidateRecord, ...]:
        """The confirmed front's rows for tables and exports, cheapest first (:meth:`front`)."""
        return self.front().rows


def race(candidates: Iterable[RaceCandidate], settings: ConfirmSettings, higher_is_better: bool) -> RaceState:
    """Decide every candidate's status from the values so far, and plan the next round.

    Pure: call it again with the new values after training the pairs of :meth:`RaceState.next_round`.
    """
    cands = tuple(candidates)
    _check(cands)
    table = SeedTable.of([c.values for c in cands])
    effects = seed_effects(table)
    comparisons = paired_comparisons(table, higher_is_better)
    decision = _decide(cands, settings, higher_is_better, table, effects, comparisons)
    confirm_columns = [k for k, seed in enumerate(table.seeds) if seed in set(settings.seeds)]
    spent = int(table.mask[:, confirm_columns].sum())
    left = max(0, settings.max_trainings - spent)
    pairs = _next_pairs(cands, settings, decision.active, left)
    summaries = summarize_table(table)
    served = {candidate_id for candidate_id, _ in pairs}
    records = tuple(
        CandidateRecord(id=c.id, cost=c.cost, status=decision.status[i],
                        why=_final_why(decision.why[i], decision.status[i], c, decision.racing[i], served, left,
                                       settings),
                        stats=CandidateStats(n_seeds=summaries[i].n_seeds, mean=summaries[i].mean,
                                             std=summaries[i].std, ci_low=summaries[i].ci_low,
                                             ci_high=summaries[i].ci_high,
                                             adjusted_mean=float(effects.adjusted_means[i])),
                        racing=bool(decision.racing[i]))
        for i, c in enumerate(cands))
    logger.debug("race: %d on, %d off, %d undecided, %d pairs next, %d trainings left",
                 *(sum(r.status == s for r in records) for s in STATUSES), len(pairs), left)
    return RaceState(records=records, settings=settings, higher_is_better=higher_is_better,
                     trainings_spent=spent, planned=pairs, table=table, effects=effects)


@dataclass(frozen=True)
class _Decision:
    status: list[str]
    why: list[str]
    racing: np.ndarray
    active: list[int]  # candidates to receive seeds, in priority order


def _decide(cands: Sequence[RaceCandidate], settings: ConfirmSettings, higher_is_better: bool,
            table: SeedTable, effects: SeedEffects, comparisons: PairedComparisons) -> _Decision:
    n_cands = len(cands)
    costs = np.array([c.cost for c in cands])
    n_seeds = table.mask.sum(axis=1)
    alpha = settings.alpha
    # no_dearer[i, j]: j (another candidate) costs no more than i, so j could dominate i.
    no_dearer = costs[None, :] <= costs[:, None]
    np.fill_diagonal(no_dearer, False)
    testable = comparisons.n_common >= settings.min_seeds
    p_better = np.where(testable, comparisons.p_better, np.nan)
    significant = testable & (np.nan_to_num(p_better, nan=1.0) < alpha)  # [i, j]: i significantly beats j

    # 1. Dominated with paired significance.
    beaten_by = no_dearer & significant.T
    off_test = np.asarray(beaten_by.any(axis=1), dtype=bool)

    # 2. The front of the adjusted means among the rest, and who is plausibly near it.
    alive = ~off_test
    sign = 1.0 if higher_is_better else -1.0
    score = sign * effects.adjusted_means
    # Non-dominated among the alive (dominated_rows is pareto_mask batched; the tests hold them equal).
    front = ~dominated_rows(np.where(alive, -score, np.nan)[None, :], costs)[0]
    # The front's value at each candidate's cost: the best front member that costs no more.
    front_at = np.where(front[None, :] & (costs[None, :] <= costs[:, None]), score[None, :], -np.inf).max(axis=1)
    gap = front_at - score  # >= 0 for every candidate alive: its dominators lead to a front member
    scale = noise_scale(effects, n_seeds, settings.min_seeds, settings.noise_std)
    noise_known = np.isfinite(scale)
    margin = settings.plausible_stds * np.where(noise_known, scale, 0.0)
    plausible = alive & ~front & noise_known & (gap <= margin)
    implausible = alive & ~front & noise_known & ~plausible
    racing = front | plausible
    off = off_test | implausible

    # 3. On: better with significance than every candidate not off that costs no more.
    contenders = no_dearer & ~off[None, :]
    on = racing & ~(contenders & ~significant).any(axis=1)

    status, why = [], []
    for i in range(n_cands):
        if off_test[i]:
            j = _argbest(np.where(beaten_by[i], p_better[:, i], np.nan), lowest=True)
            status.append(OFF)
            why.append(f"{cands[j].id} (cost {cands[j].cost:.4g} <= {cands[i].cost:.4g}) is better by "
                       f"{comparisons.gain[j, i]:.4g} on {comparisons.n_common[j, i]} common seeds "
                       f"(one-sided paired t, p={p_better[j, i]:.3g} < {alpha:g})")
        elif implausible[i]:
            status.append(OFF)
            why.append(f"not plausible: {gap[i]:.4g} below the front at its cost ({sign * front_at[i]:.4g}), "
                       f"more than {settings.plausible_stds:g} x noise std {scale[i]:.3g}")
        elif on[i]:
            status.append(ON)
            rivals = np.flatnonzero(contenders[i])
            if len(rivals) == 0:
                why.append("nothing that costs no more is still in contention")
            else:
                worst = float(np.nanmax(p_better[i, rivals]))
                why.append(f"better than all {len(rivals)} contenders that cost no more "
                           f"(one-sided paired t, largest p={worst:.3g} < {alpha:g})")
        else:
            status.append(UNDECIDED)
            if not racing[i]:
                why.append("waiting: the noise is not known yet, so only the front of the means races first")
            else:
                why.append(_blocker_text(i, cands, score, contenders, significant, p_better, comparisons, settings))

    undecided_racing = racing & ~on & ~off
    # SMAC's incumbents keep running while challengers are judged: an `on` candidate that some racing
    # candidate still cannot be told apart from keeps receiving seeds.
    needed = on & (contenders & ~significant & undecided_racing[:, None]).any(axis=0)
    # A member `on` at once (nothing cheaper in contention: the cheapest schedule) would otherwise be
    # reported on its one lucky seed; it is trained up to `min_seeds` so that its mean and interval are
    # measured like everyone else's (the winner's curse is largest for the cheap, noisy schedules).
    needed |= on & (n_seeds < settings.min_seeds)
    wanted = np.flatnonzero(undecided_racing | needed)
    # Incumbents first (the front of the means, and the `on` members still needed), then the
    # challengers closest to the front.
    priority = sorted(wanted, key=lambda i: (not (front[i] or needed[i]), not front[i],
                                             gap[i] / max(margin[i], 1e-300), costs[i], i))
    return _Decision(status=status, why=why, racing=racing, active=[int(i) for i in priority])


def _blocker_text(i: int, cands: Sequence[RaceCandidate], score: np.ndarray, contenders: np.ndarray,
                  significant: np.ndarray, p_better: np.ndarray, comparisons: PairedComparisons,
                  settings: ConfirmSettings) -> str:
    """Why ``i`` is undecided: the most threatening contender it cannot be told apart from yet."""
    blockers = np.flatnonzero(contenders[i] & ~significant[i])
    untested = blockers[np.isnan(p_better[i, blockers])].tolist()
    if untested:
        k = max(untested, key=lambda u: (score[u], -cands[u].cost))
        return (f"needs {settings.min_seeds} common seeds with {cands[k].id} (cost {cands[k].cost:.4g}), "
                f"has {comparisons.n_common[i, k]}")
    j = _argbest(np.where(contenders[i] & ~significant[i], p_better[i], np.nan), lowest=False)
    return (f"not yet better than {cands[j].id} (cost {cands[j].cost:.4g}) with significance: "
            f"p={p_better[i, j]:.3g} on {comparisons.n_common[i, j]} common seeds")


def _final_why(why: str, status: str, cand: RaceCandidate, racing: bool, served: set[str],
               left: int, settings: ConfirmSettings) -> str:
    if status != UNDECIDED or not racing or cand.id in served:
        return why
    if all(seed in cand.values for seed in settings.seeds):
        return f"{why}; every confirm seed trained"
    if left == 0:
        return f"{why}; budget spent"
    return f"{why}; waits for the others to catch up on a seed"


def _argbest(values: np.ndarray, lowest: bool) -> int:
    return int(np.nanargmin(values) if lowest else np.nanargmax(values))


def _next_pairs(cands: Sequence[RaceCandidate], settings: ConfirmSettings, active: list[int],
                left: int) -> tuple[tuple[str, int], ...]:
    """Each active candidate's first missing confirm seed, in priority order (incumbents first), at
    most ``left`` pairs.

    Per candidate rather than one seed for all: the incumbents (the front of the means, and the
    ``on`` members still needed) gain a seed every round while the challengers catch up on the
    same seed sequence, as SMAC's intensifier keeps running its incumbent. With one seed per round
    a flat front (Cora: dozens of schedules within noise) spent the whole budget giving every
    challenger its first seed, and the exported members kept two seeds each. On the synthetic
    problems of :mod:`cpt_search.confirm.simulate` this lowers the knee's error at the same front
    recovery (``docs/confirmation.md``).
    """
    pairs: list[tuple[str, int]] = []
    for i in active:
        if len(pairs) >= left:
            break
        seed = next((s for s in settings.seeds if s not in cands[i].values), None)
        if seed is not None:
            pairs.append((cands[i].id, seed))
    return tuple(pairs)


def _check(cands: Sequence[RaceCandidate]) -> None:
    if not cands:
        raise ConfigError("a race needs at least one candidate", where="confirmation", key="candidates",
                          value=[], fix="pass the search's finished trials")
    seen: set[str] = set()
    for cand in cands:
        if not isinstance(cand, RaceCandidate):
            raise ConfigError("candidates must be RaceCandidate records", where="confirmation",
                              key="candidates", value=type(cand).__name__,
                              fix="wrap each trial as RaceCandidate(id, cost, values)")
        if cand.id in seen:
            raise ConfigError("candidate ids must be unique", where="confirmation", key="id", value=cand.id,
                              fix="use the trial number as the id")
        seen.add(cand.id)
