"""Overhead of fake-quantized training over FP32 training, measured side by side in one process.

For each model and thread count, three copies of the same model (same initial weights) train on the
same batches: FP32, quantized with :func:`cpt_search.quant.quantize_` (the tuned engine), and quantized
with :func:`cpt_search.quant.reference.quantize_reference_` (the papers' straightforward elementwise
quantizer). Their steps are interleaved (FP32, tuned, reference, FP32, ...) so that load from other
processes hits all three alike; the ratio is the median of per-step ratios (paired medians).

Models (self-contained here; the real task models live in ``cpt_search.tasks``):

* ``resnet20``: CIFAR ResNet-20 (He et al. 2016, option-A shortcuts), batch 128, 3x32x32 input;
* ``cnn``: the small Fashion-MNIST CNN (2 conv + 2 linear), batch 256, 1x28x28 input;
* ``gcn``: 2-layer GCN (1433 -> 16 -> 7) on the real Cora graph (2708 nodes, full batch);
* ``tiny_gpt``: the character transformer of ``examples/tiny_gpt`` (4 blocks, width 64, 0.21 M
  parameters), its default budget's batch of 32 windows of 64 characters; every Linear but the
  output head quantized, attention products FP32 (see the example's docstring).

Quantized at 6 forward / 8 error bits (the cost of the quantizer does not depend on the bit width
below 32); first layer quantized, classifier FP32, as in the papers.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/quant_overhead.py --threads 1 2 --steps 20 [--json]
        [--backend native|eager|compile] [--channels-last] [--clock wall|cpu] [--models resnet20 cnn gcn]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cpt_search.malloc_tuning import keep_freed_memory
from cpt_search.quant import QuantConfig, quantize_
from cpt_search.quant.reference import quantize_reference_

PLANETOID_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "planetoid"
BITS, GRAD_BITS = 6, 8


# --- models --------------------------------------------------------------------------------------
class _BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes - in_planes if stride != 1 or in_planes != planes else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x
        if self.pad:  # option A: subsample and zero-pad channels, no parameters
            shortcut = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(out + shortcut)


class ResNet20(nn.Module):
    """CIFAR ResNet-20: 3 stages of 3 basic blocks, 16/32/64 channels."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(3):
                blocks.append(_BasicBlock(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


class SmallCNN(nn.Module):
    """Fashion-MNIST CNN: conv32-pool-conv64-pool-fc128-fc10."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def _load_cora():
    from torch_geometric.datasets import Planetoid

    # The processed graph is held in memory once loaded, so its folder goes away right after.
    with tempfile.TemporaryDirectory(prefix="cora_bench_") as root:
        raw = Path(root) / "Cora" / "raw"
        raw.mkdir(parents=True)
        for src in PLANETOID_DIR.glob("ind.cora.*"):
            (raw / src.name).symlink_to(src)
        with contextlib.redirect_stdout(sys.stderr):  # PyG says "Processing..." on stdout; keep --json clean
            return Planetoid(root, "Cora")[0]


class GCN(nn.Module):
    """Two GCNConv layers, 16 hidden units, dropout 0.5 between them (Kipf and Welling)."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        from torch_geometric.nn import GCNConv

        super().__init__()
        self.conv1 = GCNConv(in_features, 16, cached=True)
        self.conv2 = GCNConv(16, num_classes, cached=True)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, p=0.5, training=self.training)
        return self.conv2(x, edge_index)


# --- one workload = model factory + batches + loss -----------------------------------------------
def _image_workload(model: nn.Module, shape: tuple[int, ...], channels_last: bool):
    generator = torch.Generator().manual_seed(0)
    pool = [torch.randn(shape, generator=generator) for _ in range(4)]
    labels = [torch.randint(0, 10, (shape[0],), generator=generator) for _ in range(4)]
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)

    def batch(step: int):
        # A fresh tensor every step, as a data loader gives: nothing can be cached across steps.
        return (pool[step % 4].clone(memory_format=fmt),), labels[step % 4]

    return model, batch, None


def _gcn_workload():
    data = _load_cora()
    model = GCN(data.num_features, int(data.y.max()) + 1)
    mask = data.train_mask

    def batch(step: int):
        return (data.x, data.edge_index), data.y  # full batch: the same feature tensor every step

    return model, batch, mask


