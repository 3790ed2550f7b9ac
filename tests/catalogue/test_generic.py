"""Registry-driven tests: every registered loss, no per-loss special cases.

A loss that needs different inputs says so through its registry entry (its
example factory, ``diff_argnums``, ``linear_reduction``, ``weight_kind``).
"""

from __future__ import annotations

import inspect

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import (
    BATCH,
    IDS,
    SPECS,
    assert_close,
    broadcast_rows,
    call,
    draws_random,
    example,
    grads,
    row_mask,
)
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from jax.test_util import check_grads

REDUCTIONS = ("mean", "sum", "none")
# "sum" runs "mean"'s code but for the division by the count, which
# test_reductions_consistent checks for every loss; the costlier (compiled,
# sharded) tests run the other two only
DISTINCT = ("mean", "none")
pytestmark = pytest.mark.parametrize("spec", SPECS, ids=IDS)


def _unreduced_ndim(spec, ex):
    return len(jax.eval_shape(lambda *a: call(spec, ex, a, reduction="none"), *ex.args).shape)


def _rows(spec, args, take):
    """``take`` applied to every per-row argument; shared parameters pass unchanged."""
    return [a if i in spec.shared_args else take(a) for i, a in enumerate(args)]


def _row_where(spec, ex, mask):
    """A row mask shaped to broadcast where the loss expects ``where``."""
    ndim = _unreduced_ndim(spec, ex) if spec.where_like is None else ex.args[spec.where_like].ndim
    return broadcast_rows(mask, ndim)


def _skip_unreduced(spec, reduction):
    if reduction == "none" and not spec.unreduced:
        pytest.skip(f"{spec.name} is one statistic of the whole batch: no 'none' output")


@pytest.mark.parametrize("reduction", DISTINCT)
def test_jit_equals_eager(spec, reduction):
    _skip_unreduced(spec, reduction)
    ex = example(spec)
    eager = call(spec, ex, reduction=reduction)
    compiled = jax.jit(lambda *a: call(spec, ex, a, reduction=reduction))(*ex.args)
    assert_close(compiled, eager, rtol=1e-6)
    assert_close(
        jax.jit(lambda *a: grads(spec, ex, a, reduction=reduction))(*ex.args),
        grads(spec, ex, reduction=reduction),
        rtol=1e-5,
    )


def test_reductions_consistent(spec):
    ex = example(spec)
    if not spec.unreduced:
        mean, total = call(spec, ex, reduction="mean"), call(spec, ex, reduction="sum")
        assert mean.shape == total.shape == () and mean.dtype == jnp.float32
        assert_close(mean, total)
        with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum'; got 'none'"):
            call(spec, ex, reduction="none")
        return
    none = call(spec, ex, reduction="none")
    mean, total = call(spec, ex, reduction="mean"), call(spec, ex, reduction="sum")
    assert none.shape[0] == BATCH and mean.shape == () and total.shape == ()
    assert none.dtype == mean.dtype == total.dtype == jnp.float32
    if spec.linear_reduction:
        assert_close(total, jnp.sum(none), rtol=1e-5)
        assert_close(mean, jnp.sum(none) / (ex.counted or none.size), rtol=1e-5)


@pytest.mark.parametrize("reduction", ("mean", "sum"))
def test_where_equals_slicing(spec, reduction):
    ex = example(spec)
    mask = row_mask(BATCH)
    where = _row_where(spec, ex, mask)
    masked = call(spec, ex, reduction=reduction, where=where)
    if draws_random(ex):
        # slicing would change the kept rows' draws: the reference is the same
        # batch's unreduced loss without the masked rows
        kept = call(spec, ex, reduction="none")[mask]
        sliced = jnp.sum(kept) if reduction == "sum" else jnp.sum(kept) / kept.size
    else:
        sliced = call(spec, ex, _rows(spec, ex.args, lambda a: a[mask]), reduction=reduction)
    if spec.where_drops_rows:
        assert_close(masked, sliced, rtol=1e-5)
    else:  # masked rows still count in the mean, as zeros
        assert not np.allclose(masked, sliced)
    # masked-out rows get exactly zero gradient
    g = grads(spec, ex, reduction=reduction, where=where)
    for i, gi in zip(ex.diff_argnums, g, strict=True):
        if i not in spec.shared_args:
            assert np.all(np.asarray(gi)[~mask] == 0)
    if spec.unreduced:
        unreduced = call(spec, ex, reduction="none", where=where)
        assert np.all(np.asarray(unreduced)[~mask] == 0)


