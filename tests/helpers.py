"""Shared test utilities: registry examples and call helpers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from jaxloss.catalogue import registry
from jaxloss.catalogue.registry import Example, LossSpec

SPECS = jaxloss.registry.all_losses()
IDS = [s.name for s in SPECS]
BATCH = 32


def example(spec: LossSpec, batch: int = BATCH, extreme: bool = False, seed: int = 0) -> Example:
    return spec.example(jax.random.key(seed), batch, extreme)


def draws_random(ex: Example) -> bool:
    """Whether the example hands the loss a PRNG key: the loss then draws random
    numbers over its batch, so slicing rows away changes the other rows' draws."""
    return any(
        isinstance(v, jax.Array) and jnp.issubdtype(v.dtype, jax.dtypes.prng_key)
        for v in ex.kwargs.values()
    )


def call(spec: LossSpec, ex: Example, args=None, **overrides):
    return registry.call(spec, ex, args, **overrides)


def grads(spec: LossSpec, ex: Example, args=None, **overrides):
    """Gradient of the summed output with respect to every differentiable argument."""
    args = list(ex.args if args is None else args)

    def f(*diff):
        full = list(args)
        for i, d in zip(ex.diff_argnums, diff, strict=True):
            full[i] = d
        return jnp.sum(registry.call(spec, ex, full, **overrides))

    return jax.grad(f, argnums=tuple(range(len(ex.diff_argnums))))(
        *[args[i] for i in ex.diff_argnums]
    )


def compiled(spec: LossSpec, ex: Example, args=None, *, with_grads: bool = True, **overrides):
    """``(value, grads)`` of ``call`` (or the value alone), compiled as one program.

    The harness compiles each check once instead of running it op by op: most of
    the suite's time is compilation, and one program per check is the cheapest."""
    args = tuple(ex.args if args is None else args)

    def f(*a):
        value = registry.call(spec, ex, a, **overrides)
        return (value, grads(spec, ex, a, **overrides)) if with_grads else value

    return jax.jit(f)(*args)


def arg_rows(spec: LossSpec, args, rows):
    """Per positional argument, the part of ``rows`` (a mask or values over the
    "none" output's rows) that lines up with that argument's own rows; None for
    an argument shared by every row. With ``spec.row_blocks`` each group of
    arguments takes its slice of the concatenation; without, every per-row
    argument takes all of ``rows``."""
    if not spec.row_blocks:
        return [None if i in spec.shared_args else rows for i in range(len(args))]
    parts = [None] * len(args)
    start = 0
    for block in spec.row_blocks:
        stop = start + args[block[0]].shape[0]
        for i in block:
            parts[i] = rows[start:stop]
        start = stop
    return parts


def shard_row_order(spec: LossSpec, args, shards: int) -> np.ndarray | None:
    """The "none" output's rows in the order ``shards`` devices see them locally
    when every per-row argument is split evenly over them: device 0's rows, then
    device 1's... None when that is the output's own order (no ``row_blocks``)."""
    if not spec.row_blocks:
        return None
    starts, sizes, start = [], [], 0
    for block in spec.row_blocks:
        rows = args[block[0]].shape[0]
        assert rows % shards == 0, f"{spec.name}: {rows} rows over {shards} devices"
        starts.append(start)
        sizes.append(rows // shards)
        start += rows
    return np.concatenate(
        [
            np.arange(s + d * n, s + (d + 1) * n)
            for d in range(shards)
            for s, n in zip(starts, sizes, strict=True)
        ]
    )


def row_mask(batch: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = rng.random(batch) < 0.6
    mask[:2] = [True, False]
    return mask


def broadcast_rows(mask: np.ndarray, ndim: int) -> jax.Array:
    return jnp.asarray(mask).reshape(mask.shape + (1,) * (ndim - 1))


def assert_close(a, b, rtol=1e-5, atol=1e-6):
    leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(leaves_a) == len(leaves_b), f"{len(leaves_a)} arrays vs {len(leaves_b)}"
    for x, y in zip(leaves_a, leaves_b, strict=True):
        np.testing.assert_allclose(
            np.asarray(x, np.float64), np.asarray(y, np.float64), rtol=rtol, atol=atol
        )
