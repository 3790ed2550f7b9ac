"""Divergences: torch parity for kl_div, float64 NumPy formulas for the rest,
seed 001's KL, optax's, and zeros / disjoint supports / extreme log-variances."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close

import jaxloss


def _simplex(rng, *shape, zeros=True):
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if zeros:
        p[..., 0] = 0.0
        p /= p.sum(-1, keepdims=True)
    return p


@pytest.mark.parametrize("reduction", ("mean", "sum", "none", "batchmean"))
@pytest.mark.parametrize("log_target", (False, True))
def test_kl_div_matches_torch(log_target, reduction):
    rng = np.random.default_rng(int(log_target))
    x = np.log(_simplex(rng, 5, 7, zeros=False))
    t = _simplex(rng, 5, 7)  # a zero in every row
    if log_target:
        t = np.log(np.where(t == 0, 1e-3, t))
    tx = torch.tensor(x, requires_grad=True)
    expected = F.kl_div(tx, torch.tensor(t), reduction=reduction, log_target=log_target)
    expected.sum().backward()
    value, grad = jax.value_and_grad(
        lambda a: jnp.sum(
            jaxloss.kl_div(a, jnp.asarray(t), log_target=log_target, reduction=reduction)
        )
    )(jnp.asarray(x))
    assert_close(value, expected.sum().item(), rtol=1e-5)
    assert_close(grad, tx.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_kl_div_zero_targets_have_finite_gradients_even_at_minus_inf():
    x = jnp.log(jnp.array([[0.0, 0.5, 0.5]]))  # a -inf log-probability
    t = jnp.array([[0.0, 0.5, 0.5]])
    value, grads = jax.value_and_grad(
        lambda a, b: jaxloss.kl_div(a, b, reduction="sum"), argnums=(0, 1)
    )(x, t)
    assert float(value) == 0.0
    assert all(np.all(np.isfinite(g)) for g in grads)


def _np_kl(p, q):
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    return np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1) / q), 0.0), -1)


def test_kl_divergence_formula_seed_001_and_optax():
    rng = np.random.default_rng(2)
    p, q = _simplex(rng, 6, 5), _simplex(rng, 6, 5, zeros=False)
    assert_close(jaxloss.kl_divergence(p, q, reduction="none"), _np_kl(p, q), rtol=1e-5)
    # optax: kl_divergence(log_predictions, targets) = KL(targets || predictions)
    assert_close(
        jaxloss.kl_divergence(p, q, reduction="none"),
        optax.losses.kl_divergence(jnp.log(q), p),
        rtol=1e-5,
    )

    def seed_001(p_true, q_pred, epsilon=1e-7):  # as printed in seed 001
        p_true = np.clip(p_true, epsilon, 1 - epsilon)
        q_pred = np.clip(q_pred, epsilon, 1 - epsilon)
        return np.sum(p_true * np.log(p_true / q_pred))

    p_true = np.array([0.5, 0.3, 0.2])
    for q_pred in (np.array([0.5, 0.3, 0.2]), np.array([0.33, 0.33, 0.34])):
        assert_close(
            jaxloss.kl_divergence(p_true, q_pred), seed_001(p_true, q_pred), rtol=1e-5, atol=1e-7
        )


def test_kl_divergence_with_logits_equals_kl_of_softmaxes():
    rng = np.random.default_rng(3)
    a, b = 3 * rng.standard_normal((4, 6)), 3 * rng.standard_normal((4, 6))
    expected = _np_kl(jax.nn.softmax(a), jax.nn.softmax(b))
    assert_close(
        jaxloss.kl_divergence_with_logits(a, b, reduction="none"), expected, rtol=1e-5, atol=1e-7
    )
    masked = jnp.asarray(a).at[:, 0].set(-jnp.inf)  # a class outside p's support
    value, g = jax.value_and_grad(lambda x: jaxloss.kl_divergence_with_logits(masked, x))(
        jnp.asarray(b)
    )
    assert np.isfinite(value) and np.all(np.isfinite(g))


def test_js_divergence_formula_symmetry_and_disjoint_supports():
    rng = np.random.default_rng(4)
    p, q = _simplex(rng, 5, 4), _simplex(rng, 5, 4)
    m = (p + q) / 2
    expected = 0.5 * _np_kl(p, m) + 0.5 * _np_kl(q, m)
    assert_close(jaxloss.js_divergence(p, q, reduction="none"), expected, rtol=1e-5)
    assert_close(
        jaxloss.js_divergence(p, q, reduction="none"), jaxloss.js_divergence(q, p, reduction="none")
    )
    disjoint_p, disjoint_q = jnp.array([[1.0, 0.0, 0.0]]), jnp.array([[0.0, 0.0, 1.0]])
    value, grads = jax.value_and_grad(jaxloss.js_divergence, argnums=(0, 1))(disjoint_p, disjoint_q)
    assert_close(value, np.log(2.0))
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_gaussian_kl_closed_form_and_two_gaussians():
    rng = np.random.default_rng(5)
    mu, lv = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    mu2, lv2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    var, var2 = np.exp(lv), np.exp(lv2)
    standard = 0.5 * np.sum(var + mu**2 - 1 - np.log(var), -1)
    general = np.sum(0.5 * np.log(var2 / var) + (var + (mu - mu2) ** 2) / (2 * var2) - 0.5, -1)
    assert_close(jaxloss.gaussian_kl(mu, lv, reduction="none"), standard, rtol=1e-5)
    assert_close(
        jaxloss.gaussian_kl(mu, lv, mean2=mu2, logvar2=lv2, reduction="none"), general, rtol=1e-5
    )
    assert_close(
        jaxloss.gaussian_kl(
            mu, lv, mean2=jnp.zeros_like(mu), logvar2=jnp.zeros_like(lv), reduction="none"
        ),
        standard,
        rtol=1e-5,
    )


def test_gaussian_kl_extreme_log_variances():
    lv = jnp.array([[30.0, -30.0, 0.0]])
    value, grads = jax.value_and_grad(jaxloss.gaussian_kl, argnums=(0, 1))(jnp.zeros((1, 3)), lv)
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)
    value = jaxloss.gaussian_kl(jnp.zeros((1, 3)), lv, mean2=jnp.ones((1, 3)), logvar2=-lv)
    assert np.isfinite(value)


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (lambda: jaxloss.kl_divergence(jnp.ones((2, 3)) / 3, jnp.ones((2, 4)) / 4),
         "jaxloss.kl_divergence: q has shape (2, 4) but p has shape (2, 3)"),
        (lambda: jaxloss.js_divergence(jnp.ones(3), jnp.ones((2, 3))),
         "jaxloss.js_divergence: q has shape (2, 3) but p has shape (3,)"),
        (lambda: jaxloss.kl_div(jnp.ones(3), jnp.ones(3), reduction="batch_mean"),
         "jaxloss.kl_div: reduction must be one of 'mean', 'sum', 'none', 'batchmean'; got 'batch_mean'"),
        (lambda: jaxloss.gaussian_kl(jnp.ones((2, 3)), jnp.ones((2, 3)), mean2=jnp.ones((2, 3))),
         "jaxloss.gaussian_kl: mean2 and logvar2 go together"),
    ],
)  # fmt: skip
def test_errors(call_, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call_()