def test_nan_in_masked_rows_cannot_leak(spec):
    ex = example(spec)
    mask = row_mask(BATCH)
    where = _row_where(spec, ex, mask)
    poisoned = list(ex.args)
    for i in ex.diff_argnums:
        if i not in spec.shared_args:
            poisoned[i] = poisoned[i].at[~mask].set(jnp.nan)
    for reduction in ("mean", "sum"):
        clean = call(spec, ex, reduction=reduction, where=where)
        assert_close(call(spec, ex, poisoned, reduction=reduction, where=where), clean, rtol=1e-6)
        for g_poisoned, g_clean in zip(
            grads(spec, ex, poisoned, reduction=reduction, where=where),
            grads(spec, ex, reduction=reduction, where=where),
            strict=True,
        ):
            np.testing.assert_array_equal(g_poisoned, g_clean)


@pytest.mark.parametrize("extreme", (False, True))
def test_where_all_false_gives_zero(spec, extreme, reduction="mean"):  # 0 / 0 is mean's case
    ex = example(spec, extreme=extreme)
    where = _row_where(spec, ex, np.zeros(BATCH, bool))
    value = call(spec, ex, reduction=reduction, where=where)
    assert float(value) == 0.0
    for g in grads(spec, ex, reduction=reduction, where=where):
        assert np.all(np.asarray(g) == 0)


def test_weight(spec):
    ex = example(spec)
    if spec.weight_kind == "none":
        params = list(inspect.signature(spec.fn).parameters)
        # no per-element weight (a "weight" here is a shared parameter, e.g. a matrix)
        assert "weight" not in params or params.index("weight") in spec.shared_args
        return
    none = call(spec, ex, reduction="none")
    if spec.weight_kind in ("class", "nonlinear"):
        shape = ex.args[0].shape[-1:] if spec.weight_kind == "class" else none.shape
        for reduction in REDUCTIONS:
            assert_close(
                call(spec, ex, weight=jnp.ones(shape), reduction=reduction),
                call(spec, ex, reduction=reduction),
                rtol=1e-6,
            )
        return
    w = jax.random.uniform(jax.random.key(7), none.shape, minval=0.0, maxval=3.0)
    assert_close(call(spec, ex, reduction="none", weight=w), w * none, rtol=1e-6)
    assert_close(call(spec, ex, reduction="sum", weight=w), jnp.sum(w * none), rtol=1e-5)
    if spec.linear_reduction:
        assert_close(
            call(spec, ex, reduction="mean", weight=w),
            jnp.sum(w * none) / (ex.counted or none.size),
            rtol=1e-5,
        )


def test_bf16_inputs(spec):
    ex = example(spec)
    low = list(ex.args)
    for i in ex.diff_argnums:
        low[i] = low[i].astype(jnp.bfloat16)
    ref = [a.astype(jnp.float32) if a.dtype == jnp.bfloat16 else a for a in low]
    value = call(spec, ex, low)
    assert value.dtype == jnp.float32
    assert_close(value, call(spec, ex, ref), rtol=1e-4, atol=1e-4)
    for i, g in zip(ex.diff_argnums, grads(spec, ex, low), strict=True):
        assert g.dtype == jnp.bfloat16, f"gradient for argument {i} is {g.dtype}"
        chex.assert_tree_all_finite(g)


@pytest.mark.parametrize("reduction", DISTINCT)
def test_extreme_inputs_finite(spec, reduction):
    _skip_unreduced(spec, reduction)
    ex = example(spec, extreme=True)
    chex.assert_tree_all_finite(call(spec, ex, reduction=reduction))
    chex.assert_tree_all_finite(grads(spec, ex, reduction=reduction))


