"""The contract, registry-driven: no silently wrong number on anything a user can type.

Every registered loss is held to each rule here; a new loss gets them by registering.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import IDS, SPECS, assert_close, call, compiled, draws_random, example, grads

import jaxloss

pytestmark = pytest.mark.parametrize("spec", SPECS, ids=IDS)
SMALL = 8


def _none_shape(spec, ex):
    return jax.eval_shape(lambda *a: call(spec, ex, a, reduction="none"), *ex.args).shape


def _keyword_options(spec):
    """(name, default) of the keyword-only options a user types as Python values."""
    shared = {"weight", "class_weights", "sample_weights", "where", "reduction", "axis_name"}
    params = inspect.signature(spec.fn).parameters.values()
    return [
        (p.name, p.default)
        for p in params
        if p.kind == p.KEYWORD_ONLY and p.name not in shared and p.default is not p.empty
    ]


def test_row_mask_aligns_with_leading_axes(spec):
    """A ``[B]`` mask masks rows even when the trailing axis also has B entries;
    an array that aligns only with the trailing axes raises."""
    if not spec.unreduced or spec.where_like is not None or not spec.linear_reduction:
        pytest.skip(f"{spec.name}'s sum is not a masked sum of its unreduced output")
    ex = example(spec, batch=SMALL)
    shape = _none_shape(spec, ex)
    if len(shape) < 2:
        pytest.skip(f"{spec.name}'s unreduced loss has one axis")
    mask = np.arange(SMALL) % 3 != 1
    masked, none = jax.jit(
        lambda *a: (
            call(spec, ex, a, reduction="sum", where=jnp.asarray(mask)),
            call(spec, ex, a, reduction="none"),
        )
    )(*ex.args)
    full = np.broadcast_to(mask.reshape((SMALL,) + (1,) * (len(shape) - 1)), shape)
    assert_close(masked, jnp.sum(jnp.where(full, none, 0.0)), rtol=1e-5)
    trailing = jnp.ones(shape[1:], bool)
    if trailing.shape != shape[: trailing.ndim]:
        with pytest.raises(ValueError, match=rf"^jaxloss\.{spec.name}: where has shape"):
            call(spec, ex, reduction="sum", where=trailing)


def test_nan_input_gives_non_finite(spec):
    """An unmasked NaN in any differentiable input never becomes a finite loss."""
    ex = example(spec, batch=SMALL)
    # "sum" shares "mean"'s code up to the division by the count
    mean = jax.jit(lambda *a: call(spec, ex, a, reduction="mean"))  # one program for all
    for i in ex.diff_argnums:
        poisoned = list(ex.args)
        index = (1,) * min(poisoned[i].ndim, 2) if i not in spec.shared_args else (0,)
        poisoned[i] = poisoned[i].at[index].set(jnp.nan)
        value = mean(*poisoned)
        assert not np.isfinite(float(value)), f"{spec.name}: NaN in argument {i} gave {value}"


def test_empty_batch(spec):
    """No examples: 0 for "mean" and "sum", an empty "none", zero gradient."""
    ex = example(spec, batch=0)
    reductions = ("mean", "sum")
    results = jax.jit(
        lambda *a: [
            (call(spec, ex, a, reduction=r), grads(spec, ex, a, reduction=r)) for r in reductions
        ]
    )(*ex.args)
    for reduction, (value, g) in zip(reductions, results, strict=True):
        assert value.shape == () and float(value) == 0.0, f"{reduction}: {value}"
        assert all(np.all(np.asarray(gi) == 0) for gi in g), reduction
    if spec.unreduced:
        none = jax.eval_shape(lambda *a: call(spec, ex, a, reduction="none"), *ex.args)
        assert none.shape[0] == 0


def test_infinite_weight_on_masked_rows_cannot_leak(spec):
    if spec.weight_kind != "elementwise":
        pytest.skip(f"{spec.name}'s weight is not per element")
    ex = example(spec, batch=SMALL)
    shape = _none_shape(spec, ex)
    mask = np.arange(SMALL) % 2 == 0
    rows = mask.reshape((SMALL,) + (1,) * (len(shape) - 1))
    weight = jnp.where(rows, 1.0, jnp.inf) * jnp.ones(shape)
    where = jnp.asarray(mask) if spec.where_like is None else None
    if where is None:
        pytest.skip(f"{spec.name}'s where masks pixels of an input")
    value, g = compiled(spec, ex, where=where, weight=weight)
    assert np.isfinite(float(value))
    for gi in g:
        assert np.all(np.isfinite(np.asarray(gi)))


def test_options_of_the_wrong_type_raise_naming_the_argument(spec):
    """A string where a number or a switch is expected raises at trace time."""
    ex = example(spec, batch=SMALL)
    for name, default in _keyword_options(spec):
        if isinstance(default, bool):
            wrong = "False"
        elif isinstance(default, int | float) or name in ("alpha", "margin", "var"):
            wrong = "0.5"
        else:
            continue
        with pytest.raises((TypeError, ValueError), match=rf"^jaxloss\.{spec.name}: .*{name}"):
            call(spec, ex, **{name: wrong})


def test_traced_hyperparameters_give_the_concrete_value(spec):
    """A float option traced under jit (a schedule, a learned scale) gives the same
    number as the same value given concretely, or raises at trace time."""
    ex = example(spec, batch=SMALL)
    for name, default in _keyword_options(spec):
        value = ex.kwargs.get(name, default)
        if isinstance(value, bool) or not isinstance(value, float):
            continue
        traced_fn = jax.jit(lambda v, *a, n=name: call(spec, ex, a, **{n: v}))
        for probe in {value, -1.0, 0.0}:
            try:  # a Python float, seen concretely while tracing
                concrete = jax.jit(lambda *a, n=name, v=probe: call(spec, ex, a, **{n: v}))(
                    *ex.args
                )
            except (TypeError, ValueError):
                continue  # out of its documented range: refused
            try:
                traced = traced_fn(probe, *ex.args)
            except (TypeError, ValueError):
                continue  # refused at trace time, also fine
            np.testing.assert_allclose(
                np.asarray(traced), np.asarray(concrete), rtol=1e-5, atol=1e-6, err_msg=name
            )


def test_per_sample_is_each_example_as_a_batch_of_one(spec):
    batch = 3
    ex = example(spec, batch=batch)
    if ex.leading or spec.shared_args:
        pytest.skip(f"{spec.name} takes arguments per_sample does not split")
    fn = jax.tree_util.Partial(spec.fn, **ex.kwargs)
    if spec.examples_interact:
        with pytest.raises(ValueError, match=rf"jaxloss\.per_sample: {spec.name}'s examples"):
            jaxloss.per_sample(fn)
        return
    if draws_random(ex):
        pytest.skip(f"{spec.name} draws random numbers over its batch")
    per = jax.jit(jaxloss.per_sample(fn))(*ex.args)
    assert per.shape == (batch,)
    one = jax.jit(lambda *a: spec.fn(*a, **ex.kwargs))  # compiled once, for every row
    for i in range(batch):
        assert_close(per[i], one(*(a[i : i + 1] for a in ex.args)), rtol=1e-5)
    if spec.unreduced and spec.where_drops_rows and spec.linear_reduction:
        none = compiled(spec, ex, with_grads=False, reduction="none")
        if none.shape == (batch,):
            assert_close(per, none, rtol=1e-5)


def test_checked_runs_on_valid_input(spec):
    """``checked`` works for every loss (its messages hold braces safely) and does
    not change the value."""
    ex = example(spec, batch=SMALL)
    # the documented form: checked outside jit, one compiled program
    step = jaxloss.checked(jax.jit(lambda *a: call(spec, ex, a)))
    assert_close(step(*ex.args), compiled(spec, ex, with_grads=False), rtol=1e-6)
