"""The one weight rule, registry-driven.

``weight`` keeps PyTorch's meaning where PyTorch has one; every loss with a
per-example output takes ``sample_weights`` (one weight per example, aligned with
the leading axes, the mean's denominator unchanged); every loss that scores
classes takes ``class_weights [C]``. Every registered loss is held to it.
"""

from __future__ import annotations

import dataclasses
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import IDS, SPECS, assert_close, call, example, grads

pytestmark = pytest.mark.parametrize("spec", SPECS, ids=IDS)
SMALL = 8
REDUCTIONS = ("mean", "sum", "none")


def _none_shape(spec, ex):
    return jax.eval_shape(lambda *a: call(spec, ex, a, reduction="none"), *ex.args).shape


def _keyword(spec, name):
    param = inspect.signature(spec.fn).parameters.get(name)
    assert param is not None, f"{spec.name} has no {name}="
    assert param.kind == param.KEYWORD_ONLY and param.default is None, f"{spec.name}: {param}"
    return list(inspect.signature(spec.fn).parameters)


def test_signature_follows_the_rule(spec):
    """``sample_weights`` on every loss with a per-example output, ``class_weights``
    on every class-scoring loss, both before ``where``, in one order."""
    params = list(inspect.signature(spec.fn).parameters)
    if not spec.unreduced:
        assert "sample_weights" not in params, f"{spec.name} has no per-example output"
    else:
        _keyword(spec, "sample_weights")
        assert params.index("sample_weights") < params.index("where")
        for before in ("weight", "class_weights"):
            if before in params:
                assert params.index(before) < params.index("sample_weights")
    if spec.scores_classes:
        _keyword(spec, "class_weights")


def _sum_of_weighted_none(spec, ex, w):
    """The gradient reference: sum over examples of ``w * none``, from the loss
    without sample weights."""

    def f(*diff):
        full = list(ex.args)
        for i, d in zip(ex.diff_argnums, diff, strict=True):
            full[i] = d
        none = call(spec, ex, full, reduction="none")
        return jnp.sum(w.reshape(w.shape + (1,) * (none.ndim - 1)) * none)

    return jax.grad(f, argnums=tuple(range(len(ex.diff_argnums))))(
        *[ex.args[i] for i in ex.diff_argnums]
    )


def test_sample_weights_rescale_each_example(spec):
    """``none`` is ``w * none``, ``sum`` its sum, ``mean`` keeps its denominator,
    gradients follow; a masked example's Inf weight reaches neither value nor
    gradient."""
    if not spec.unreduced:
        pytest.skip(f"{spec.name} is one statistic of the whole batch: no per-example output")
    ex = example(spec, batch=SMALL)
    shape = _none_shape(spec, ex)
    rows = shape[0]
    w = jax.random.uniform(jax.random.key(3), (rows,), minval=0.0, maxval=3.0)
    keep = (np.arange(rows) // spec.row_group) % 2 == 0
    masked_w = jnp.where(jnp.asarray(keep), w, jnp.inf)
    ndim = len(shape) if spec.where_like is None else ex.args[spec.where_like].ndim
    where = jnp.asarray(keep).reshape((rows,) + (1,) * (ndim - 1))

    def program(*a):
        plain = [call(spec, ex, a, reduction=r) for r in REDUCTIONS]
        weighted = [call(spec, ex, a, reduction=r, sample_weights=w) for r in REDUCTIONS]
        g = grads(spec, ex, a, reduction="sum", sample_weights=w)
        guarded = call(spec, ex, a, reduction="mean", sample_weights=masked_w, where=where)
        g_guarded = grads(spec, ex, a, reduction="mean", sample_weights=masked_w, where=where)
        return plain, weighted, g, guarded, g_guarded

    plain, weighted, g, guarded, g_guarded = jax.jit(program)(*ex.args)
    (mean, total, none), (mean_w, total_w, none_w) = plain, weighted
    wb = w.reshape((rows,) + (1,) * (len(shape) - 1))
    scale = float(jnp.max(jnp.abs(none))) + 1e-6
    assert_close(none_w, wb * none, rtol=1e-5, atol=1e-6 * scale)
    assert np.isfinite(float(guarded)), f"masked Inf sample weight leaked: {guarded}"
    for gi in g_guarded:
        assert np.all(np.isfinite(np.asarray(gi))), "masked Inf sample weight reached a gradient"
    if not spec.linear_reduction:
        return
    assert_close(total_w, jnp.sum(wb * none), rtol=1e-5, atol=1e-5 * scale)
    # the mean's denominator is the one it has without sample weights
    assert_close(mean_w * total, total_w * mean, rtol=1e-4, atol=1e-5 * scale * abs(float(mean)))
    reference = jax.jit(lambda: _sum_of_weighted_none(spec, ex, w))()
    for gi, ri in zip(g, reference, strict=True):
        gscale = float(jnp.max(jnp.abs(ri))) + 1e-6
        assert_close(gi, ri, rtol=1e-4, atol=1e-5 * gscale)


def test_sample_weights_must_align_with_the_leading_axes(spec):
    """A shape that is not a leading prefix of the unreduced loss raises at trace
    time naming the function and ``sample_weights``."""
    if not spec.unreduced:
        pytest.skip(f"{spec.name} is one statistic of the whole batch: no per-example output")
    ex = example(spec, batch=SMALL)
    shape = _none_shape(spec, ex)
    wrong = [(shape[0] + 1,)]
    if len(shape) > 1 and shape[1:] != shape[: len(shape) - 1]:
        wrong.append(shape[1:])
    for bad in wrong:
        with pytest.raises(ValueError, match=rf"^jaxloss\.{spec.name}: .*sample_weights"):
            jax.eval_shape(lambda *a: call(spec, ex, a, sample_weights=jnp.ones(bad)), *ex.args)


def _num_classes(spec, ex):
    axis = inspect.signature(spec.fn).parameters.get("axis")
    return ex.args[0].shape[axis.default if axis is not None else -1]


def test_class_weights(spec):
    """Uniform class weights change nothing, doubled ones double the per-example
    loss, and a wrong shape raises naming ``class_weights``."""
    if not spec.scores_classes:
        pytest.skip(f"{spec.name} does not score classes")
    ex = example(spec, batch=SMALL)
    if spec.weight_kind == "class":
        # PyTorch's name for the same class weights: one of the two at a time
        ex = dataclasses.replace(ex, kwargs={k: v for k, v in ex.kwargs.items() if k != "weight"})
    classes = _num_classes(spec, ex)
    ones = jnp.ones(classes)

    def program(*a):
        plain = [call(spec, ex, a, reduction=r) for r in REDUCTIONS]
        uniform = [call(spec, ex, a, reduction=r, class_weights=ones) for r in REDUCTIONS]
        doubled = call(spec, ex, a, reduction="none", class_weights=2 * ones)
        return plain, uniform, doubled

    plain, uniform, doubled = jax.jit(program)(*ex.args)
    assert_close(uniform, plain, rtol=1e-6)
    assert_close(doubled, 2 * plain[2], rtol=1e-6)
    with pytest.raises(ValueError, match=rf"^jaxloss\.{spec.name}: .*class_weights"):
        jax.eval_shape(
            lambda *a: call(spec, ex, a, class_weights=jnp.ones(classes + 1)), *ex.args
        )
