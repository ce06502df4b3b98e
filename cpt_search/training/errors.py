"""Errors a trial raises besides the project's user errors."""

from __future__ import annotations

from cpt_search.errors import CptSearchError


class TrialDiverged(CptSearchError):
    """The training loss became NaN or infinite; ``value`` (and :attr:`step`) is the step.

    A search records such a trial as failed rather than crashing.
    """

    @property
    def step(self) -> int:
        """The 0-based optimizer step whose loss was not finite."""
        return int(self.value)
