"""Shared by the classification tests: PyTorch references with the class axis last."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import torch

REDUCTIONS = ("mean", "sum", "none")
CLASS_SHAPES = [(6,), (3, 4), (2, 3, 2)]  # leading shapes: [B], tokens [B, T], pixels [B, H, W]
C = 5


def to_torch(a, grad=False):
    t = torch.tensor(
        np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
    )
    return t.requires_grad_(grad) if grad else t


def class_first(t):
    return t.movedim(-1, 1).contiguous() if t.dim() > 2 else t


def jax_value_grad(fn, x, *args, **kwargs):
    x = jnp.asarray(x)
    value = fn(x, *args, **kwargs)
    grad = jax.grad(lambda a: jnp.sum(fn(a, *args, **kwargs)))(x)
    return value, grad


def torch_value_grad(fn, x, *args, class_axis=False, **kwargs):
    tx = to_torch(x, grad=True)
    inp = class_first(tx) if class_axis else tx
    out = fn(inp, *args, **kwargs)
    out.sum().backward()
    return out.detach().numpy(), tx.grad.numpy()


def random_labels(shape, rng, ignore=True):
    y = rng.integers(0, C, size=shape)
    if ignore:
        y.flat[::4] = -100
    return y