class _FlatLogits(nn.Module):
    """``[batch * time, vocab]`` logits, so the shared trainer's cross-entropy applies."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        logits = self.model(codes)
        return logits.reshape(-1, logits.shape[-1])


def _tiny_gpt_workload():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "tiny_gpt"))
    from tiny_gpt import GPT, TinyGPT

    budget = TinyGPT.budgets["default"]
    model = _FlatLogits(GPT(65, budget))  # Tiny Shakespeare has 65 characters
    generator = torch.Generator().manual_seed(0)
    pool = [torch.randint(0, 65, (budget.batch_size, budget.block_size + 1), generator=generator) for _ in range(4)]

    def batch(step: int):
        chunk = pool[step % 4].clone()
        return (chunk[:, :-1],), chunk[:, 1:].reshape(-1)

    return model, batch, None


def make_workload(name: str, channels_last: bool):
    """``(model, batch_fn, loss_mask)`` for one benchmark model."""
    torch.manual_seed(0)
    if name == "resnet20":
        return _image_workload(ResNet20(), (128, 3, 32, 32), channels_last)
    if name == "cnn":
        return _image_workload(SmallCNN(), (256, 1, 28, 28), channels_last)
    if name == "gcn":
        return _gcn_workload()
    if name == "tiny_gpt":
        return _tiny_gpt_workload()
    raise SystemExit(f"unknown model {name!r}")


CLOCKS = {
    "wall": time.perf_counter,
    # CPU time of this process: on a machine shared with other jobs, being descheduled does not count.
    # With several threads it also counts threads that spin while waiting, so prefer it at 1 thread.
    "cpu": time.process_time,
}


class _Trainer:
    def __init__(self, model: nn.Module, mask, clock=time.perf_counter) -> None:
        self.clock = clock
        self.model = model.train()
        self.mask = mask
        self.opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def step(self, inputs, target) -> float:
        start = self.clock()
        self.opt.zero_grad(set_to_none=True)
        out = self.model(*inputs)
        if self.mask is not None:
            out, target = out[self.mask], target[self.mask]
        F.cross_entropy(out, target).backward()
        self.opt.step()
        return self.clock() - start


def measure(
    name: str, threads: int, steps: int, warmup: int, channels_last: bool, backend: str = "native", clock: str = "wall"
) -> dict:
    """Paired timing of FP32 / tuned / reference training steps for one model and thread count."""
    torch.set_num_threads(threads)
    model, batch, mask = make_workload(name, channels_last)
    quant_model, ref_model = copy.deepcopy(model), copy.deepcopy(model)
    handle = quantize_(quant_model, QuantConfig(backend=backend))
    handle.set_bits(BITS, GRAD_BITS)
    ref_handle = quantize_reference_(ref_model, QuantConfig())
    ref_handle.set_bits(BITS, GRAD_BITS)
    trainers = {
        key: _Trainer(m, mask, CLOCKS[clock]) for key, m in (("fp32", model), ("quant", quant_model), ("ref", ref_model))
    }
    times: dict[str, list[float]] = {key: [] for key in trainers}
    start = time.perf_counter()
    trainers["quant"].step(*batch(0))  # first quantized step: includes building/loading the kernels
    first_step_s = time.perf_counter() - start
    for step in range(warmup + steps):
        inputs, target = batch(step)
        order = list(trainers) if step % 2 == 0 else list(reversed(trainers))  # no fixed position
        for key in order:
            elapsed = trainers[key].step(inputs, target)
            if step >= warmup:
                times[key].append(elapsed)
    fp32 = times["fp32"]
    ratio = statistics.median(q / f for q, f in zip(times["quant"], fp32))
    ref_ratio = statistics.median(r / f for r, f in zip(times["ref"], fp32))
    return {
        "threads": threads,
        "fp32_ms": 1e3 * statistics.median(fp32),
        "quant_ms": 1e3 * statistics.median(times["quant"]),
        "reference_ms": 1e3 * statistics.median(times["ref"]),
        "ratio": ratio,
        "reference_ratio": ref_ratio,
        "steps": steps,
        "quantized_layers": len(handle.layer_names),
        "backend": backend,
        "clock": clock,
        "first_quant_step_s": first_step_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per model and thread count")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["resnet20", "cnn", "gcn"])
    parser.add_argument("--channels-last", action="store_true", help="conv nets in channels_last (all copies)")
    parser.add_argument("--backend", choices=["native", "eager", "compile"], default="native",
                        help="QuantConfig.backend (native: the default of every trial)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or this process's CPU time (robust on a shared machine, 1 thread)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave glibc malloc's defaults (trials run with cpt_search.malloc_tuning)")
    args = parser.parse_args(argv)
    if not args.system_malloc:
        # As every trial does (run_trial); FP32 and quantized steps run in this one process alike.
        keep_freed_memory()
    os.environ.setdefault("OMP_NUM_THREADS", str(max(args.threads)))

    results: dict[str, dict] = {}
    if not args.json:
        print(f"{'model':<9} {'thr':>3} {'fp32 ms':>9} {'quant ms':>9} {'ratio':>6} {'ref ms':>9} {'ref ratio':>9}")
    for name in args.models:
        rows = []
        for threads in args.threads:
            row = measure(name, threads, args.steps, args.warmup, args.channels_last, args.backend, args.clock)
            rows.append(row)
            if not args.json:
                print(
                    f"{name:<9} {threads:>3} {row['fp32_ms']:>9.2f} {row['quant_ms']:>9.2f} {row['ratio']:>6.3f}"
                    f" {row['reference_ms']:>9.2f} {row['reference_ratio']:>9.3f}",
                    flush=True,
                )
        worst = max(rows, key=lambda r: r["ratio"])
        results[name] = {
            "ratio": worst["ratio"],
            "reference_ratio": max(r["reference_ratio"] for r in rows),
            "fp32_ms": worst["fp32_ms"],
            "quant_ms": worst["quant_ms"],
            "worst_threads": worst["threads"],
            "channels_last": args.channels_last,
            "backend": args.backend,
            "threads": {str(r["threads"]): r for r in rows},
        }
    if args.backend == "native":
        from cpt_search.quant import native

        # First load in this process: a C++ build on a fresh machine, a cache hit (~0 s) after that.
        results["native_load_seconds"] = native.build_seconds()
        if not args.json:
            print(f"native kernels loaded in {results['native_load_seconds']:.2f} s (build or cache hit)")
        if not native.available():
            print("warning: native kernels unavailable, the eager kernels were measured", file=sys.stderr)
    if args.json:
        if args.backend == "compile":
            from cpt_search.quant import compiled

            results["compile_seconds"] = dict(compiled.compile_seconds)
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
