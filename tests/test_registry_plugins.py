"""A profile and a sampler registered once, by an installed package's entry points, work everywhere.

The package is a real distribution on ``sys.path`` (a ``dist-info`` folder with ``entry_points.txt``,
what ``pip install`` leaves), so ``importlib.metadata`` finds it the way it finds any installed plugin,
in the CLI process and in the Ray workers that decode the trials' schedules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN = '''
"""A throwaway plugin: a staircase profile with its own shape constant, and a Halton sampler."""
import math

import optuna

from cpt_search.profiles import Profile, ShapeParam
from cpt_search.sampler_registry import SamplerEntry


class Staircase(Profile):
    name = "staircase"
    params = {"staircase_steps": ShapeParam(4.0, 1.0, 64.0, help="stairs per period")}

    def shape(self, z, params):
        steps = params["staircase_steps"]
        return (z * steps).astype(int) / steps


class HaltonSampler(optuna.samplers.QMCSampler):
    def __init__(self, *, seed=None, scramble=True):
        super().__init__(qmc_type="halton", scramble=scramble, seed=seed, warn_independent_sampling=False)


HALTON = SamplerEntry("halton", "cpt_throwaway:HaltonSampler", False, "scrambled Halton quasi-random")
'''

ENTRY_POINTS = """\
[cpt_search.profiles]
staircase = cpt_throwaway:Staircase

[cpt_search.samplers]
halton = cpt_throwaway:HALTON
"""

SPACE = """\
name: plugins
task: digits/mlp
budget: tiny
seeds: [0]
trials: 3
concurrency: 1
sampler: {name: halton, seed: 3}
schedule:
  profile: staircase
  form: repeated
  staircase_steps: {low: 2, high: 6}
  num_cycles: {low: 1, high: 4}
  min_bits: {low: 3, high: 5}
  max_bits: 8
  min_grad_bits: 8
"""


@pytest.fixture()
def plugin_env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    (site / "cpt_throwaway").mkdir(parents=True)
    (site / "cpt_throwaway" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "cpt_throwaway-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cpt-throwaway\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    return env


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cpt_search", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_plugin_profile_in_the_schedule_command_and_its_errors(plugin_env, tmp_path: Path) -> None:
    done = cli(["schedule", "--profile", "staircase", "--cycles", "1", "--min-bits", "3", "--max-bits", "7",
                "--total-steps", "8", "--format", "csv"], plugin_env, tmp_path)
    assert done.returncode == 0, done.stderr
    bits = [int(line.split(",")[1]) for line in done.stdout.splitlines()[1:]]
    assert bits == [3, 3, 4, 4, 5, 5, 6, 6]  # four stairs from 3 towards 7 (round half to even)
    typo = cli(["schedule", "--profile", "staircas", "--total-steps", "8"], plugin_env, tmp_path)
    assert typo.returncode == 2
    assert typo.stderr.count("\n") == 1 and "did you mean 'staircase'?" in typo.stderr
    assert "cosine" in typo.stderr and "staircase" in typo.stderr.split("known:")[1]


def test_a_broken_plugin_is_named_where_its_name_is_asked_for(plugin_env, tmp_path: Path) -> None:
    site = Path(plugin_env["PYTHONPATH"].split(os.pathsep)[0])
    (site / "cpt_throwaway-0.1.dist-info" / "entry_points.txt").write_text(
        "[cpt_search.profiles]\nstaircase = cpt_throwaway:Missing\n")
    fine = cli(["schedule", "--preset", "CR", "--total-steps", "8"], plugin_env, tmp_path)
    assert fine.returncode == 0, fine.stderr  # other commands do not notice the broken plugin
    broken = cli(["schedule", "--profile", "staircase", "--total-steps", "8"], plugin_env, tmp_path)
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1
    assert "entry point 'staircase' (cpt_throwaway:Missing) of cpt-throwaway in cpt_search.profiles failed to load" in broken.stderr


@pytest.mark.slow
def test_search_with_a_plugin_profile_and_sampler(plugin_env, tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    validated = cli(["validate", str(space)], plugin_env, tmp_path)
    assert validated.returncode == 0, validated.stderr
    assert "staircase_steps" in validated.stdout and "halton" in validated.stdout
    store = tmp_path / "store"
    ran = cli(["run", str(space), "--store", str(store), "--no-mlflow"], plugin_env, tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    front = cli(["front", "plugins", "--store", str(store), "--format", "json"], plugin_env, tmp_path)
    assert front.returncode == 0, front.stderr
    rows = json.loads(front.stdout)["front"]
    assert rows and all(row["schedule"]["profile"] == "staircase" for row in rows)
    assert all(2 <= row["schedule"]["staircase_steps"] <= 6 for row in rows)
    import optuna

    study = optuna.load_study(study_name="plugins", storage=f"sqlite:///{store / 'optuna.db'}")
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(finished) == 3 and all(t.user_attrs["schedule"]["profile"] == "staircase" for t in finished)
