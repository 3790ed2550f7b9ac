"""One public function, the best form per backend.

XLA's CPU and accelerator back ends disagree about which of two equivalent forms
is faster (a ``segment_sum`` or a one-hot matmul, a ``lax.cond`` or both branches
and a select). :func:`by_platform` traces every form and keeps the one for the
platform the program is lowered for, at lowering time (``jax.lax.platform_dependent``):
the same jitted function, exported for CPU, GPU and TPU, runs each its own form.
Every form must compute the same numbers; the tests call each one directly.

:func:`block_elements` is the static counterpart for sizes that fix shapes (a
block of logits): it reads the default backend at trace time, so a program
lowered for another platform than the default only gets a different block size,
never different numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

__all__ = ["ACCELERATORS", "block_elements", "by_platform", "trace_platform"]

ACCELERATORS = ("cuda", "rocm", "tpu")

# float32 elements of one block of temporaries (e.g. [tokens, vocabulary] logits):
# 32 MiB keeps a CPU's caches busy without paging; an accelerator's matmuls
# saturate only at a few hundred MiB
_BLOCK = {"cpu": 1 << 23, "gpu": 1 << 26, "tpu": 1 << 26}
# at most this share of an accelerator's memory for one block
_MEMORY_SHARE = 64


def by_platform(
    *args: Any, cpu: Callable[..., Any], accelerator: Callable[..., Any] | None = None
) -> Any:
    """``cpu(*args)`` when lowered for the CPU, ``accelerator(*args)`` for GPU and TPU.

    Both are traced (they must take and return the same shapes and dtypes); XLA
    keeps the one for the platform it compiles for. Without ``accelerator``,
    ``cpu`` runs everywhere.
    """
    if accelerator is None:
        return cpu(*args)
    return jax.lax.platform_dependent(*args, cpu=cpu, default=accelerator)


def trace_platform() -> str:
    """The platform a trace is most likely lowered for: ``"cpu"``, ``"gpu"`` or
    ``"tpu"`` (JAX's default backend)."""
    name = jax.default_backend()
    return "gpu" if name in ("cuda", "rocm", "gpu") else name


def block_elements(platform: str | None = None) -> int:
    """Float32 elements per block of temporaries for ``platform`` (default: the
    trace platform), capped on accelerators at 1/64 of the first device's memory."""
    platform = platform or trace_platform()
    elements = _BLOCK.get(platform, _BLOCK["gpu"])
    if platform != "cpu":
        try:
            stats = jax.devices()[0].memory_stats() or {}
        except Exception:  # a backend without memory statistics
            stats = {}
        limit = stats.get("bytes_limit")
        if limit:
            elements = max(1 << 20, min(elements, int(limit) // _MEMORY_SHARE // 4))
    return elements
