"""What the embedding tests share: float64 torch references, value-and-gradient
pairs, and the shard_map check that a data-parallel run equals the global batch."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P


def torch_leaf(a, grad=True):
    return torch.tensor(np.asarray(a, np.float64), requires_grad=grad)


def value_and_grads(fn, arrays, n_diff, **kwargs):
    arrays = [jnp.asarray(a) for a in arrays]

    def f(*diff):
        return fn(*diff, *arrays[n_diff:], **kwargs)

    value = jax.jit(f)(*arrays[:n_diff])
    grads = jax.jit(jax.grad(lambda *d: jnp.sum(f(*d)), argnums=tuple(range(n_diff))))(
        *arrays[:n_diff]
    )
    return value, grads


def torch_value_and_grads(fn, arrays, n_diff):
    leaves = [torch_leaf(a) for a in arrays[:n_diff]]
    out = fn(*leaves, *arrays[n_diff:])
    out.sum().backward()
    return out.detach().numpy(), tuple(np.asarray(leaf.grad) for leaf in leaves)


def rows(rng, *shape):
    return rng.standard_normal(shape)


def cos_matrix(a, b):
    return F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T


def assert_raises_eagerly_and_under_jit(call_, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call_()
    with pytest.raises(ValueError, match=re.escape(message)):
        jax.jit(call_)()


def assert_sharded_equals_global(fn, kind, kwargs):
    """``fn(x, other, axis_name="batch")`` under shard_map over 8 devices equals
    ``fn`` on the global batch, in value and gradient with respect to ``x``."""
    rng = np.random.default_rng(12)
    x = jnp.asarray(rng.standard_normal((32, 6)), jnp.float32)
    other = (
        jnp.asarray(rng.integers(0, 5, 32))
        if kind == "labelled"
        else jnp.asarray(rng.standard_normal((32, 6)), jnp.float32)
    )
    args = (x, other)
    if kind == "negatives":
        kwargs = {"negatives": jnp.asarray(rng.standard_normal((32, 2, 6)), jnp.float32)}

    def local(x, other, **kw):
        return fn(x, other, axis_name="batch", **kw)

    mesh = Mesh(np.asarray(jax.devices()), ("batch",))
    kw_specs = {k: P("batch") for k in kwargs if k == "negatives"}
    if kw_specs:
        mapped = jax.shard_map(
            lambda a, b, n: local(a, b, negatives=n),
            mesh=mesh,
            in_specs=(P("batch"),) * 3,
            out_specs=P(),
        )
        call_mapped, call_single = (
            (lambda a: mapped(a, args[1], kwargs["negatives"])),
            (lambda a: fn(a, args[1], **kwargs)),
        )
    else:
        mapped = jax.shard_map(
            lambda a, b: local(a, b, **kwargs),
            mesh=mesh,
            in_specs=(P("batch"),) * 2,
            out_specs=P(),
        )
        call_mapped, call_single = (
            (lambda a: mapped(a, args[1])),
            (lambda a: fn(a, args[1], **kwargs)),
        )
    assert_close(
        jax.jit(jax.value_and_grad(call_mapped))(x),
        jax.value_and_grad(call_single)(x),
        rtol=1e-5,
        atol=1e-6,
    )
