"""Seed-confirmed Pareto fronts: retrain the front of a one-seed search on more seeds (pure core).

A search trains each schedule on one seed, so its front is partly luck. After the search, the engine
builds one :class:`RaceCandidate` per finished schedule (its exact cost and ``{seed: metric}``) and calls
:func:`race` between rounds of trainings::

    settings = ConfirmSettings(seeds=(1, 2, 3, 4), max_trainings=40)
    state = race(candidates, settings, higher_is_better=True)
    while not state.finished:
        for candidate_id, seed in state.next_round():
            ...  # train it, add the value to that candidate's values
        state = race(candidates, settings, higher_is_better=True)
    front = state.front()          # confirmed members, hypervolume, one row per candidate

The rule (which candidates race, when one is ``on`` or ``off`` the front) is documented in
:mod:`cpt_search.confirm.racing`; the statistics in :mod:`cpt_search.confirm.stats`. numpy and scipy
only, so it is tested without training anything.
"""

from cpt_search.confirm.front import ConfirmedFront, confirmed_front
from cpt_search.confirm.racing import OFF, ON, UNDECIDED, CandidateRecord, CandidateStats, RaceState, race
from cpt_search.confirm.settings import ConfirmSettings, RaceCandidate

__all__ = [
                                       "OFF",
                                       "ON",
                                       "UNDECIDED",
                                       "CandidateRecord",
                                       "CandidateStats",
                                       "ConfirmSettings",
                                       "ConfirmedFront",
                                       "RaceCandidate",
                                       "RaceState",
                                       "confirmed_front",
                                       "race",
]
