"""Reading the project's YAML files (search spaces, exported schedules) within fixed bounds.

PyYAML's ``safe_load`` is safe against code execution but not against resource exhaustion: its
composer recurses once per nesting level (3,000 nested ``[`` end in ``RecursionError``), a
self-referencing alias (``a: &a [*a]``) builds a cycle that every later walk follows forever, and
nine nested levels of nine aliases ("billion laughs") expand to 9**9 nodes from 300 bytes. Reading
a FIFO blocks, reading ``/dev/zero`` never ends. Every reader of a user's YAML goes through
:func:`load_yaml_file` instead, which

* refuses anything but a regular file of at most :attr:`YamlLimits.max_bytes`, *before* reading it
  (``os.stat`` then ``fstat`` of the opened descriptor, so a swapped-in FIFO cannot block), and
  reads with a size cap;
* decodes strictly as UTF-8 and names the byte and line of the first bad byte;
* bounds nesting depth inside the composer (never recursing past :attr:`YamlLimits.max_depth`),
  refuses an alias to a node that is still being composed (a cycle), and counts the nodes the
  document would expand to, aliases included, refusing more than :attr:`YamlLimits.max_nodes`;
* reports YAML syntax errors, and values PyYAML cannot construct (``2020-13-45``, a 5,000-digit
  integer), as one :class:`~cpt_search.errors.ConfigError` line with the line number.

Benign anchors and aliases still work: a file may reuse a mapping a few times.
"""

from __future__ import annotations

import codecs
import os
import stat
from dataclasses import dataclass
from typing import Any

import yaml

from cpt_search.errors import ConfigError

