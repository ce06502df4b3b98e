"""Contract tests run for every registered profile (a new registration is covered automatically)."""

import numpy as np
import pytest

from cpt_search.errors import UnknownNameError
from cpt_search.profiles import PROFILES

Z = np.linspace(0.0, 1.0, 1001)[:-1]


@pytest.mark.parametrize("name", PROFILES.names())
def test_profile_is_a_rising_shape_from_zero(name):
    shape = PROFILES.get(name).shape(Z, PROFILES.get(name).defaults())
    assert shape[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(shape) >= -1e-12), "growth must never fall inside a period"
    assert np.all((shape >= -1e-12) & (shape <= 1.0 + 1e-12))


@pytest.mark.parametrize("name", PROFILES.names())
def test_profile_is_pure(name):
    profile = PROFILES.get(name)
    np.testing.assert_array_equal(profile.shape(Z, profile.defaults()), profile.shape(Z.copy(), profile.defaults()))


def test_profile_shape_constants_take_effect():
    exp = PROFILES.get("exp")
    assert exp.shape(np.array([0.25]), {"exp_rate": 8.0})[0] > exp.shape(np.array([0.25]), exp.defaults())[0]
    rex = PROFILES.get("rex")
    assert rex.shape(np.array([0.5]), {"rex_beta": 0.0})[0] == pytest.approx(0.5)  # beta 0 = linear


def test_unknown_profile_suggests_the_closest():
    with pytest.raises(UnknownNameError, match=r"did you mean 'rex'\? known: cosine, linear, exp, rex"):
        PROFILES.get("rexx")
