"""Registry-driven tests: every registered loss, no per-loss special cases.

A loss that needs different inputs says so through its registry entry (its
example factory, ``diff_argnums``, ``linear_reduction``, ``weight_kind``).
"""

from __future__ import annotations

import functools
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
    arg_rows,
    assert_close,
    broadcast_rows,
    call,
    compiled,
    draws_random,
    example,
    grads,
    row_mask,
    shard_row_order,
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


def _kept_rows(spec, args, mask):
    """The arguments with only the rows that ``mask`` (over the "none" output's
    rows) keeps; shared parameters pass unchanged."""
    return [a if m is None else a[m] for a, m in zip(args, arg_rows(spec, args, mask), strict=True)]


def _row_where(spec, ex, mask):
    """A row mask shaped to broadcast where the loss expects ``where``."""
    ndim = _unreduced_ndim(spec, ex) if spec.where_like is None else ex.args[spec.where_like].ndim
    return broadcast_rows(mask, ndim)


def _skip_unreduced(spec, reduction):
    if reduction == "none" and not spec.unreduced:
        pytest.skip(f"{spec.name} is one statistic of the whole batch: no 'none' output")


def _reductions(spec, reductions=DISTINCT):
    return tuple(r for r in reductions if r != "none" or spec.unreduced)


def test_jit_equals_eager(spec):
    """Compiled (one program for every reduction) equals op by op."""
    ex = example(spec)
    reductions = _reductions(spec)
    both = jax.jit(
        lambda *a: {
            r: (call(spec, ex, a, reduction=r), grads(spec, ex, a, reduction=r)) for r in reductions
        }
    )(*ex.args)
    for r in reductions:
        assert_close(both[r][0], call(spec, ex, reduction=r), rtol=1e-6)
        assert_close(both[r][1], grads(spec, ex, reduction=r), rtol=1e-5)


def test_reductions_consistent(spec):
    ex = example(spec)
    if not spec.unreduced:
        mean, total = jax.jit(
            lambda *a: (call(spec, ex, a, reduction="mean"), call(spec, ex, a, reduction="sum"))
        )(*ex.args)
        assert mean.shape == total.shape == () and mean.dtype == jnp.float32
        assert_close(mean, total)
        with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum'; got 'none'"):
            call(spec, ex, reduction="none")
        return
    none, mean, total = jax.jit(
        lambda *a: tuple(call(spec, ex, a, reduction=r) for r in ("none", "mean", "sum"))
    )(*ex.args)
    assert none.shape[0] == BATCH and mean.shape == () and total.shape == ()
    assert none.dtype == mean.dtype == total.dtype == jnp.float32
    if spec.linear_reduction:
        assert_close(total, jnp.sum(none), rtol=1e-5)
        assert_close(mean, jnp.sum(none) / (ex.counted or none.size), rtol=1e-5)


def _masked(spec, ex, where, args=None):
    """Per reduction: the masked loss and its gradients, in one program."""
    reductions = ("mean", "sum")
    return jax.jit(
        lambda *a: {
            r: (
                call(spec, ex, a, reduction=r, where=where),
                grads(spec, ex, a, reduction=r, where=where),
            )
            for r in reductions
        }
    )(*(ex.args if args is None else args))


