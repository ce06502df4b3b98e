"""Installed packages register tasks under the entry-point group ``cpt_search.tasks``.

A real ``*.dist-info`` folder with an ``entry_points.txt`` in a temporary directory on ``sys.path``
is what pip leaves behind; importlib.metadata reads it as it reads any installed package.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from cpt_search.errors import UnknownNameError
from cpt_search.tasks import TASKS
from cpt_search.tasks import resolve as resolve_module

MODULE = textwrap.dedent('''
    from cpt_search.tasks import TASKS
    from cpt_search.tasks.digits import DigitsMLP

    class PluginTask(DigitsMLP):
        dataset = "digits"
        metric_name = "test_accuracy"
        budgets = TASKS.get("digits/mlp").budgets
''')


def _install(tmp_path, value: str) -> None:
    (tmp_path / "plugin_tasks.py").write_text(MODULE)
    info = tmp_path / "plugin_tasks-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugin-tasks\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[cpt_search.tasks]\nplugin/mlp = {value}\n")


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(TASKS, "_plugins_loaded", False)
    monkeypatch.setattr(TASKS, "_plugin_failures", [])
    yield tmp_path
    TASKS._entries.pop("plugin/mlp", None)
    sys.modules.pop("plugin_tasks", None)


def test_an_installed_entry_point_is_a_registered_task(fresh):
    _install(fresh, "plugin_tasks:PluginTask")
    info = resolve_module.resolve_task("plugin/mlp")
    assert info.metric_name == "test_accuracy" and info.name == "plugin/mlp"
    assert "plugin/mlp" in TASKS
    assert type(info.load()).__name__ == "PluginTask"


def test_a_broken_entry_point_is_one_line_naming_it(fresh):
    _install(fresh, "plugin_tasks:Missing")
    with pytest.raises(UnknownNameError, match="entry point 'plugin/mlp' .* of plugin-tasks in cpt_search.tasks failed to load.*no attribute 'Missing'"):
        resolve_module.resolve_task("plugin/mlp")
