"""Hostile YAML is refused within bounded time and memory, for space files and schedule files alike.

Each case runs the real CLI in a child process capped at 2 GiB of address space and 60 s; before
:mod:`cpt_search.yaml_io` these inputs gave a RecursionError traceback (recursive alias, 3,000-deep
nesting), exhausted memory (alias bomb, ``/dev/zero``) or hung (a FIFO).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from refusal import assert_refused, run_bounded

from cpt_search.errors import ConfigError
from cpt_search.yaml_io import YamlLimits, compose_yaml, construct_yaml, load_yaml_file

_BOMB = "\n".join(
    ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]) + "\n"

HOSTILE_TEXT = {
    "alias-bomb": (_BOMB, "expands to more than"),
    "recursive-alias": ("task: &t [1, *t]\n", "recursive alias"),
    "recursive-mapping-alias": ("a: &m {b: *m}\n", "recursive alias"),
    "deep-sequences": ("task: " + "[" * 3000 + "]" * 3000 + "\n", "nesting deeper than"),
    "deep-mappings": ("x: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "nesting deeper than"),
    "deep-block": ("".join(f"{' ' * i}k{i}:\n" for i in range(300)) + " " * 300 + "v\n",
                   "nesting deeper than"),
    "not-utf8": (b"task: caf\xe9\ntrials: 3\n", "is not UTF-8 text (byte 0xe9 at offset 9)"),
    "control-character": ("task: \x00\n", "not valid YAML"),
    "huge-integer": ("trials: " + "9" * 5000 + "\n", "a value cannot be read"),
    "impossible-date": ("task: 2020-13-45\n", "a value cannot be read"),
}


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("command", ["validate", "schedule --schedule-file"])
@pytest.mark.parametrize("case", list(HOSTILE_TEXT))
def test_hostile_yaml_is_one_line_in_bounded_memory(tmp_path: Path, command: str, case: str) -> None:
    content, needle = HOSTILE_TEXT[case]
    path = _write(tmp_path, content)
    line = assert_refused(run_bounded(*command.split(), path, cwd=tmp_path), needle)
    assert str(path) in line


@pytest.mark.parametrize("command", ["validate", "schedule --schedule-file"])
@pytest.mark.parametrize("kind,needle", [
    ("fifo", "not a regular file (a FIFO)"),
    ("zero", "not a regular file (a character device)"),
    ("big", "larger than 1048576 bytes (104857600 bytes)"),
    ("directory", "is a directory"),
    ("under_file", "cannot read"),
])
def test_files_that_are_not_small_regular_files_are_refused_before_reading(
        tmp_path: Path, hostile: dict[str, Path], command: str, kind: str, needle: str) -> None:
    line = assert_refused(run_bounded(*command.split(), hostile[kind], cwd=tmp_path), needle)
    assert str(hostile[kind]) in line


def test_benign_aliases_still_load(tmp_path: Path) -> None:
    text = "base: &b {low: 2, high: 6}\nmin_bits: *b\nother: *b\n"
    data, node = load_yaml_file(_write(tmp_path, text), what="file", fix="-")
    assert data["min_bits"] == data["other"] == {"low": 2, "high": 6} and node is not None


def test_limits_are_exact_at_the_boundary() -> None:
    limits = YamlLimits(max_depth=5, max_nodes=10)
    assert construct_yaml(compose_yaml("[[[[1]]]]", "<t>", limits), "<t>") == [[[[1]]]]
    with pytest.raises(ConfigError, match="nesting deeper than 5 levels"):
        compose_yaml("[[[[[1]]]]]", "<t>", limits)
    assert construct_yaml(compose_yaml("[1, 2, 3, 4, 5, 6, 7, 8, 9]", "<t>", limits), "<t>")
    with pytest.raises(ConfigError, match="more than 10 values"):
        compose_yaml("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "<t>", limits)
    with pytest.raises(ConfigError, match="more than 10 values"):  # aliases count as what they repeat
        compose_yaml("a: &a [1, 2, 3]\nb: [*a, *a]\n", "<t>", limits)


def test_syntax_errors_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hostile.yaml:3: YAML syntax error") as info:
        load_yaml_file(_write(tmp_path, "a: 1\nb: 2\nc: d: e\n"), what="file", fix="-")
    assert "\n" not in str(info.value)
