"""The registry and the one-line error type."""

import pytest

from cpt_search.errors import ConfigError, UnknownNameError
from cpt_search.registry import Registry


def test_registry_lookup_filter_and_suggestion():
    registry: Registry[int] = Registry("task")
    for name in ("cora/gcn", "citeseer/gcn", "digits/mlp"):
        registry.register(name, len(name))
    assert registry.get("digits/mlp") == 10
    assert registry.names("*/gcn") == ["cora/gcn", "citeseer/gcn"]
    with pytest.raises(UnknownNameError) as info:
        registry.get("cora/gnc", where="space.yaml")
    assert str(info.value) == ("space.yaml: task='cora/gnc': unknown task; did you mean 'cora/gcn'? "
                               "known: cora/gcn, citeseer/gcn, digits/mlp")
    with pytest.raises(ConfigError, match="registered twice"):
        registry.register("cora/gcn", 0)


def test_error_is_always_one_line():
    error = ConfigError("bad\nthing", where="a.yaml", key="k", value="v\nw", fix="do\nthis")
    assert "\n" not in str(error)
    assert str(ConfigError("m", key="k", value=None)) == "k=None: m"
    assert str(ConfigError("m")) == "m"


def test_a_plugin_of_the_wrong_kind_or_name_is_named_and_not_registered(tmp_path, monkeypatch):
    from cpt_search.profiles import Linear, Profile

    (tmp_path / "wrong_plugin.py").write_text(
        "from cpt_search.profiles import Linear\n"
        "class Renamed(Linear):\n    name = 'other'\n"
        "NOT_A_PROFILE = 3\n")
    info = tmp_path / "wrong_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wrong-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[cpt_search_test.profiles]\nnumber = wrong_plugin:NOT_A_PROFILE\n"
                                           "renamed = wrong_plugin:Renamed\nlinear2 = wrong_plugin:Renamed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry: Registry[Profile] = Registry("profile", plugins="cpt_search_test.profiles", entry_type=Profile)
    registry.register("linear", Linear())
    with pytest.raises(UnknownNameError) as caught:
        registry.get("number")
    message = str(caught.value)
    assert "entry point 'number' (wrong_plugin:NOT_A_PROFILE) of wrong-plugin" in message
    assert "must name a Profile (or a subclass) whose name is the entry point's" in message
    assert "entry point 'renamed'" in message  # a Profile subclass named 'other' is refused too
    assert registry.names() == ["linear"]
