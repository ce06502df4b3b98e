"""Every command's flags: any combination holding at least one invalid value is refused in one line.

Hypothesis draws a command, then one to three of its flags, each with a value outside what the flag
accepts (out-of-range and huge integers, nan/inf/garbage floats, unknown names, hostile paths);
the rest of the command line is valid. The real CLI runs in-process and must exit 2 with one
``error:`` line before anything trains, Ray starts or a server launches: each drawn command line is
invalid, so none of them gets that far.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from refusal import assert_refused, run_in_process

from cpt_search.limits import (
    MAX_CONCURRENCY,
    MAX_CPUS_PER_TRIAL,
    MAX_SCHEDULE_STEPS,
    MAX_SEED,
    MAX_SEEDS,
    MAX_STEPS_PER_BITS,
    MAX_THREADS,
    MAX_TRIALS,
)

GARBAGE = ["", "abc", "1e20", "nan", "0x10", "--", "[1]", "1_000_000_000_000_000_000_000"]


def int_outside(low: int, high: int) -> st.SearchStrategy[str]:
    """Integers outside ``low..high`` (huge ones included) and strings that are no integer."""
    return st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1),
                     st.sampled_from([str(2**64), str(10**30), str(-(2**63))]).map(int),
                     st.sampled_from(GARBAGE).filter(lambda v: v not in ("1_000_000_000_000_000_000_000",))
                     ).map(str)


def float_outside(low: float, high: float) -> st.SearchStrategy[str]:
    """nan, inf, garbage and finite floats outside ``[low, high]``."""
    outside = st.one_of(st.floats(max_value=low, exclude_max=True, allow_nan=False),
                        st.floats(min_value=high, exclude_min=True, allow_nan=False))
    return st.one_of(st.sampled_from(["nan", "inf", "-inf", "NaN", "1e400", "abc", ""]), outside.map(repr))


BAD_NAMES = st.sampled_from(["", "nope", "COSINE!", "[a]", "café", "a" * 300, "{x: 1}"])
BITS = int_outside(1, 32)
SEED = int_outside(0, MAX_SEED)
BAD_HOSTS = st.one_of(
    st.tuples(*[st.integers(0, 999)] * 4).filter(lambda parts: max(parts) > 255)
    .map(lambda parts: ".".join(map(str, parts))),
    st.text(alphabet="!_ @#$%^&*()/\\", min_size=1, max_size=10),
    st.sampled_from(["", "-host", "a..b", "999.999.999.999", "::::1", "1.2.3"]))


def bad_paths(kind: str, hostile: dict[str, Path]) -> st.SearchStrategy[str]:
    """Hostile values of a path flag: outputs (``plot``, ``yaml``) or inputs (``input``)."""
    if kind == "input":
        return st.sampled_from([str(hostile[k]) for k in ("fifo", "zero", "big", "under_file")]
                               + [str(hostile["directory"] / "missing.yaml")])
    common = ["", str(hostile["under_file"]), str(hostile["regular"] / "deeper" / "x.png")]
    if kind == "plot":
        return st.sampled_from(common + ["x.bogus", "plot", str(hostile["directory"]) + "/"])
    return st.sampled_from(common + [str(hostile["directory"])])


def _schedule_flags(hostile):
    return {
        "--cycles": int_outside(1, 64_000),  # more periods than the default 64,000 steps is invalid
        "--min-bits": BITS, "--max-bits": BITS, "--min-grad-bits": BITS, "--max-grad-bits": BITS,
        "--warmup-bits": BITS, "--warmup-frac": float_outside(0.0, 0.999),
        "--profile": BAD_NAMES, "--form": BAD_NAMES, "--flip": BAD_NAMES, "--preset": BAD_NAMES,
        "--schedule-file": bad_paths("input", hostile),
    }


def _runner_flags():
    return {
        "--task": BAD_NAMES, "--budget": BAD_NAMES, "--seeds": int_outside(1, MAX_SEEDS),
        "--concurrency": int_outside(1, MAX_CONCURRENCY),
        "--cpus-per-trial": int_outside(1, int(MAX_CPUS_PER_TRIAL)),
        "--gpus-per-trial": float_outside(0.0, 64.0), "--format": BAD_NAMES,
    }


def command_table(hostile: dict[str, Path], store: Path, space: Path, out: Path) -> dict:
    """``command -> (valid base arguments, {flag: strategy of invalid values})``; ``ARG`` is the
    positional argument, replaced rather than appended."""
    return {
        "schedule": ([], {"--total-steps": int_outside(1, MAX_SCHEDULE_STEPS), "--format": BAD_NAMES,
                          "--plot": bad_paths("plot", hostile), **_schedule_flags(hostile)}),
        "train": (["--task", "digits/mlp", "--budget", "tiny"],
                  {"--task": BAD_NAMES, "--budget": BAD_NAMES, "--seed": SEED,
                   "--threads": int_outside(1, MAX_THREADS), **_schedule_flags(hostile)}),
        "validate": ([str(space)], {"ARG": bad_paths("input", hostile),
                                    "--samples": int_outside(1, 100_000)}),
        "check-task": (["digits/mlp", "--epochs", "1"],
                       {"ARG": BAD_NAMES, "--budget": BAD_NAMES, "--epochs": int_outside(1, 10_000),
                        "--seed": SEED}),
        "run": ([str(space), "--store", str(out / "store")],
                {"ARG": bad_paths("input", hostile), "--trials": int_outside(1, MAX_TRIALS),
                 "--concurrency": int_outside(1, MAX_CONCURRENCY)}),
        "front": (["demo", "--store", str(store)], {"ARG": BAD_NAMES, "--format": BAD_NAMES}),
        "export": (["demo", "-o", str(out / "best.yaml"), "--store", str(store)],
                   {"ARG": BAD_NAMES, "-o": bad_paths("yaml", hostile), "--pick": BAD_NAMES,
                    "--max-relative-cost": float_outside(0.0, 1e6),
                    "--min-metric": float_outside(-1e12, 1e12)}),
        "ui": (["--store", str(store)], {"--port": int_outside(1, 65535), "--host": BAD_HOSTS}),
        "reproduce": (["--task", "digits/mlp", "--budget", "tiny", "--store", str(out / "store")],
                      {**_runner_flags(), "--min-bits": BITS, "--max-bits": BITS, "--grad-bits": BITS,
                       "--cycles": st.one_of(st.integers(max_value=0).map(str),
                                             st.sampled_from(GARBAGE[:5]))}),
        "critical-period": (["--task", "digits/mlp", "--budget", "tiny", "--store", str(out / "store")],
                            {**_runner_flags(), "--impair-bits": BITS, "--bits": BITS, "--grad-bits": BITS,
                             "--impair-fracs": st.sampled_from(["a,b", "nan", "2", "-1", "0.5,,", "inf",
                                                                "", "1e400"]),
                             "--recovery-frac": float_outside(0.0, 0.999)}),
        "range-test": (["--task", "digits/mlp", "--budget", "tiny"],
                       {"--task": BAD_NAMES, "--budget": BAD_NAMES, "--start-bits": BITS,
                        "--max-bits": BITS, "--grad-bits": BITS,
                        "--steps-per-bits": int_outside(8, MAX_STEPS_PER_BITS), "--seed": SEED,
                        "--threads": int_outside(1, MAX_THREADS), "--plot": bad_paths("plot", hostile),
                        "--write-space": bad_paths("yaml", hostile), "--format": BAD_NAMES}),
    }


COMMANDS = ["schedule", "train", "validate", "check-task", "run", "front", "export", "ui", "reproduce",
            "critical-period", "range-test"]
_SPACE = "task: digits/mlp\nbudget: tiny\ntrials: 2\nsampler: {name: random, seed: 0}\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_invalid_flags_of_every_command_are_one_line(command: str, tmp_path: Path, capsys, hostile,
                                                      store: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(_SPACE)
    base, flags = command_table(hostile, store, space, tmp_path)[command]

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data) -> None:
        chosen = data.draw(st.lists(st.sampled_from(sorted(flags)), min_size=1, max_size=3, unique=True))
        args = list(base)
        for flag in chosen:
            value = data.draw(flags[flag], label=flag)
            if flag == "ARG":
                args[0] = value
            else:
                args += [flag, value] if not value.startswith("-") else [f"{flag}={value}"]
        outcome = run_in_process(capsys, command, *args)
        assert_refused(outcome)

    check()
