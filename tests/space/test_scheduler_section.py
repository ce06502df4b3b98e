"""The ``scheduler:`` section of a space file: the default, a rule with options, bad input in one line."""

from __future__ import annotations

import pytest

from cpt_search.errors import ConfigError
from cpt_search.space import parse_space
from cpt_search.stopping import StaircaseRule, StoppingRule

BASE = {"task": "digits/mlp", "budget": "tiny", "trials": 2}


def test_fifo_is_the_default() -> None:
    space = parse_space(dict(BASE))
    assert space.stopping.is_default and type(space.stopping.build(True)) is StoppingRule
    assert "scheduler" not in space.resolved() and "stopping" not in space.describe()


def test_a_rule_with_options_round_trips() -> None:
    space = parse_space(dict(BASE, scheduler={"name": "staircase", "rungs": [0.2, 0.6], "noise_margin": 0.01}))
    rule = space.stopping.build(True)
    assert isinstance(rule, StaircaseRule) and rule.rung_fracs == (0.2, 0.6)
    assert rule.options.noise_margin == 0.01 and rule.options.min_finished == 3
    assert parse_space(space.resolved()).stopping == space.stopping
    assert "stopping   staircase (rungs [0.2, 0.6], noise_margin 0.01" in space.describe()


@pytest.mark.parametrize(("scheduler", "words"), [
    ({"name": "stairs"}, "scheduler.name='stairs': unknown stopping rule; did you mean 'staircase'?"),
    ({"name": "staircase", "rung": [0.5]}, "scheduler.rung=[0.5]: unknown key for stopping rule "
                                           "'staircase'; did you mean 'rungs'?"),
    ({"name": "staircase", "rungs": [0.5, 0.2]}, "scheduler.rungs=[0.5, 0.2]: rungs must increase"),
    ({"name": "staircase", "rungs": [1.5]}, "0 < rung < 1"),
    ({"name": "staircase", "noise_margin": -1.0}, "scheduler.noise_margin=-1.0"),
    ({"name": "staircase", "min_finished": "3"}, "scheduler.min_finished='3'"),
    ({"name": "fifo", "rungs": [0.5]}, "unknown key for stopping rule 'fifo'"),
    ({"name": 3}, "scheduler.name=3"),
    ("staircase", "scheduler"),
])
def test_bad_sections_are_one_line(scheduler, words) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_space(dict(BASE, scheduler=scheduler))
    text = str(caught.value)
    assert words in text and "\n" not in text
