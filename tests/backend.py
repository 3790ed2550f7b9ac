"""Test tolerances by backend and dtype: one policy for the whole suite.

On the CPU a float32 loss agrees with a float64 reference to about 1e-6; on a GPU
reductions run in another order (and in parallel), and matmuls may run at the
backend's default precision: TF32-class on recent NVIDIA GPUs, one bfloat16
pass on TPUs. A test compares

* elementwise and reduction results with ``tolerance(dtype)``,
* results built on matmuls (similarity matrices, the fused loss's logits) with
  ``tolerance(dtype, matmul=True)``, unless the loss sets
  ``precision=HIGHEST`` itself (then the elementwise tolerance applies),
* two computations that should agree exactly on one backend (a masked row that
  must not leak, the same program twice) with ``same_or_close``: bit for bit on
  the CPU, where the order of a reduction is fixed, to a few ulps elsewhere.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

# (rtol, atol) of float32 results per backend; matmul: at default precision
_F32 = {"cpu": (1e-5, 1e-6), "gpu": (2e-5, 1e-6), "tpu": (5e-5, 1e-6)}
_F32_MATMUL = {"cpu": (1e-5, 1e-6), "gpu": (2e-3, 1e-5), "tpu": (2e-2, 1e-4)}
# 16-bit floats: a few units of their last place, whatever the backend
_LOW = {"bfloat16": (2e-2, 1e-3), "float16": (2e-3, 1e-4)}
_F64 = (1e-10, 1e-12)


def platform() -> str:
    """``"cpu"``, ``"gpu"`` or ``"tpu"``: where the tests run."""
    name = jax.default_backend()
    return "gpu" if name in ("cuda", "rocm", "gpu") else name


def tolerance(dtype=jnp.float32, *, matmul: bool = False, backend: str | None = None) -> dict:
    """``{"rtol": ..., "atol": ...}`` for results of ``dtype`` on ``backend``."""
    backend = backend or platform()
    name = jnp.dtype(dtype).name
    if name in _LOW:
        rtol, atol = _LOW[name]
    elif name == "float64":
        rtol, atol = _F64 if backend == "cpu" or not matmul else _F32_MATMUL[backend]
    else:
        rtol, atol = (_F32_MATMUL if matmul else _F32).get(backend, _F32_MATMUL["gpu"])
    return {"rtol": rtol, "atol": atol}


def same_or_close(a, b, *, ulps: int = 4, backend: str | None = None) -> None:
    """Bit for bit on the CPU; within ``ulps`` units in the last place (relative
    to each array's largest magnitude) on an accelerator."""
    backend = backend or platform()
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        x, y = np.asarray(x), np.asarray(y)
        if backend == "cpu":
            np.testing.assert_array_equal(x, y)
            continue
        eps = float(jnp.finfo(x.dtype).eps) if jnp.issubdtype(x.dtype, jnp.inexact) else 0.0
        scale = max(float(np.max(np.abs(y), initial=0.0)), 1.0)
        np.testing.assert_allclose(x, y, rtol=0, atol=ulps * eps * scale)
