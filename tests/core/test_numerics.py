"""The shared stable primitives: values against NumPy, finite gradients at their edges."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

from jaxloss._core import checks as _checks
from jaxloss._core import numerics as nm
from jaxloss._core import reduce as _reduce


def test_abs_has_torch_subgradient_at_zero():
    assert float(jax.grad(nm.abs_)(0.0)) == 0.0
    assert float(jax.grad(nm.abs_)(-2.0)) == -1.0
    assert float(jax.jvp(nm.abs_, (0.0,), (1.0,))[1]) == 0.0


def test_safe_sqrt_and_norm_at_zero():
    assert float(jax.grad(nm.safe_sqrt)(0.0)) == 0.0
    assert_close(jax.grad(nm.safe_sqrt)(4.0), 0.25)
    np.testing.assert_array_equal(jax.grad(nm.safe_norm)(jnp.zeros(3)), np.zeros(3))
    x = np.array([3.0, 4.0], np.float32)
    assert_close(nm.safe_norm(x), 5.0)
    assert_close(jax.grad(nm.safe_norm)(x), x / 5.0)


def test_xlogy_zero_times_log_zero():
    assert float(nm.xlogy(0.0, 0.0)) == 0.0
    gx, gy = jax.grad(nm.xlogy, argnums=(0, 1))(0.0, 0.0)
    assert np.isfinite(gx) and np.isfinite(gy)
    assert_close(nm.xlogy(2.0, 3.0), 2 * np.log(3.0))


@pytest.mark.parametrize("x", [-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4])
def test_log_sigmoid_and_softplus_are_exact_and_finite(x):
    ref = -np.logaddexp(0.0, -np.float64(x))
    assert_close(nm.log_sigmoid(jnp.float32(x)), ref, rtol=1e-6)
    assert_close(nm.softplus(jnp.float32(x)), np.logaddexp(0.0, np.float64(x)), rtol=1e-6)
    assert np.isfinite(jax.grad(nm.log_sigmoid)(jnp.float32(x)))


def test_log_cosh_large_arguments():
    x = jnp.array([0.0, 1.0, 100.0, -1e4])
    assert_close(
        nm.log_cosh(x),
        np.array([0.0, np.log(np.cosh(1.0)), 100 - np.log(2), 1e4 - np.log(2)]),
        rtol=1e-6,
    )


def test_safe_div_and_upcast():
    assert float(nm.safe_div(1.0, 0.0)) == 0.0
    assert float(jax.grad(nm.safe_div, argnums=(0, 1))(1.0, 0.0)[1]) == 0.0
    (a, b) = nm.upcast(jnp.ones(2, jnp.bfloat16), jnp.ones(2, jnp.int32))
    assert a.dtype == b.dtype == jnp.float32


def test_reduce_loss_weighted_masked_mean_against_numpy():
    rng = np.random.default_rng(0)
    loss, w = rng.random((4, 5)), rng.random((1, 5))
    m = rng.random((4, 1)) < 0.5
    m[0] = True
    out = _reduce.reduce_loss(jnp.asarray(loss), fn="t", weight=w, where=m)
    full_m = np.broadcast_to(m, loss.shape)
    assert_close(out, (loss * w)[full_m].sum() / full_m.sum())
    assert_close(
        _reduce.reduce_loss(jnp.asarray(loss), fn="t", normalizer=2.0, reduction="mean"),
        loss.sum() / 2,
    )


def test_check_rank_and_option_messages():
    with pytest.raises(
        ValueError, match=r"^jaxloss\.f: logits must have rank 2; got shape \(3,\)$"
    ):
        _checks.check_rank("f", "logits", jnp.ones(3), 2)
    with pytest.raises(ValueError, match=r"^jaxloss\.f: mode must be one of 'a', 'b'; got 'c'$"):
        _checks.check_option("f", "mode", "c", ("a", "b"))
    _checks.check_rank("f", "logits", jnp.ones((2, 3)), {2, 3})


def test_masked_logsumexp_ignores_huge_masked_entries():
    """A masked-out entry far above the kept ones must not overflow ``exp``: its
    zero gradient would become 0 * inf = NaN."""
    x = jnp.array([[1.0, 2.0, 1e4], [0.5, -1e4, 3.0]])
    mask = jnp.array([[True, True, False], [True, False, True]])
    value, grad = jax.value_and_grad(lambda v: jnp.sum(nm.masked_logsumexp(v, mask)))(x)
    expected = np.logaddexp(1.0, 2.0) + np.logaddexp(0.5, 3.0)
    np.testing.assert_allclose(float(value), expected, rtol=1e-6)
    assert np.all(np.isfinite(np.asarray(grad))) and np.all(np.asarray(grad)[~mask] == 0)
