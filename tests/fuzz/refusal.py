"""What every refused input must look like, in-process and in a bounded subprocess.

The README's promise for bad input: exit status 2, exactly one line on stderr starting with
``error:``, no traceback, quickly, with bounded memory. :func:`assert_refused` checks the first four;
:func:`run_bounded` runs the CLI in a child whose address space is capped with ``RLIMIT_AS`` and
whose wall time is capped by a timeout, so an input that exhausts memory or hangs fails the test
instead of the machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cpt_search.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
CHILD_ADDRESS_SPACE_BYTES = 2 << 30
"""The child's address-space cap: the pure core (schedule files, YAML, flag checks) fits easily;
torch alone maps more, so inputs refused under this cap are refused before torch is imported."""
CHILD_TIMEOUT_S = 60.0
"""A guard against hangs, not a speed test: the refusals below take about a second when the
machine is idle (the README promises under 10 s)."""


@dataclass(frozen=True)
class Outcome:
    """A finished CLI run: exit status, captured streams and wall time."""

    code: int
    out: str
    err: str
    seconds: float


def assert_refused(outcome: Outcome, *needles: str) -> str:
    """Exit status 2, one ``error:`` line on stderr, no traceback; returns the line."""
    lines = outcome.err.splitlines()
    assert outcome.code == 2, (outcome.code, outcome.err[-2000:])
    assert "Traceback" not in outcome.err, outcome.err[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.err[-2000:]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def run_in_process(capsys, *args: str) -> Outcome:
    """``cpt_search.cli.main(args)`` with captured streams."""
    capsys.readouterr()
    start = time.perf_counter()
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err, time.perf_counter() - start)


def _cap_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE_BYTES, CHILD_ADDRESS_SPACE_BYTES))


def run_bounded(*args: str, cwd: Path, env: dict[str, str] | None = None,
                cap_memory: bool = True) -> Outcome:
    """``python -m cpt_search ARGS`` under :data:`CHILD_ADDRESS_SPACE_BYTES` and
    :data:`CHILD_TIMEOUT_S` (a timeout fails the test with the command line).

    ``cap_memory=False`` keeps only the timeout, for a command that must import torch first (torch
    alone maps more than the cap: an unknown task is known only once the task registry is loaded).
    """
    child_env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), **(env or {}))
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "cpt_search", *map(str, args)], check=False, cwd=cwd,
                              env=child_env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT_S, preexec_fn=_cap_memory if cap_memory else None)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"cpt-search {' '.join(map(str, args))} ran past {CHILD_TIMEOUT_S} s") from None
    return Outcome(done.returncode, done.stdout, done.stderr, time.perf_counter() - start)
