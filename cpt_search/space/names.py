"""The search-name rule: one name names a search's files, Optuna study and MLflow experiment.

A search name is used in paths and URLs, so it may use letters, digits, ``_``, ``.`` and ``-``
only, starts with a letter or digit and has at most 100 characters. The space file's ``name`` key
(:func:`cpt_search.space.parse_space`) and the CLI's ``--name`` (:func:`check_search_name`) both
follow this rule.
"""

from __future__ import annotations

import re

from cpt_search.errors import ConfigError

SEARCH_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_search_name(name: str, *, where: str = "--name") -> str:
    """A search name is used in paths and URLs: letters, digits, ``_ . -``, at most 100 chars."""
    if not isinstance(name, str) or not SEARCH_NAME_RE.match(name):
        raise ConfigError("a search name must start with a letter or digit and use only letters, "
                          "digits, '_', '.' and '-' (at most 100 characters)", where=where,
                          key="name", value=name, fix="pick a name like 'quickstart-2'")
    return name


__all__ = ["SEARCH_NAME_RE", "check_search_name"]