def test_where_equals_slicing(spec):
    ex = example(spec)
    group = spec.row_group
    mask = np.repeat(row_mask(BATCH // group), group)  # whole groups of rows
    where = _row_where(spec, ex, mask)
    masked = _masked(spec, ex, where)
    if draws_random(ex):
        # slicing would change the kept rows' draws: the reference is the same
        # batch's unreduced loss without the masked rows
        kept = compiled(spec, ex, with_grads=False, reduction="none")[mask]
        sliced = {"sum": jnp.sum(kept), "mean": jnp.sum(kept) / kept.size}
    else:
        rows = _kept_rows(spec, ex.args, mask)
        sliced = jax.jit(lambda *a: {r: call(spec, ex, a, reduction=r) for r in ("mean", "sum")})(
            *rows
        )
    for reduction in ("mean", "sum"):
        value, g = masked[reduction]
        if spec.where_drops_rows:
            assert_close(value, sliced[reduction], rtol=1e-5)
        else:  # masked rows still count in the mean, as zeros
            assert not np.allclose(value, sliced[reduction])
        # masked-out rows get exactly zero gradient
        parts = arg_rows(spec, ex.args, mask)
        for i, gi in zip(ex.diff_argnums, g, strict=True):
            if (part := parts[i]) is not None:
                assert np.all(np.asarray(gi)[~part] == 0)
    if spec.unreduced:
        unreduced = compiled(spec, ex, with_grads=False, reduction="none", where=where)
        assert np.all(np.asarray(unreduced)[~mask] == 0)


def test_nan_in_masked_rows_cannot_leak(spec):
    ex = example(spec)
    mask = row_mask(BATCH)
    where = _row_where(spec, ex, mask)
    poisoned = list(ex.args)
    parts = arg_rows(spec, ex.args, mask)
    for i in ex.diff_argnums:
        if (part := parts[i]) is not None:
            poisoned[i] = poisoned[i].at[~part].set(jnp.nan)
    clean = _masked(spec, ex, where)
    dirty = _masked(spec, ex, where, poisoned)  # the same program
    # the same program on the same unmasked values: equal to the last bit on
    # CPU; accelerators may reduce in a different order between runs
    exact = jax.default_backend() == "cpu"
    for reduction in ("mean", "sum"):
        assert_close(dirty[reduction][0], clean[reduction][0], rtol=1e-6)
        for g_poisoned, g_clean in zip(dirty[reduction][1], clean[reduction][1], strict=True):
            if exact:
                np.testing.assert_array_equal(g_poisoned, g_clean)
            else:
                assert_close(g_poisoned, g_clean, rtol=1e-6, atol=1e-7)


def test_where_all_false_gives_zero(spec, reduction="mean"):  # 0 / 0 is mean's case
    for extreme in (False, True):
        ex = example(spec, extreme=extreme)
        where = _row_where(spec, ex, np.zeros(BATCH, bool))
        value, g = compiled(spec, ex, reduction=reduction, where=where)
        assert float(value) == 0.0, f"extreme={extreme}: {value}"
        for gi in g:
            assert np.all(np.asarray(gi) == 0), f"extreme={extreme}"


def test_weight(spec):
    ex = example(spec)
    if spec.weight_kind == "none":
        params = list(inspect.signature(spec.fn).parameters)
        # no per-element weight (a "weight" here is a shared parameter, e.g. a matrix)
        assert "weight" not in params or params.index("weight") in spec.shared_args
        return
    none = compiled(spec, ex, with_grads=False, reduction="none")
    if spec.weight_kind in ("class", "nonlinear"):
        shape = ex.args[0].shape[-1:] if spec.weight_kind == "class" else none.shape
        ones = jnp.ones(shape)
        weighted, plain = jax.jit(
            lambda *a: (
                [call(spec, ex, a, weight=ones, reduction=r) for r in REDUCTIONS],
                [call(spec, ex, a, reduction=r) for r in REDUCTIONS],
            )
        )(*ex.args)
        assert_close(weighted, plain, rtol=1e-6)
        return
    w = jax.random.uniform(jax.random.key(7), none.shape, minval=0.0, maxval=3.0)
    by_reduction = jax.jit(
        lambda *a: [call(spec, ex, a, reduction=r, weight=w) for r in REDUCTIONS]
    )(*ex.args)
    weighted = dict(zip(REDUCTIONS, by_reduction, strict=True))
    assert_close(weighted["none"], w * none, rtol=1e-6)
    assert_close(weighted["sum"], jnp.sum(w * none), rtol=1e-5)
    if spec.linear_reduction:
        assert_close(weighted["mean"], jnp.sum(w * none) / (ex.counted or none.size), rtol=1e-5)


def test_bf16_inputs(spec):
    ex = example(spec)
    low = list(ex.args)
    for i in ex.diff_argnums:
        low[i] = low[i].astype(jnp.bfloat16)
    ref = [a.astype(jnp.float32) if a.dtype == jnp.bfloat16 else a for a in low]
    value, g_low = compiled(spec, ex, low)
    assert value.dtype == jnp.float32
    assert_close(value, compiled(spec, ex, ref, with_grads=False), rtol=1e-4, atol=1e-4)
    for i, g in zip(ex.diff_argnums, g_low, strict=True):
        assert g.dtype == jnp.bfloat16, f"gradient for argument {i} is {g.dtype}"
        chex.assert_tree_all_finite(g)


def test_extreme_inputs_finite(spec):
    ex = example(spec, extreme=True)
    chex.assert_tree_all_finite(
        jax.jit(
            lambda *a: [
                (call(spec, ex, a, reduction=r), grads(spec, ex, a, reduction=r))
                for r in _reductions(spec)
            ]
        )(*ex.args)
    )


def test_vmap_over_batch(spec):
    if spec.batch_coupled:  # map over a stack of whole batches
        batches = [example(spec, batch=8, seed=s) for s in range(3)]
        stacked = [jnp.stack(a) for a in zip(*(b.args for b in batches), strict=True)]
        ex = batches[0]
        mapped = jax.jit(jax.vmap(lambda *b: call(spec, ex, b)))(*stacked)
        one = jax.jit(lambda *b: call(spec, ex, b))  # compiled once, for every batch
        looped = jnp.stack([one(*b.args) for b in batches])
        assert_close(mapped, looped, rtol=1e-5)
        return
    ex = example(spec, batch=8)
    args = ex.args
    if spec.row_blocks:
        # each mapped call gets one row of every block (one desirable and one
        # undesirable completion), as a batch of one per block
        args = tuple(_rows(spec, args, lambda a: a[:, None]))
    axes = tuple(None if i in spec.shared_args else 0 for i in range(len(args)))
    mapped = jax.jit(jax.vmap(lambda *row: call(spec, ex, row, reduction="mean"), in_axes=axes))(
        *args
    )
    one = jax.jit(lambda *row: call(spec, ex, row))  # compiled once, for every row
    rows = args[next(i for i in range(len(args)) if i not in spec.shared_args)].shape[0]
    looped = jnp.stack([one(*_rows(spec, args, lambda a, i=i: a[i])) for i in range(rows)])
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

        @jax.jit
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


def _values_and_grads(spec, ex, reductions, **overrides):
    """A function of the arrays: per reduction, the loss and its gradients."""
    return lambda *a: {
        r: (
            call(spec, ex, a, reduction=r, **overrides),
            grads(spec, ex, a, reduction=r, **overrides),
        )
        for r in reductions
    }


def test_sharded_jit_equals_single_device(spec):
    ex = example(spec)
    mesh = _mesh()
    sharded = [
        jax.device_put(a, NamedSharding(mesh, P() if i in spec.shared_args else P("batch")))
        for i, a in enumerate(ex.args)
    ]
    f = jax.jit(_values_and_grads(spec, ex, _reductions(spec)))
    assert_close(f(*sharded), f(*ex.args), rtol=1e-5)


def test_shard_map_axis_name_equals_single_device(spec):
    ex = example(spec)
    mesh = _mesh()
    mask = row_mask(BATCH)
    mask[: BATCH // 8] = False  # the first device's shard is entirely masked out
    where = _row_where(spec, ex, mask)
    # each device's slice of ``where`` must line up with its local "none" rows;
    # the single-device call gets the same rows in the output's own order
    order = shard_row_order(spec, ex.args, 8)
    if order is None:
        global_where = where
    else:
        global_mask = np.empty_like(mask)
        global_mask[order] = mask
        global_where = _row_where(spec, ex, global_mask)
    # each device passes its own rows' sample weights, as a data-parallel step does
    sample_weights = global_weights = None
    if spec.unreduced:
        sample_weights = jax.random.uniform(jax.random.key(5), (BATCH,), minval=0.5, maxval=2.0)
        global_weights = sample_weights if order is None else sample_weights[np.argsort(order)]
    specs = tuple(P() if i in spec.shared_args else P("batch") for i in range(len(ex.args)))
    reductions = ("mean", "sum")

    def weighted(weights):
        return {} if weights is None else {"sample_weights": weights}

    def per_device(where, weights, *args):
        return {
            r: call(
                spec, ex, args, reduction=r, where=where, axis_name="batch", **weighted(weights)
            )
            for r in reductions
        }

    mapped = jax.shard_map(
        per_device, mesh=mesh, in_specs=(P("batch"), P("batch"), *specs), out_specs=P()
    )

    def single(where, weights, *args):
        return {
            r: call(spec, ex, args, reduction=r, where=where, **weighted(weights))
            for r in reductions
        }

    def values_and_grads(fn, where, weights):
        def run(*args):
            def total(r, *diff):
                full = list(args)
                for i, d in zip(ex.diff_argnums, diff, strict=True):
                    full[i] = d
                return fn(where, weights, *full)[r]

            diff = [args[i] for i in ex.diff_argnums]
            argnums = tuple(range(len(diff)))
            return {
                r: (total(r, *diff), jax.grad(functools.partial(total, r), argnums=argnums)(*diff))
                for r in reductions
            }

        return jax.jit(run)(*ex.args)

    assert_close(
        values_and_grads(mapped, where, sample_weights),
        values_and_grads(single, global_where, global_weights),
        rtol=1e-5,
    )
