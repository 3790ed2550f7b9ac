"""Shared by the regression tests: random inputs, and values and gradients under
JAX and under float64 PyTorch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch
from helpers import assert_close

SHAPES = [(7,), (4, 5), (2, 3, 4)]
REDUCTIONS = ("mean", "sum", "none")


def inputs(shape, seed, n=2, positive=False):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(scale=2.0, size=shape).astype(np.float32) for _ in range(n)]
    return [np.exp(x / 2) if positive else x for x in xs]


def torch_value_and_grads(fn, arrays, **kwargs):
    """Value and gradients of the summed output under torch in float64."""
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*ts, **kwargs)
    out.sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in ts]  # pyright: ignore[reportOptionalMemberAccess]


def jax_value_and_grads(fn, arrays, **kwargs):
    arrays = [jnp.asarray(a) for a in arrays]
    value = fn(*arrays, **kwargs)
    g = jax.grad(lambda *a: jnp.sum(fn(*a, **kwargs)), argnums=tuple(range(len(arrays))))(*arrays)
    return value, list(g)


def check_torch(jfn, tfn, arrays, jkw=None, tkw=None, rtol=2e-5, atol=1e-5):
    for reduction in REDUCTIONS:
        ours = jax_value_and_grads(jfn, arrays, reduction=reduction, **(jkw or {}))
        ref = torch_value_and_grads(tfn, arrays, reduction=reduction, **(tkw or jkw or {}))
        assert_close(ours[0], ref[0], rtol=rtol, atol=atol)
        assert_close(ours[1], ref[1], rtol=rtol, atol=atol)
