"""The stopping-rule registry: names, options, lookup errors; every rule meets one contract."""

from __future__ import annotations

import pytest

from cpt_search.errors import UnknownNameError
from cpt_search.stopping import DEFAULT_RULE, STOPPING_RULES, StoppingRule


def test_fifo_is_the_default_and_staircase_is_registered() -> None:
    assert DEFAULT_RULE == "fifo"
    assert STOPPING_RULES.names()[:2] == ["fifo", "staircase"]


def test_an_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'staircase'"):
        STOPPING_RULES.get("stairs", key="scheduler.name")


@pytest.mark.parametrize("name", STOPPING_RULES.names())
@pytest.mark.parametrize("higher_is_better", [True, False])
def test_every_rule_builds_with_default_options(name, higher_is_better) -> None:
    entry = STOPPING_RULES.get(name)
    rule = entry.build(entry.options(), higher_is_better)
    assert isinstance(rule, StoppingRule) and rule.name == name
    fracs = rule.rung_fracs
    assert list(fracs) == sorted(fracs) and all(0 < f < 1 for f in fracs)
    # The first trial of a search is never stopped: nothing is known to compare it with.
    rule.started(0, 0.05)
    for rung in range(1, len(fracs) + 1):
        assert not rule.at_rung(0, rung, 0.5).stop
    rule.finished(0, 0.6)