def test_vmap_over_batch(spec):
    if spec.batch_coupled:  # map over a stack of whole batches
        batches = [example(spec, batch=8, seed=s) for s in range(3)]
        stacked = [jnp.stack(a) for a in zip(*(b.args for b in batches), strict=True)]
        ex = batches[0]
        mapped = jax.vmap(lambda *b: call(spec, ex, b))(*stacked)
        looped = jnp.stack([call(spec, ex, b.args) for b in batches])
        assert_close(mapped, looped, rtol=1e-5)
        return
    ex = example(spec, batch=8)
    axes = tuple(None if i in spec.shared_args else 0 for i in range(len(ex.args)))
    mapped = jax.vmap(lambda *row: call(spec, ex, row, reduction="mean"), in_axes=axes)(*ex.args)
    looped = jnp.stack(
        [call(spec, ex, _rows(spec, ex.args, lambda a, i=i: a[i])) for i in range(8)]
    )
    assert_close(mapped, looped, rtol=1e-5)


def test_gradients_float64(spec):
    if not spec.true_gradient:
        pytest.skip(
            f"{spec.name}'s gradient is not its derivative by design; its family tests check it"
        )
    with jax.enable_x64(True):
        ex = example(spec, batch=8)
        args = [
            jnp.asarray(a, jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a
            for a in ex.args
        ]

        def f(*diff):
            full = list(args)
            for i, d in zip(ex.diff_argnums, diff, strict=True):
                full[i] = d
            return call(spec, ex, full)

        modes = ("fwd", "rev") if spec.forward_mode else ("rev",)
        check_grads(f, [args[i] for i in ex.diff_argnums], order=1, modes=modes, eps=1e-5)


def _mesh():
    devices = jax.devices()
    assert len(devices) == 8, "conftest.py sets 8 simulated CPU devices"
    return Mesh(np.asarray(devices), ("batch",))


@pytest.mark.parametrize("reduction", DISTINCT)
def test_sharded_jit_equals_single_device(spec, reduction):
    _skip_unreduced(spec, reduction)
    ex = example(spec)
    mesh = _mesh()
    sharded = [
        jax.device_put(a, NamedSharding(mesh, P() if i in spec.shared_args else P("batch")))
        for i, a in enumerate(ex.args)
    ]
    assert_close(
        jax.jit(lambda *a: call(spec, ex, a, reduction=reduction))(*sharded),
        call(spec, ex, reduction=reduction),
        rtol=1e-5,
    )
    assert_close(
        jax.jit(lambda *a: grads(spec, ex, a, reduction=reduction))(*sharded),
        grads(spec, ex, reduction=reduction),
        rtol=1e-5,
    )


@pytest.mark.parametrize("reduction", ("mean", "sum"))
def test_shard_map_axis_name_equals_single_device(spec, reduction):
    ex = example(spec)
    mesh = _mesh()
    mask = row_mask(BATCH)
    mask[: BATCH // 8] = False  # the first device's shard is entirely masked out
    where = _row_where(spec, ex, mask)
    specs = tuple(P() if i in spec.shared_args else P("batch") for i in range(len(ex.args)))

    def per_device(where, *args):
        return call(spec, ex, args, reduction=reduction, where=where, axis_name="batch")

    mapped = jax.jit(
        jax.shard_map(per_device, mesh=mesh, in_specs=(P("batch"), *specs), out_specs=P())
    )
    assert_close(
        mapped(where, *ex.args), call(spec, ex, reduction=reduction, where=where), rtol=1e-5
    )

    def total(fn):
        def f(*diff):
            full = list(ex.args)
            for i, d in zip(ex.diff_argnums, diff, strict=True):
                full[i] = d
            return fn(where, *full)

        return jax.grad(f, argnums=tuple(range(len(ex.diff_argnums))))(
            *[ex.args[i] for i in ex.diff_argnums]
        )

    def single(where, *args):
        return call(spec, ex, args, reduction=reduction, where=where)

    assert_close(total(mapped), total(single), rtol=1e-5)