__all__ = ["DEFAULT_LIMITS", "YamlLimits", "compose_yaml", "construct_yaml", "load_yaml_file",
           "read_text_file"]


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on one YAML document.

    Attributes:
        max_bytes: largest file read (a search space is about 2 KB, an exported schedule 1 KB).
        max_depth: deepest nesting of collections, aliases expanded (a space nests 4 levels).
        max_nodes: most nodes the document expands to, each alias counted as the nodes it repeats.
    """

    max_bytes: int = 1 << 20
    max_depth: int = 64
    max_nodes: int = 100_000


DEFAULT_LIMITS = YamlLimits()


def read_text_file(path: str | os.PathLike, *, what: str, fix: str,
                   limits: YamlLimits = DEFAULT_LIMITS) -> str:
    """The UTF-8 text of a regular file of at most ``limits.max_bytes`` bytes.

    Args:
        path: the file.
        what: names it in messages (``"search space file"``).
        fix: the advice of the not-found message.

    Raises:
        ConfigError: missing, not a regular file (directory, FIFO, device), too large, unreadable,
            or not UTF-8; one line naming the path.
    """
    where = str(path)
    if where == "":
        raise ConfigError(f"the {what} path is empty", value="", fix=fix)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", where=where, fix=fix) from None
    except OSError as error:
        raise ConfigError(f"cannot read the {what} ({_os_reason(error)})", where=where,
                          fix=f"pass a readable {what}") from None
    _check_regular(info, where, what, limits)
    try:
        # O_NONBLOCK: if the path became a FIFO since the stat, opening it must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise ConfigError(f"cannot read the {what} ({_os_reason(error)})", where=where,
                          fix=f"pass a readable {what}") from None
    try:
        _check_regular(os.fstat(fd), where, what, limits)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(limits.max_bytes + 1)  # the cap holds even if the file grew meanwhile
    except OSError as error:
        raise ConfigError(f"cannot read the {what} ({_os_reason(error)})", where=where,
                          fix=f"pass a readable {what}") from None
    finally:
        os.close(fd)
    if len(data) > limits.max_bytes:
        raise _too_large(where, what, len(data), limits)
    return _decode_utf8(data, where, what)


def load_yaml_file(path: str | os.PathLike, *, what: str, fix: str,
                   limits: YamlLimits = DEFAULT_LIMITS) -> tuple[Any, yaml.Node | None]:
    """Read, compose and construct one YAML document within ``limits``.

    Returns:
        The Python value and its composed node tree (``None`` for an empty document), whose marks
        give line numbers.

    Raises:
        ConfigError: any problem with the file or its YAML, as one line naming the path and line.
    """
    where = str(path)
    text = read_text_file(path, what=what, fix=fix, limits=limits)
    node = compose_yaml(text, where, limits)
    return construct_yaml(node, where), node


def compose_yaml(text: str, where: str, limits: YamlLimits = DEFAULT_LIMITS) -> yaml.Node | None:
    """The node tree of one YAML document, composed within ``limits`` (``None`` when empty).

    Raises:
        ConfigError: YAML syntax errors, nesting deeper than ``limits.max_depth``, a recursive
            alias, or more than ``limits.max_nodes`` nodes once aliases are expanded.
    """
    if len(text) > limits.max_bytes:
        raise _too_large(where, "YAML text", len(text), limits)
    loader = None
    try:
        loader = _BoundedLoader(text, where, limits)  # the reader checks characters right here
        node = loader.get_single_node()
    except _LimitError as error:
        mark = error.problem_mark
        raise ConfigError(f"the YAML is refused: {error.problem}",
                          where=f"{where}:{mark.line + 1}" if mark is not None else where,
                          fix="flatten the nesting or write the values out instead of aliasing them") from None
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, where) from None
    except yaml.YAMLError as error:  # reader errors (control characters) carry a position only
        raise ConfigError(f"not valid YAML: {' '.join(str(error).split())}", where=where,
                          fix="fix the YAML (remove control characters)") from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is not None:
        _check_expansion(node, where, limits)
    return node


def construct_yaml(node: yaml.Node | None, where: str) -> Any:
    """The Python value of a node tree from :func:`compose_yaml` (safe types only).

    Raises:
        ConfigError: a value PyYAML cannot build (an impossible date, an integer of more digits than
            Python converts, an unhashable mapping key), naming the line.
    """
    if node is None:
        return None
    constructor = yaml.constructor.SafeConstructor()
    try:
        return constructor.construct_document(node)
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, where) from None
    except (ValueError, TypeError, OverflowError) as error:
        # SafeConstructor lets these through unmarked (datetime.date(2020, 13, 45), int('9' * 5000)).
        raise ConfigError(f"a value cannot be read: {_first_line(error)}", where=where,
                          fix="quote the value to keep it a string, or correct it") from None


class _LimitError(yaml.MarkedYAMLError):
    """A bound of :class:`YamlLimits` was crossed while composing (marked with the line)."""


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` whose composer counts its depth and refuses aliases into open nodes."""

    def __init__(self, text: str, where: str, limits: YamlLimits) -> None:
        super().__init__(text)
        self._where = where
        self._limits = limits
        self._depth = 0
        self._open_anchors: set[str] = set()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise _LimitError(problem=f"the alias *{event.anchor} refers to a node that contains it "
                                          "(a recursive alias)", problem_mark=event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self._limits.max_depth:
            raise _LimitError(problem=f"nesting deeper than {self._limits.max_depth} levels",
                              problem_mark=event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)


def _check_expansion(root: yaml.Node, where: str, limits: YamlLimits) -> None:
    """Walk the node graph as its consumers will (aliases expanded), iteratively and bounded."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > limits.max_nodes or depth > limits.max_depth:
            rule = (f"more than {limits.max_nodes} values" if count > limits.max_nodes
                    else f"nesting deeper than {limits.max_depth} levels")
            raise ConfigError(f"the YAML expands to {rule} once its aliases are followed",
                              where=f"{where}:{node.start_mark.line + 1}",
                              fix="write the values out instead of repeating aliases of aliases")
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))


def _check_regular(info: os.stat_result, where: str, what: str, limits: YamlLimits) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"the {what} is a directory", where=where, fix=f"pass the {what} itself")
    if not stat.S_ISREG(info.st_mode):
        # FIFOs block and devices such as /dev/zero never end: only regular files are read.
        raise ConfigError(f"the {what} is not a regular file ({_file_kind(info.st_mode)})", where=where,
                          fix="save the content to a regular file and pass that")
    if info.st_size > limits.max_bytes:
        raise _too_large(where, what, info.st_size, limits)


def _too_large(where: str, what: str, size: int, limits: YamlLimits) -> ConfigError:
    return ConfigError(f"the {what} is larger than {limits.max_bytes} bytes ({size} bytes)",
                       where=where, fix=f"pass the {what} itself (a few KB), not a data file")


def _decode_utf8(data: bytes, where: str, what: str) -> str:
    try:
        return codecs.decode(data, "utf-8-sig")  # a leading BOM (Windows editors) is not an error
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(f"the {what} is not UTF-8 text (byte {data[error.start]:#04x} at offset "
                          f"{error.start})", where=f"{where}:{line}",
                          fix="save the file as UTF-8") from None


def _syntax_error(error: yaml.MarkedYAMLError, where: str) -> ConfigError:
    mark = error.problem_mark or error.context_mark
    place = f"{where}:{mark.line + 1}" if mark is not None else where
    problem = " ".join(str(error.problem or error.context or error).split())
    return ConfigError(f"YAML syntax error: {problem}", where=place,
                       fix="fix the YAML (indentation, colons, quotes) at that line")


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _os_reason(error: OSError) -> str:
    return error.strerror or error.__class__.__name__


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else error.__class__.__name__
