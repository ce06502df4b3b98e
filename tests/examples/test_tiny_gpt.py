"""examples/tiny_gpt: the transformer task as a user would name it, quantized where the docstring says."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cpt_search.presets import static
from cpt_search.space import load_space

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tiny_gpt"


def test_space_resolves_the_task_in_its_own_folder() -> None:
    space = load_space(EXAMPLE / "space.yaml")
    assert space.task == "tiny_gpt:TinyGPT" and space.code_dirs[0] == str(EXAMPLE)
    assert space.objective.metric == "val_bpc" and space.direction == "minimize"
    assert space.cost_steps == 240  # exact, from the budget, before any data is loaded


def test_every_linear_but_the_head_is_quantized() -> None:
    from torch import nn

    from cpt_search.quant import QuantConfig, count_macs, quantize_
    from cpt_search.quant.layers import QLinear
    from cpt_search.tasks.resolve import resolve_task

    task = resolve_task("tiny_gpt:TinyGPT", search_dirs=[EXAMPLE]).load()
    import tiny_gpt

    budget = task.budget("default")
    model = tiny_gpt.GPT(65, budget)
    linears = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    assert 150_000 < sum(p.numel() for p in model.parameters()) < 500_000
    handle = quantize_(model, task.quant_config())
    assert isinstance(task.quant_config(), QuantConfig)
    quantized = set(handle.layer_names)
    assert quantized == set(linears) - {"lm_head"} and len(quantized) == 4 * budget.n_layer
    assert all(isinstance(model.get_submodule(name), QLinear) for name in quantized)
    import torch

    layers = count_macs(model, torch.zeros(1, budget.block_size, dtype=torch.long), handle=handle)
    per_token = {layer.name: layer.macs_per_sample // budget.block_size for layer in layers}
    assert per_token["blocks.0.attn.qkv"] == 64 * 192 and per_token["lm_head"] == 64 * 65


@pytest.mark.parametrize("bits", [32, 8])
def test_tiny_budget_trains_to_a_finite_bpc(data_dir, bits: int) -> None:
    from cpt_search.tasks.resolve import resolve_task
    from cpt_search.training import TrialSpec, run_trial

    resolve_task("tiny_gpt:TinyGPT", search_dirs=[EXAMPLE])
    result = run_trial(TrialSpec(task="tiny_gpt:TinyGPT", budget="tiny", schedule=static(bits, bits),
                                 seed=0, data_dir=str(data_dir), threads=1))
    assert result.metric_name == "val_bpc" and result.test_metric_name == "test_bpc"
    assert math.isfinite(result.metric) and 1.0 < result.metric < 8.0  # log2(65) = 6.02 bits at chance
    assert result.total_steps == 8
    assert result.relative_cost == pytest.approx(1.0 if bits == 32 else 0.06, abs=0.03)
