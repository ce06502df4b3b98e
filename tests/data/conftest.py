"""Prepared datasets go to a per-session temporary cache, never the user's ``~/.cache``."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory) -> str:
    """Point ``CPT_SEARCH_CACHE`` at a temporary folder for the whole session."""
    path = str(tmp_path_factory.mktemp("cpt_cache"))
    previous = os.environ.get("CPT_SEARCH_CACHE")
    os.environ["CPT_SEARCH_CACHE"] = path
    yield path
    if previous is None:
        os.environ.pop("CPT_SEARCH_CACHE", None)
    else:
        os.environ["CPT_SEARCH_CACHE"] = previous
