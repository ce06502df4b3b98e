"""Fault tests leave nothing running: every CLI driver a test started is stopped when it ends."""

from __future__ import annotations

import pytest

from tests.faults.harness import Driver


@pytest.fixture(autouse=True)
def _stop_drivers():
    yield
    Driver.stop_all()
