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
