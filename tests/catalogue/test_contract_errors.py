"""Bad input raises clear errors, eagerly and under jit; `checked` reports bad values."""

from __future__ import annotations

import inspect
import re

import jax
import jax.numpy as jnp
import pytest
from helpers import IDS, SPECS, call, example

import jaxloss

MODES = ("eager", "jit")


def _run(spec, ex, mode, args=None, **overrides):
    args = list(ex.args if args is None else args)
    if mode == "eager":
        return call(spec, ex, args, **overrides)
    return jax.jit(lambda *a: call(spec, ex, a, **overrides))(*args)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_bad_reduction_lists_valid_ones(spec, mode):
    ex = example(spec, batch=8)
    valid = "'mean', 'sum', 'none'" if spec.unreduced else "'mean', 'sum'"
    msg = (
        re.escape(f"jaxloss.{spec.name}: reduction must be one of {valid}")
        + r"(, '\w+')*; got 'avg'"
    )
    with pytest.raises(ValueError, match=msg):
        _run(spec, ex, mode, reduction="avg")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_mismatched_targets_shape(spec, mode):
    ex = example(spec, batch=8)
    args = list(ex.args)
    rows = [i for i in range(1, len(args)) if i not in spec.shared_args]
    if not rows:
        pytest.skip(f"{spec.name} takes one per-row array")
    # one row short, or one entry short on the last axis where that must match
    cut = args[rows[0]]
    args[rows[0]] = cut[:-1] if spec.free_target_length else cut[..., :-1]
    second = list(inspect.signature(spec.fn).parameters)[len(ex.leading) + rows[0]]
    with pytest.raises(ValueError, match=rf"^jaxloss\.{spec.name}: .*{second}.*shape"):
        _run(spec, ex, mode, args)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_bad_mask_and_weight(spec, mode):
    ex = example(spec, batch=8)
    with pytest.raises(
        TypeError, match=rf"jaxloss\.{spec.name}: where must be a boolean mask; got dtype float32"
    ):
        _run(spec, ex, mode, where=jnp.ones((8,) + (1,) * (ex.args[0].ndim - 1)))
    with pytest.raises(
        ValueError,
        match=rf"jaxloss\.{spec.name}: where has shape \(5,\), which does not (broadcast|align)",
    ):
        _run(spec, ex, mode, where=jnp.ones(5, bool))
    if spec.weight_kind != "none":
        with pytest.raises(
            ValueError, match=rf"jaxloss\.{spec.name}: weight (has|must have) shape.*\(8, 99\)"
        ):
            _run(spec, ex, mode, weight=jnp.ones((8, 99)))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_integer_outputs_rejected(spec, mode):
    ex = example(spec, batch=8)
    args = list(ex.args)
    args[0] = args[0].astype(jnp.int32)
    output_name = list(inspect.signature(spec.fn).parameters)[len(ex.leading)]
    with pytest.raises(
        TypeError,
        match=rf"jaxloss\.{spec.name}: {output_name} must be a floating-point array; got dtype int32",
    ):
        _run(spec, ex, mode, args)


def test_issue_example_message():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "jaxloss.mse_loss: targets has shape (4, 3) but predictions has shape (3, 4)"
        ),
    ):
        jaxloss.mse_loss(jnp.zeros((3, 4)), jnp.zeros((4, 3)))


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (
            lambda: jaxloss.huber_loss(jnp.ones(2), jnp.ones(2), delta=0.0),
            "jaxloss.huber_loss: delta must be in (0.0, inf]; got 0.0",
        ),
        (
            lambda: jaxloss.smooth_l1_loss(jnp.ones(2), jnp.ones(2), beta=-1.0),
            "jaxloss.smooth_l1_loss: beta must be in [0.0, inf]; got -1.0",
        ),
        (
            lambda: jaxloss.quantile_loss(jnp.ones(2), jnp.ones(2), quantiles=1.5),
            "jaxloss.quantile_loss: quantiles must be in [0.0, 1.0]; got 1.5",
        ),
        (
            lambda: jaxloss.quantile_loss(
                jnp.ones((2, 2)), jnp.ones(2), quantiles=jnp.array([0.1, 0.5, 0.9])
            ),
            "jaxloss.quantile_loss: predictions must have the 3 quantiles on its last axis; got shape (2, 2)",
        ),
        (
            lambda: jaxloss.gaussian_nll_loss(jnp.ones((2, 3)), jnp.ones((2, 3)), jnp.ones((3, 2))),
            "jaxloss.gaussian_nll_loss: var has shape (3, 2); expected predictions' shape (2, 3)",
        ),
        (
            lambda: jaxloss.mape_loss(jnp.ones(2), jnp.ones(2), eps=0.0),
            "jaxloss.mape_loss: eps must be in (0.0, inf]; got 0.0",
        ),
    ],
)
def test_option_errors(call_, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call_()


def test_checked_passes_good_input_through():
    p, t = jnp.array([1.0, 2.0]), jnp.array([0.5, 3.0])
    assert float(jaxloss.checked(jaxloss.msle_loss)(p, t)) == float(jaxloss.msle_loss(p, t))


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "message"),
    [
        (
            jaxloss.mse_loss,
            (jnp.array([1.0, jnp.nan]), jnp.zeros(2)),
            {},
            r"argument 0 must be finite \(no NaN or Inf\); got nan at flat index 1",
        ),
        (
            jaxloss.mse_loss,
            (jnp.zeros(2), jnp.zeros(2)),
            {"weight": jnp.array([1.0, jnp.inf])},
            r"weight must be finite .*; got inf at flat index 1",
        ),
        (
            jaxloss.msle_loss,
            (jnp.ones(3), jnp.array([1.0, 2.0, -2.0])),
            {},
            r"msle_loss: targets must be non-negative; got -2.0 at flat index 2",
        ),
        (
            jaxloss.poisson_nll_loss,
            (jnp.array([1.0, -0.5]), jnp.ones(2)),
            {"log_input": False},
            r"predictions must be non-negative rates \(log_input=False\); got -0.5 at flat index 1",
        ),
        (
            jaxloss.poisson_nll_loss,
            (jnp.ones(2), jnp.array([-3.0, 1.0])),
            {},
            r"targets must be non-negative counts; got -3.0 at flat index 0",
        ),
        (
            jaxloss.gaussian_nll_loss,
            (jnp.ones(2), jnp.ones(2), jnp.array([1.0, -1.0])),
            {},
            r"var must be non-negative; got -1.0 at flat index 1",
        ),
        (
            jaxloss.mse_loss,
            (jnp.array([3e38]), jnp.array([-3e38])),
            {},
            r"the result must be finite .*; got inf",
        ),
    ],
)
def test_checked_reports_the_offending_value(fn, args, kwargs, message):
    with pytest.raises(Exception, match=message) as info:
        jaxloss.checked(fn)(*args, **kwargs)
    assert f"jaxloss.{fn.__name__}" in str(info.value)
