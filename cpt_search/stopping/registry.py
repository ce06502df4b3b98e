"""The registry of stopping rules a space's ``scheduler:`` section may name (pure).

Each entry pairs a rule with the strict pydantic model of its options, so a space file's
``scheduler: {name: staircase, rungs: [0.25, 0.5]}`` is validated (unknown keys, wrong types,
bounds) before anything runs, and an unknown name suggests the closest known one
(:class:`~cpt_search.registry.Registry`). ``fifo`` (every trial trains to the end) is the default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pydantic import BaseModel, ConfigDict

from cpt_search.registry import Registry
from cpt_search.stopping.rule import StoppingRule
from cpt_search.stopping.staircase import StaircaseOptions, StaircaseRule

DEFAULT_RULE = "fifo"


class NoOptions(BaseModel):
    """A rule without options: any key besides ``name`` is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


@dataclass(frozen=True)
class StoppingEntry:
    """One stopping rule a space may name.

    Attributes:
        name: the ``scheduler.name`` value.
        options: the strict model of its other ``scheduler:`` keys.
        build: ``build(options, higher_is_better)``: a fresh rule for one search session.
        summary: one line for help texts.
    """

    name: str
    options: type[BaseModel]
    build: Callable[[BaseModel, bool], StoppingRule]
    summary: str


def register_stopping_rule(entry: StoppingEntry) -> StoppingEntry:
    """Add a rule to :data:`STOPPING_RULES` (its name must be new); returns it."""
    return STOPPING_RULES.register(entry.name, entry)


STOPPING_RULES: Registry[StoppingEntry] = Registry("stopping rule")


def _staircase(options: BaseModel, higher_is_better: bool) -> StoppingRule:
    assert isinstance(options, StaircaseOptions), options
    return StaircaseRule(options, higher_is_better=higher_is_better)


for _entry in (
    StoppingEntry("fifo", NoOptions, lambda options, higher_is_better: StoppingRule(),
                  "every trial trains to the end (default)"),
    StoppingEntry("staircase", StaircaseOptions, _staircase,
                  "stop a trial at a rung when trials that cost no more surely beat it (exact cost)"),
):
    register_stopping_rule(_entry)


@dataclass(frozen=True)
class StoppingSpec:
    """A space's resolved ``scheduler:`` section: the rule's name and its validated options.

    Attributes:
        name: a :data:`STOPPING_RULES` name.
        options: that entry's options model, validated.
    """

    name: str = DEFAULT_RULE
    options: BaseModel = NoOptions()

    @property
    def is_default(self) -> bool:
        """Whether this is plain FIFO (every trial trains to the end)."""
        return self.name == DEFAULT_RULE

    def build(self, higher_is_better: bool) -> StoppingRule:
        """A fresh rule for one search session."""
        return STOPPING_RULES.get(self.name).build(self.options, higher_is_better)

    def to_yaml(self) -> dict:
        """The section as written in a space file (``name`` and the options)."""
        return {"name": self.name, **self.options.model_dump()}

    def describe(self) -> str:
        """One line for ``cpt-search validate``."""
        options = ", ".join(f"{k} {v}" for k, v in self.options.model_dump().items())
        return self.name + (f" ({options})" if options else "")
