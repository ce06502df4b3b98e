"""Count the multiply-accumulates of every linear map in a model, per sample, by running it once.

The cost model (:mod:`cpt_search.costs`, docs/method.md §2) charges each layer ``M * (b^2 + 2 b g)`` bit
operations per sample and step, with ``M`` its forward MACs per sample; this module measures ``M``
with forward hooks on one example batch, so shapes that only exist at run time (a graph's node count,
a sequence length, calls per step of a recurrent cell) are counted as they really occur.

Counted maps (each call adds up):

* ``nn.Conv2d``: ``output elements * in_channels / groups * kernel_h * kernel_w``;
* ``nn.Linear``: ``output elements * in_features``;
* torch-geometric ``GCNConv``: its linear map, ``nodes * in_channels * out_channels`` (aggregation
  is not a MAC of the weight and stays FP32 anyway);
* ``nn.LSTM``: per layer and direction ``steps * batch * 4 * hidden * (input + hidden)`` (plus
  ``steps * batch * hidden * proj_size`` with a projection).
"""

from __future__ import annotations

import sys
from collections import defaultdict

import torch
from torch import nn

from cpt_search.costs import LayerMacs
from cpt_search.errors import ConfigError
from cpt_search.quant.layers import QuantLayer


def _conv2d_macs(module: nn.Conv2d, inputs, output: torch.Tensor) -> int:
    kh, kw = module.kernel_size
    return output.numel() * (module.in_channels // module.groups) * kh * kw


def _linear_macs(module: nn.Linear, inputs, output: torch.Tensor) -> int:
    return output.numel() * module.in_features


def _gcn_macs(module, inputs, output: torch.Tensor) -> int:
    x = inputs[0]
    return x.size(module.node_dim) * module.lin.weight.numel()  # nodes * in * out, lazy-safe


def _lstm_macs(module: nn.LSTM, inputs, output) -> int:
    x = inputs[0]
    if isinstance(x, nn.utils.rnn.PackedSequence):
        rows = int(x.data.shape[0])  # one row per (step, sequence) actually computed
    elif x.dim() == 2:
        rows = x.shape[0]  # unbatched (steps, features)
    else:
        rows = x.shape[0] * x.shape[1]
    hidden, proj = module.hidden_size, module.proj_size
    out_size = proj or hidden
    directions = 2 if module.bidirectional else 1
    total = 0
    for layer in range(module.num_layers):
        in_size = module.input_size if layer == 0 else out_size * directions
        per_row = 4 * hidden * (in_size + out_size) + (hidden * proj if proj else 0)
        total += rows * per_row * directions
    return total


def _counters() -> list[tuple[type, object]]:
    table: list[tuple[type, object]] = [
        (nn.Conv2d, _conv2d_macs),
        (nn.Linear, _linear_macs),
        (nn.LSTM, _lstm_macs),
    ]
    if "torch_geometric" in sys.modules:  # no GCNConv can exist before torch-geometric is imported
        from torch_geometric.nn import GCNConv

        table.append((GCNConv, _gcn_macs))
    return table


def _is_graph_model(model: nn.Module) -> bool:
    if "torch_geometric" not in sys.modules:
        return False
    from torch_geometric.nn import MessagePassing

    return any(isinstance(m, MessagePassing) for m in model.modules())


def _infer_batch_size(model: nn.Module, example_inputs: tuple) -> int:
    if _is_graph_model(model):
        return 1  # full-batch graph: one sample is the whole graph
    for value in example_inputs:
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            return int(value.shape[0])
    raise ConfigError(
        "cannot tell the batch size from the example inputs",
        where="count_macs",
        key="example_inputs",
        value=tuple(type(v).__name__ for v in example_inputs),
        fix="pass batch_size=",
    )


def count_macs(
    model: nn.Module,
    *example_inputs,
    handle=None,
    batch_size: int | None = None,
    **example_kwargs,
) -> list[LayerMacs]:
    """Forward MACs per sample of every Conv2d / Linear / GCNConv / LSTM map in ``model``.

    Runs ``model(*example_inputs, **example_kwargs)`` once in evaluation mode without gradients (the
    training flags of all modules are restored afterwards; no running statistic changes).

    Args:
        model: the model, quantized or not.
        example_inputs: one example batch.
        handle: the :class:`~cpt_search.quant.QuantHandle` of the model; its layers get
            ``quantized=True``. Without it, quantized twins are recognised by their class.
        batch_size: samples in the example batch. Default: 1 for a graph model (a full-batch graph
            is one sample), else the size of dim 0 of the first tensor input.

    Returns:
        One :class:`~cpt_search.costs.LayerMacs` per layer that ran, in ``named_modules()`` order;
        ``macs_per_sample`` is the batch's MACs divided by ``batch_size`` (rounded to an integer).
    """
    if batch_size is None:
        batch_size = _infer_batch_size(model, example_inputs)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError("batch_size must be a positive integer", where="count_macs", key="batch_size",
                          value=batch_size)
    quantized_names = set(handle.layer_names) if handle is not None else None
    counters = _counters()
    totals: dict[str, int] = defaultdict(int)
    hooks: list[torch.utils.hooks.RemovableHandle] = []
    order: list[tuple[str, nn.Module]] = []
    for name, module in model.named_modules():
        counter = next((fn for cls, fn in counters if isinstance(module, cls)), None)
        if counter is None:
            continue
        order.append((name, module))

        def hook(mod, inputs, output, _name=name, _counter=counter):
            totals[_name] += int(_counter(mod, inputs, output))

        hooks.append(module.register_forward_hook(hook))
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            model(*example_inputs, **example_kwargs)
    finally:
        for removable in hooks:
            removable.remove()
        for module, training in modes.items():
            module.training = training
    result = []
    for name, module in order:
        if name not in totals:
            continue  # never called in this forward: costs nothing
        quantized = name in quantized_names if quantized_names is not None else isinstance(module, QuantLayer)
        result.append(LayerMacs(name=name, macs_per_sample=round(totals[name] / batch_size), quantized=quantized))
    return result


__all__ = ["count_macs"]
