"""Files the commands write (``--plot``, ``export -o``, ``--write-space``): checked before work starts.

A command that trains for minutes and then fails to write its plot has wasted the minutes, so each
output flag is checked up front by :func:`check_output_path` (not empty, a supported suffix, not a
directory, a parent that exists or can be created and is a directory, writable), and the write itself
goes through :func:`write_text` or :func:`writing`, which turn ``OSError`` (``ENOSPC`` on
``/dev/full``, a parent removed meanwhile) into one :class:`~cpt_search.errors.ConfigError` line
naming the flag and the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from cpt_search.errors import ConfigError

__all__ = ["check_output_path", "check_plot_path", "plot_suffixes", "write_text", "writing"]


def check_output_path(path: str | os.PathLike, *, flag: str,
                      suffixes: Iterable[str] | None = None) -> Path:
    """``path`` as a :class:`Path` if a file can be written there, else one :class:`ConfigError`.

    Args:
        path: the path the user gave.
        flag: the flag it came from, named in the error (``"--plot"``).
        suffixes: allowed file suffixes without the dot (``{"png", "pdf"}``); ``None`` allows any.

    Raises:
        ConfigError: an empty path, an unsupported suffix, an existing directory, a parent that is a
            file, or a place this user cannot write (rule, value and fix on one line).
    """
    text = os.fspath(path)
    if text.strip() == "":
        raise ConfigError("the output path is empty", key=flag, value=text,
                          fix=f"name a file, e.g. {flag} {_example(suffixes)}")
    target = Path(text)
    if suffixes is not None:
        allowed = sorted({s.lower().lstrip(".") for s in suffixes})
        suffix = target.suffix.lower().lstrip(".")
        if suffix not in allowed:
            raise ConfigError(f"unsupported file type {('.' + suffix) if suffix else '(no suffix)'}",
                              key=flag, value=text, fix=f"end the name with one of: .{', .'.join(allowed)}")
    info = _stat(target)
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError("the output path is a directory", key=flag, value=text,
                              fix=f"name a file inside it, e.g. {target / _example(suffixes)}")
        if stat.S_ISFIFO(info.st_mode) and not _fifo_has_reader(target):
            raise ConfigError("the output path is a FIFO nobody reads (writing would block)",
                              key=flag, value=text, fix="start its reader first, or name a regular file")
        if not os.access(target, os.W_OK):
            raise ConfigError("the output file is not writable", key=flag, value=text,
                              fix="choose a path you may write, or change the file's permissions")
        return target
    ancestor = target.parent
    while _stat(ancestor) is None and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    info = _stat(ancestor)
    if info is None or not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"the output's parent {str(ancestor)!r} is not a directory", key=flag,
                          value=text, fix="choose a path under a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"the directory {str(ancestor)!r} is not writable", key=flag, value=text,
                          fix="choose a path under a directory you may write")
    return target


def plot_suffixes() -> frozenset[str]:
    """The file types matplotlib can save (``png``, ``pdf``, ``svg``, ...); imports matplotlib."""
    from matplotlib.backend_bases import FigureCanvasBase

    return frozenset(FigureCanvasBase.get_supported_filetypes())


def check_plot_path(path: str | os.PathLike, *, flag: str) -> Path:
    """:func:`check_output_path` with the suffixes matplotlib can save."""
    return check_output_path(path, flag=flag, suffixes=plot_suffixes())


def write_text(path: str | os.PathLike, text: str, *, flag: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` (creating its parent); write errors are one line."""
    target = Path(path)
    with writing(target, flag=flag):
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8") as stream:
            stream.write(text)
    return target


@contextlib.contextmanager
def writing(path: str | os.PathLike, *, flag: str) -> Iterator[None]:
    """Turn an ``OSError`` while writing ``path`` into one :class:`ConfigError` naming ``flag``."""
    try:
        yield
    except OSError as error:
        reason = error.strerror or error.__class__.__name__
        fix = ("free some space or write elsewhere" if error.errno in (errno.ENOSPC, errno.EDQUOT)
               else "choose a path under a directory you may write")
        raise ConfigError(f"cannot write the file ({reason})", key=flag, value=os.fspath(path),
                          fix=fix) from None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:  # e.g. a too-long name: let the caller report the nearest ancestor
        return None


def _fifo_has_reader(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # ENXIO: no reader
        return False
    os.close(fd)
    return True


def _example(suffixes: Iterable[str] | None) -> str:
    if suffixes is None:
        return "out.yaml"
    allowed = sorted(s.lower().lstrip(".") for s in suffixes)
    return "out.png" if "png" in allowed else f"out.{allowed[0]}"
