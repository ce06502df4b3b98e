"""A small name -> entry registry with helpful lookup errors.

Modelled on timm's model registry, improved in one way: an unknown name suggests the closest known
name and lists them all, so a typo is a one-step fix.

A registry can also take entries from installed packages: with ``plugins="cpt_search.profiles"``
the entry points of that group (``[project.entry-points."cpt_search.profiles"]`` in the plugin's
``pyproject.toml``, ``name = "module:attribute"``) are loaded the first time the registry is listed
or asked for a name it does not hold, in every process that asks (Ray workers included). An entry
point that fails to load, or names something that is not an entry of the registry's type with the
entry point's name, is named in the unknown-name error rather than breaking every command.
"""

from __future__ import annotations

import difflib
import fnmatch
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, Iterator, TypeVar

from cpt_search.errors import ConfigError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (profiles, presets, tasks, ...).

    Args:
        kind: what the entries are, used in error messages (``"profile"``, ``"task"``).
        plugins: an entry-point group whose entry points add entries (``None``: none).
        entry_type: the class of the entries; a plugin's object must be an instance with
            ``name`` equal to the entry point's name (a subclass is instantiated first).
            ``None``: no check (the ``adopt`` function checks).
        adopt: registers one checked plugin object under its entry-point name (default:
            :meth:`register` as it is); a registry whose entries need more checks or a conversion
            passes its own function here, so plugins meet the same checks as built-ins.
    """

    def __init__(self, kind: str, *, plugins: str | None = None, entry_type: type | None = None,
                 adopt: Callable[[str, Any], object] | None = None) -> None:
        self.kind = kind
        self.plugins = plugins
        self.entry_type = entry_type
        self._adopt = adopt
        self._entries: dict[str, T] = {}
        self._plugins_loaded = plugins is None
        self._plugin_failures: list[str] = []

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name``; a second registration of the same name is refused."""
        if name in self._entries:
            raise ConfigError(f"{self.kind} {name!r} is registered twice", key=self.kind, value=name,
                              fix=f"give the new {self.kind} another name")
        self._entries[name] = entry
        return entry

    def get(self, name: str, *, where: str | None = None, key: str | None = None) -> T:
        """Return the entry for ``name`` or raise :class:`UnknownNameError` with a suggestion."""
        for attempt in range(2):
            try:
                return self._entries[name]
            except (KeyError, TypeError):  # TypeError: an unhashable name (a list or mapping from YAML)
                pass
            if attempt == 0 and not self._load_plugins():
                break
        close = difflib.get_close_matches(str(name), list(self._entries), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        failures = f"; {'; '.join(self._plugin_failures)}" if self._plugin_failures else ""
        raise UnknownNameError(
            f"unknown {self.kind}",
            where=where,
            key=key or self.kind,
            value=name,
            fix=f"{hint}known: {', '.join(self.names())}{failures}",
        )

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style ``pattern``, in registration order."""
        self._load_plugins()
        return [name for name in self._entries if fnmatch.fnmatchcase(name, pattern)]

    def registered(self) -> dict[str, T]:
        """The entries registered so far, without loading plugins (for checks run while registering)."""
        return dict(self._entries)

    def _load_plugins(self) -> bool:
        """Load the entry points once; ``True`` when this call loaded them (so a lookup may retry)."""
        if self._plugins_loaded:
            return False
        self._plugins_loaded = True  # first: an adopting register_* function lists the registry too
        for point in entry_points(group=str(self.plugins)):
            if point.name in self._entries:  # built in, or registered itself while imported
                continue
            try:
                entry = self._checked(point.name, point.load())
                if point.name not in self._entries:
                    (self._adopt or self.register)(point.name, entry)
            except Exception as error:  # noqa: BLE001 - a broken plugin must not break other commands
                detail = " ".join(str(error).split()) or type(error).__name__
                package = f" of {point.dist.name}" if point.dist is not None else ""
                self._plugin_failures.append(f"entry point {point.name!r} ({point.value}){package} in "
                                             f"{self.plugins} failed to load: {detail}")
        return True

    def _checked(self, name: str, loaded: Any) -> Any:
        """A plugin's object as an entry: an instance of :attr:`entry_type` named ``name``."""
        if self.entry_type is None:
            return loaded
        entry = loaded() if isinstance(loaded, type) and issubclass(loaded, self.entry_type) else loaded
        if not isinstance(entry, self.entry_type) or getattr(entry, "name", name) != name:
            kind = self.entry_type.__name__
            raise ConfigError(f"a {self.plugins} entry point must name a {kind} (or a subclass) whose "
                              "name is the entry point's", key=name, value=loaded,
                              fix=f"point it at a {kind} with name = {name!r}")
        return entry

    def __contains__(self, name: object) -> bool:
        if name not in self._entries:
            self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self._load_plugins()
        return iter(list(self._entries))

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._entries)
