"""Keep freed memory in the process: CPU training allocates the same large tensors every step.

glibc serves every allocation above ``M_MMAP_THRESHOLD`` (128 KiB to start) with a fresh ``mmap`` and
returns it to the kernel on ``free``, so each step's activations, gradients and quantizer outputs
(megabytes each) are page-faulted in again, one 4 KiB page at a time. On this project's 2-core CPU
that cost a ResNet-20 training step 6 % in FP32 and the quantized step more (it allocates more):
measured with ``benchmarks/quant_overhead.py``, the quantized/FP32 step ratio fell from 1.27 to 1.16
at 1 thread. Raising the mmap threshold and the trim threshold makes glibc keep and reuse the memory
(PyTorch's CPU allocator has no cache of its own). Elsewhere (macOS, musl) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

# mallopt parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's maximum on 64-bit; larger blocks are still mmapped
TRIM_THRESHOLD_BYTES = 2**30  # give memory back to the kernel only past 1 GiB of free heap top
TOP_PAD_BYTES = 512 * 2**20  # grow the heap in 512 MiB steps (address space only until touched)

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Tune glibc malloc once per process; returns whether it applied (False off glibc)."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                    and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
                    and mallopt(_M_TOP_PAD, TOP_PAD_BYTES))
    log.debug("glibc malloc keeps freed memory: %s", _applied)
    return _applied
