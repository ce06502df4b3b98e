"""Fused C++ activation and error quantizers (``QuantConfig(backend="native")``, the default).

The eager kernels (:mod:`cpt_search.quant.kernels`) walk each tensor five to seven times, one ATen op
per step of the formula. ``native_kernels.cpp`` does the elementwise part in one pass (read ``x`` and
the noise, write the result), parallel over torch's own OpenMP threads; the range still comes from
``amin``/``amax``. On ResNet-20 activations this halves the quantizers' time
(``benchmarks/quant_overhead.py`` prints the effect on whole training steps). Round-to-nearest is the
eager result bit for bit; stochastic rounding evaluates docs/method.md §3's formula in its own order.

The extension is compiled with ``torch.utils.cpp_extension.load_inline`` on first use on a machine
(about 20 s; ``scripts/setup.sh`` does it ahead of time with ``python -m cpt_search.quant.native``) and
loaded from torch's extension cache (``$TORCH_EXTENSIONS_DIR``, else ``~/.cache/torch_extensions``) in
every later process in milliseconds. Without a C++ compiler, or for tensors it does not handle (not
float32, not on the CPU), the eager kernels do the work: one warning, the same quantizer, slower.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import sys
import threading
import time
from pathlib import Path

import torch

from cpt_search.quant import kernels
from cpt_search.quant.kernels import dense_layout, num_levels, tensor_range

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("native_kernels.cpp")
FUNCTIONS = ("quantize_affine", "quantize_affine_noisy")

_lock = threading.Lock()
_state: dict[str, object] = {}  # "module" (or None when unavailable), "seconds", "error"


def _arch_flags() -> list[str]:
    """Vector ISA flags for this CPU: without them ``std::rint`` is a libm call per element on x86."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return []  # aarch64: NEON rounding is part of the base ISA
    capability = torch.backends.cpu.get_cpu_capability()
    if capability in ("AVX2", "AVX512"):
        return ["-mavx2"]
    return ["-msse4.1"]  # every x86-64 CPU of the last 15 years


def _build():
    from torch.utils import cpp_extension

    arch = _arch_flags()
    # The ISA and the torch installation are part of the name, so machines sharing a home directory,
    # and virtualenvs sharing a machine, keep separate builds instead of rebuilding over each other.
    isa = "_".join(flag.lstrip("-m").replace(".", "") for flag in arch) or "base"
    install = hashlib.sha1(str(Path(torch.__file__).parent).encode()).hexdigest()[:8]
    name = f"cpt_search_quant_{isa}_{install}"
    if shutil.which("ninja") is None:
        # pip's ninja lives beside this interpreter, which is not on PATH when .venv is not activated.
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return cpp_extension.load_inline(
        name=name,
        cpp_sources=[SOURCE.read_text()],
        functions=list(FUNCTIONS),
        # -ffp-contract=off: no FMA, so the rounding matches the eager ops exactly (see the .cpp).
        extra_cflags=["-O3", "-fopenmp", "-ffp-contract=off", *arch],
        extra_ldflags=["-fopenmp"],  # resolves to the libgomp torch already loaded (same soname)
        verbose=False,
    )


def load():
    """The compiled extension module, or ``None`` when it cannot be built here (warned once)."""
    if "module" in _state:
        return _state["module"]
    with _lock:
        if "module" not in _state:
            start = time.perf_counter()
            # Importing cpp_extension warns about a missing CUDA toolkit: irrelevant for a CPU build.
            cpp_logger = logging.getLogger("torch.utils.cpp_extension")
            level = cpp_logger.level
            cpp_logger.setLevel(logging.ERROR)
            try:
                module = _build()
            except Exception as error:  # noqa: BLE001 - no compiler, no ninja, read-only cache: run eager
                module = None
                last_line = (str(error).strip().splitlines() or [""])[-1]  # compiler output can be long
                _state["error"] = f"{type(error).__name__}: {last_line}"
                logger.warning(
                    "native quantizer kernels unavailable (%s); using the eager kernels (the same "
                    "quantizer, slower). Install a C++ compiler (g++) to enable them.", _state["error"])
            finally:
                cpp_logger.setLevel(level)
            _state["seconds"] = time.perf_counter() - start
            _state["module"] = module
    return _state["module"]


def available() -> bool:
    """Whether the fused kernels run in this process (builds them on first call)."""
    return load() is not None


def build_seconds() -> float | None:
    """Wall time the first :func:`load` took in this process (a build, or a cache hit), if it ran."""
    return _state.get("seconds")  # type: ignore[return-value]


def _native_for(x: torch.Tensor):
    """The extension when it handles ``x`` (float32 on the CPU), else ``None``."""
    if x.dtype is not torch.float32 or x.device.type != "cpu":
        return None
    return load()


def quantize_with_range(x: torch.Tensor, bits: int, lo, hi, *, clamp: bool) -> torch.Tensor:
    """Native :func:`cpt_search.quant.kernels.quantize_with_range` (same signature, same bits)."""
    native = _native_for(x)
    if native is None or not isinstance(lo, float):
        return kernels.quantize_with_range(x, bits, lo, hi, clamp=clamp)
    scale, inverse = kernels.scale_and_inverse(lo, hi, bits)
    return native.quantize_affine(dense_layout(x), lo, inverse, scale, float(num_levels(bits)), clamp)


def quantize_nearest(x: torch.Tensor, bits: int):
    """Native :func:`cpt_search.quant.kernels.quantize_nearest`: ``(x_hat, min, max)``."""
    if _native_for(x) is None:
        return kernels.quantize_nearest(x, bits)
    x = dense_layout(x)
    lo, hi = tensor_range(x)
    return quantize_with_range(x, bits, lo, hi, clamp=False), lo, hi


def quantize_stochastic(x: torch.Tensor, bits: int, noise: torch.Tensor | None = None) -> torch.Tensor:
    """Native :func:`cpt_search.quant.kernels.quantize_stochastic`.

    ``noise``: optional dense U(-0.5, 0.5) values, one per element in storage order (tests pass their
    own); by default a window of the process-wide :class:`~cpt_search.quant.kernels.NoiseTable`.
    """
    native = _native_for(x)
    if native is None:
        return kernels.quantize_stochastic(x, bits)
    x = dense_layout(x)
    lo, hi = tensor_range(x)
    scale, inverse = kernels.scale_and_inverse(lo, hi, bits)
    if noise is None:
        noise = kernels.noise_table(x.device, x.dtype).flat_window(x.numel())
    return native.quantize_affine_noisy(x, noise, lo, inverse, scale, float(num_levels(bits)))


def main() -> int:
    """``python -m cpt_search.quant.native``: build (or load) the extension now and say how it went."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    module = load()
    if module is None:
        print(f"native quantizer kernels: unavailable ({_state['error']}); the eager kernels will run")
        return 1
    print(f"native quantizer kernels: ready in {build_seconds():.1f} s ({module.__file__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
