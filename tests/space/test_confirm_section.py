"""The ``confirm:`` section of a space file: defaults, resolution to the race's settings, bad input."""

from __future__ import annotations

import pytest

from cpt_search.errors import ConfigError
from cpt_search.space import parse_space

BASE = {"task": "digits/mlp", "budget": "tiny", "trials": 2, "seeds": [0, 1]}


def test_defaults_are_four_fresh_seeds_and_24_trainings() -> None:
    settings = parse_space(dict(BASE, confirm={})).confirm_settings()
    assert settings.seeds == (2, 3, 4, 5) and settings.max_trainings == 24 and settings.alpha == 0.05


def test_no_section_means_no_confirmation() -> None:
    assert parse_space(dict(BASE)).confirm_settings() is None


def test_given_settings_and_round_trip() -> None:
    space = parse_space(dict(BASE, confirm={"seeds": [7, 8, 9], "max_trainings": 5, "alpha": 0.01}))
    settings = space.confirm_settings()
    assert settings.seeds == (7, 8, 9) and settings.max_trainings == 5 and settings.alpha == 0.01
    assert parse_space(space.resolved()).confirm_settings() == settings
    assert "confirm    the front on seeds [7, 8, 9]" in space.describe()


@pytest.mark.parametrize(("confirm", "words"), [
    ({"seeds": [1, 2]}, "differ from the search's seeds"),
    ({"seeds": [3, 3]}, "unique"),
    ({"seeds": []}, "at least one confirm seed"),
    ({"max_trainings": -1}, "confirm.max_trainings"),
    ({"alpha": 1.5}, "confirm.alpha"),
    ({"sedes": [4]}, "confirm.sedes"),
])
def test_bad_sections_are_one_line(confirm, words) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_space(dict(BASE, confirm=confirm))
    text = str(caught.value)
    assert words in text and "\n" not in text
