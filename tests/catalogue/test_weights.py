"""The one weight rule, registry-driven.

``weight`` keeps PyTorch's meaning where PyTorch has one; every loss with a
per-example output takes ``sample_weights`` (one weight per example, aligned with
the leading axes, the mean's denominator unchanged); every loss that scores
classes takes ``class_weights [C]``. Every registered loss is held to it.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import IDS, SPECS, assert_close, call, example

pytestmark = pytest.mark.parametrize("spec", SPECS, ids=IDS)
SMALL = 8


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


def _value_and_grads(spec, ex, args, objective):
    """``objective(call)`` and its gradient with respect to every differentiable
    argument, where ``call(**options)`` runs the loss on ``args``."""

    def f(*diff):
        full = list(args)
        for i, d in zip(ex.diff_argnums, diff, strict=True):
            full[i] = d
        return objective(lambda **options: call(spec, ex, full, **options))

    diff = [args[i] for i in ex.diff_argnums]
    return jax.value_and_grad(f, argnums=tuple(range(len(diff))))(*diff)


def test_sample_weights_rescale_each_example(spec):
    """``none`` is ``w * none`` and ``mean`` keeps its denominator; gradients
    follow, and a masked example's Inf weight reaches neither value nor gradient."""
    if not spec.unreduced:
        pytest.skip(f"{spec.name} is one statistic of the whole batch: no per-example output")
    ex = example(spec, batch=SMALL)
    shape = _none_shape(spec, ex)
    rows = shape[0]
    w = jax.random.uniform(jax.random.key(3), (rows,), minval=0.0, maxval=3.0)
    keep = jnp.asarray((np.arange(rows) // spec.row_group) % 2 == 0)
    ndim = len(shape) if spec.where_like is None else ex.args[spec.where_like].ndim
    where = keep.reshape((rows,) + (1,) * (ndim - 1))

    def rows_of(x, like):
        return x.reshape(x.shape + (1,) * (like.ndim - x.ndim))

    def program(*a):
        none, mean = (call(spec, ex, a, reduction=r) for r in ("none", "mean"))
        none_w, mean_w = (
            call(spec, ex, a, reduction=r, sample_weights=w) for r in ("none", "mean")
        )
        # Inf weights on the masked examples: they must reach nothing
        guarded = _value_and_grads(
            spec,
            ex,
            a,
            lambda run: run(
                reduction="sum", where=where, sample_weights=jnp.where(keep, w, jnp.inf)
            ),
        )
        kept_w = jnp.where(keep, w, 0.0)

        def by_hand(run):
            masked_none = run(reduction="none", where=where)
            return jnp.sum(rows_of(kept_w, masked_none) * masked_none)

        return none, mean, none_w, mean_w, guarded, _value_and_grads(spec, ex, a, by_hand)

    none, mean, none_w, mean_w, guarded, reference = jax.jit(program)(*ex.args)
    scale = float(jnp.max(jnp.abs(none))) + 1e-6
    (value, g) = guarded
    assert np.isfinite(float(value)), f"masked Inf sample weight leaked: {value}"
    for gi in g:
        assert np.all(np.isfinite(np.asarray(gi))), "masked Inf sample weight reached a gradient"
    if not spec.linear_reduction:
        return  # the loss is not linear in its weights (RMSE's root)
    assert_close(none_w, rows_of(w, none) * none, rtol=1e-5, atol=1e-6 * scale)
    # the mean's denominator is the one it has without sample weights
    total, total_w = jnp.sum(none), jnp.sum(rows_of(w, none) * none)
    assert_close(mean_w * total, total_w * mean, rtol=1e-4, atol=1e-5 * scale * abs(float(mean)))
    assert_close(value, reference[0], rtol=1e-5, atol=1e-5 * scale)
    for gi, ri in zip(g, reference[1], strict=True):
        assert_close(gi, ri, rtol=1e-4, atol=1e-5 * (float(jnp.max(jnp.abs(ri))) + 1e-6))


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
        run = functools.partial(call, spec, ex, sample_weights=jnp.ones(bad))
        with pytest.raises(ValueError, match=rf"^jaxloss\.{spec.name}: .*sample_weights"):
            jax.eval_shape(lambda *a: run(a), *ex.args)  # noqa: B023 (called at once)


def _num_classes(spec, ex):
    """C as the example lays it out: the ``axis=`` it passes (or the default) of
    the output; 1 for a binary segmentation mode, which has no class axis."""
    params = inspect.signature(spec.fn).parameters

    def option(name, fallback):
        default = params[name].default if name in params else fallback
        return ex.kwargs.get(name, default)

    if option("mode", None) == "binary":
        return 1
    return ex.args[0].shape[option("axis", -1)]


def test_class_weights(spec):
    """Uniform class weights change nothing, doubled ones double the per-example
    loss (or, where the formula normalises them, as generalized Dice's
    numerator and denominator do, change nothing), uneven ones change it, and a
    wrong shape raises naming ``class_weights``."""
    if not spec.scores_classes:
        pytest.skip(f"{spec.name} does not score classes")
    ex = example(spec, batch=SMALL)
    if spec.weight_kind == "class":
        # PyTorch's name for the same class weights: one of the two at a time
        ex = dataclasses.replace(ex, kwargs={k: v for k, v in ex.kwargs.items() if k != "weight"})
    classes = _num_classes(spec, ex)
    ones = jnp.ones(classes)
    uneven = jnp.linspace(0.2, 3.0, classes) if classes > 1 else jnp.full(1, 3.0)

    def program(*a):
        plain = [call(spec, ex, a, reduction=r) for r in ("mean", "none")]
        uniform = [call(spec, ex, a, reduction=r, class_weights=ones) for r in ("mean", "none")]
        doubled = call(spec, ex, a, reduction="none", class_weights=2 * ones)
        changed = call(spec, ex, a, reduction="none", class_weights=uneven)
        return plain, uniform, doubled, changed

    plain, uniform, doubled, changed = jax.jit(program)(*ex.args)
    assert_close(uniform, plain, rtol=1e-6)
    normalised = np.allclose(doubled, plain[1], rtol=1e-4, atol=1e-6)
    if not normalised:
        assert_close(doubled, 2 * plain[1], rtol=1e-6)
    if classes > 1 or not normalised:
        assert not np.allclose(changed, plain[1], rtol=1e-4), "class_weights had no effect"
    with pytest.raises(ValueError, match=rf"^jaxloss\.{spec.name}: .*class_weights"):
        jax.eval_shape(lambda *a: call(spec, ex, a, class_weights=jnp.ones(classes + 1)), *ex.args)
