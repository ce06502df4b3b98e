"""A small name -> entry registry with helpful lookup errors.

Modelled on timm's model registry, improved in one way: an unknown name suggests the closest known
name and lists them all, so a typo is a one-step fix.
"""

from __future__ import annotations

import difflib
import fnmatch
from typing import Generic, Iterator, TypeVar

from cpt_search.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (profiles, presets, tasks, ...).

    Args:
        kind: what the entries are, used in error messages (``"profile"``, ``"task"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name``; a second registration of the same name is a bug."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def get(self, name: str, *, where: str | None = None, key: str | None = None) -> T:
        """Return the entry for ``name`` or raise :class:`UnknownNameError` with a suggestion."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name (a list or mapping from YAML)
            pass
        close = difflib.get_close_matches(str(name), list(self._entries), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownNameError(
            f"unknown {self.kind}",
            where=where,
            key=key or self.kind,
            value=name,
            fix=f"{hint}known: {', '.join(self.names())}",
        )

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style ``pattern``, in registration order."""
        return [name for name in self._entries if fnmatch.fnmatchcase(name, pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
