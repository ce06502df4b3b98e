"""How a problem in a space file is reported: one :class:`~cpt_search.errors.ConfigError` line.

Each line names the file (and line), the dotted key, the value and a fix. :class:`_Context` maps
dotted key paths to YAML line numbers and converts pydantic's validation errors; the helpers suggest
close matches for misspelt names and shorten long values.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from pydantic import BaseModel, ValidationError

from cpt_search.errors import ConfigError, CptSearchError
from cpt_search.space.sections import _SpaceFile


@dataclass(frozen=True)
class _Context:
    """Where errors point: the source name and a map of dotted key paths to YAML line numbers."""

    where: str
    lines: Mapping[tuple[str, ...], int] = field(default_factory=dict)

    def place(self, path: Sequence[str]) -> str:
        path = tuple(str(p) for p in path)
        while path:
            if path in self.lines:
                return f"{self.where}:{self.lines[path]}"
            path = path[:-1]
        return self.where

    def error(self, message: str, path: Sequence[Any], value: Any = CptSearchError._MISSING,
              fix: str | None = None) -> ConfigError:
        return ConfigError(message, where=self.place(path), key=".".join(str(p) for p in path),
                           value=value, fix=fix)

    def from_pydantic(self, error: ValidationError, mapping: Mapping[str, Any]) -> ConfigError:
        first = error.errors(include_url=False)[0]
        loc = _clean_loc(first["loc"])
        kind = first["type"]
        if kind == "extra_forbidden":
            known = _known_keys(loc[:-1])
            return self.error("unknown key", loc, first["input"],
                              _suggest_fix(str(loc[-1]), known, what="key"))
        if kind == "missing":
            return self.error("required key is missing", loc, fix=f"add '{loc[-1]}:' to the space")
        message = "must be a mapping of keys" if kind == "model_type" else first["msg"]
        ctx_error = (first.get("ctx") or {}).get("error")
        if ctx_error is not None:
            message = str(ctx_error)
        return self.error(message[0].lower() + message[1:], loc, first.get("input"),
                          _TYPE_FIXES.get(kind, "see the schema in the docstring of cpt_search.space"))


_TYPE_FIXES = {
    "int_type": "use a whole number", "int_from_float": "use a whole number",
    "float_type": "use a number", "bool_type": "use true or false",
    "string_type": "use a string (quote it if needed)", "dict_type": "use a mapping of keys",
    "model_type": "use a mapping, e.g. 'key: value' lines indented under it",
    "list_type": "use a list", "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value", "less_than": "use a smaller value",
    "less_than_equal": "use a smaller value", "value_error": "use an allowed value",
}


def _clean_loc(loc: Sequence[Any]) -> tuple[str, ...]:
    # pydantic adds union-branch names ("int", "list[int]") to locations; keep the keys only.
    cleaned = [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p in ("int", "str")))]
    return tuple(cleaned) or ("<root>",)


def _known_keys(parent: Sequence[str]) -> list[str]:
    model: type[BaseModel] = _SpaceFile
    for part in parent:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _suggest_fix(value: str, known: Sequence[str], what: str = "name") -> str:
    close = difflib.get_close_matches(str(value), list(known), n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}known {what}s: {', '.join(known)}"


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 60 else text[:57] + "..."
