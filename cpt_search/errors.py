"""The project's own error types.

Every problem a user can cause (a bad flag, a bad YAML key, a missing dataset, an unreachable server)
raises a :class:`CptSearchError`. Its ``str()`` is one line that says where, what, the value received
and how to fix it; the CLI prints exactly that line and exits with status 2 (traceback only with
``--debug``). ``assert`` stays for internal invariants.
"""

from __future__ import annotations

from typing import Any


class CptSearchError(Exception):
    """A user-caused problem, reported as one line.

    Args:
        message: what is wrong, stated as the rule that was broken.
        where: the file, flag or object the value came from (e.g. ``"space.yaml"``, ``"--min-bits"``).
        key: the key or parameter name, when there is one.
        value: the offending value, shown with ``repr``.
        fix: how to recover.
    """

    _MISSING = object()

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        key: str | None = None,
        value: Any = _MISSING,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.where = where
        self.key = key
        self.value = value
        self.fix = fix
        super().__init__(self.format())

    @property
    def has_value(self) -> bool:
        """Whether an offending value was given."""
        return self.value is not CptSearchError._MISSING

    def with_context(self, *, where: str | None = None, key: str | None = None) -> "CptSearchError":
        """Return a copy that names a different place or key (e.g. a CLI flag instead of a field)."""
        kwargs: dict[str, Any] = dict(where=where or self.where, key=key or self.key, fix=self.fix)
        if self.has_value:
            kwargs["value"] = self.value
        return type(self)(self.message, **kwargs)

    def format(self) -> str:
        """The one-line text: ``where: key=value: message; fix``."""
        location = ": ".join(part for part in (self.where, self._key_value()) if part)
        text = f"{location}: {self.message}" if location else self.message
        if self.fix:
            text += f"; {self.fix}"
        return " ".join(text.split())  # one line, whatever the parts held

    def _key_value(self) -> str:
        if self.key and self.has_value:
            return f"{self.key}={self.value!r}"
        if self.key:
            return self.key
        if self.has_value:
            return repr(self.value)
        return ""


class ConfigError(CptSearchError):
    """A bad schedule parameter, search-space key or exported file."""


class UnknownNameError(CptSearchError):
    """A name that is not in a registry (profile, preset, task, sampler)."""


class DataError(CptSearchError):
    """A dataset that is missing or unreadable."""


class TrackingError(CptSearchError):
    """An MLflow store or Optuna storage that cannot be used."""


class MissingExtraError(CptSearchError, ImportError):
    """An optional package that a feature needs is not installed; the fix names the extra."""
