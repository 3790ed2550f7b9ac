"""Preference and RL losses against their formulas in float64 NumPy (the DPO kinds
as the catalogue and TRL write them), and their behaviour at log-ratios of 1e4."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import jaxloss


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _logps(rng, n=6):
    return [-np.abs(rng.standard_normal(n)) * 3 for _ in range(4)]


@pytest.mark.parametrize("eps", (0.0, 0.2))
@pytest.mark.parametrize("kind", ("sigmoid", "hinge", "ipo", "robust"))
def test_dpo_kinds(kind, eps):
    rng = np.random.default_rng(0)
    pc, pr, rc, rr = _logps(rng)
    beta = 0.3
    x = (pc - pr) - (rc - rr)
    expected = {
        "sigmoid": -(1 - eps) * _log_sigmoid(beta * x) - eps * _log_sigmoid(-beta * x),
        "hinge": np.maximum(0, 1 - beta * x),
        "ipo": (x - 1 / (2 * beta)) ** 2,
        "robust": (-(1 - eps) * _log_sigmoid(beta * x) + eps * _log_sigmoid(-beta * x))
        / (1 - 2 * eps),
    }[kind]
    loss, chosen, rejected = jaxloss.dpo_loss(
        pc,
        pr,
        rc,
        rr,
        beta=beta,
        kind=kind,
        label_smoothing=eps,
        return_rewards=True,
        reduction="none",
    )
    assert_close(loss, expected, rtol=1e-5, atol=1e-7)
    assert_close(chosen, beta * (pc - rc), rtol=1e-5)
    assert_close(rejected, beta * (pr - rr), rtol=1e-5)


def test_bradley_terry_with_margin():
    rng = np.random.default_rng(1)
    c, r, m = rng.standard_normal(5), rng.standard_normal(5), rng.uniform(size=5)
    assert_close(
        jaxloss.bradley_terry_loss(c, r, margin=m, reduction="none"),
        -_log_sigmoid(c - r - m),
        rtol=1e-5,
    )


@pytest.mark.parametrize("clip_eps", (0.1, 0.2))
def test_ppo_policy_and_value_losses(clip_eps):
    rng = np.random.default_rng(2)
    lp, old, adv = (
        rng.standard_normal(20) * 0.5,
        rng.standard_normal(20) * 0.5,
        rng.standard_normal(20),
    )
    ratio = np.exp(lp - old)
    expected = -np.minimum(ratio * adv, np.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    assert_close(
        jaxloss.ppo_policy_loss(lp, old, adv, clip_eps=clip_eps, reduction="none"),
        expected,
        rtol=1e-5,
    )
    v, v_old, ret = rng.standard_normal(20), rng.standard_normal(20), rng.standard_normal(20)
    clipped = v_old + np.clip(v - v_old, -clip_eps, clip_eps)
    expected = 0.5 * np.maximum((v - ret) ** 2, (clipped - ret) ** 2)
    assert_close(
        jaxloss.ppo_value_loss(v, v_old, ret, clip_eps=clip_eps, reduction="none"),
        expected,
        rtol=1e-5,
    )
    assert_close(
        jaxloss.ppo_value_loss(v, v_old, ret, reduction="none"), 0.5 * (v - ret) ** 2, rtol=1e-5
    )


def test_kl_penalty_estimators():
    rng = np.random.default_rng(3)
    lp, ref = rng.standard_normal(10), rng.standard_normal(10)
    r = ref - lp
    for kind, expected in (("k1", -r), ("k2", 0.5 * r**2), ("k3", np.exp(r) - 1 - r)):
        assert_close(
            jaxloss.kl_penalty(lp, ref, kind=kind, reduction="none"), expected, rtol=1e-5, atol=1e-7
        )


def test_extreme_log_ratios_stay_finite():
    big = jnp.array([1e4, -1e4, 0.0])
    zero = jnp.zeros(3)
    for kind in ("sigmoid", "hinge", "ipo", "robust"):
        value, grads = jax.value_and_grad(
            lambda a, k=kind: jaxloss.dpo_loss(a, zero, zero, zero, kind=k, label_smoothing=0.1)
        )(big)
        assert np.isfinite(value) and np.all(np.isfinite(grads))
    for fn in (
        lambda a: jaxloss.ppo_policy_loss(a, zero, jnp.ones(3)),
        lambda a: jaxloss.kl_penalty(zero, a),
    ):
        value, grads = jax.value_and_grad(fn)(big)
        assert np.isfinite(value) and np.all(np.isfinite(grads))


def test_unknown_kinds():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "jaxloss.dpo_loss: kind must be one of 'sigmoid', 'hinge', 'ipo', 'robust'; got 'kto'"
        ),
    ):
        jaxloss.dpo_loss(*[jnp.zeros(2)] * 4, kind="kto")
    with pytest.raises(
        ValueError,
        match=re.escape("jaxloss.kl_penalty: kind must be one of 'k1', 'k2', 'k3'; got 'k4'"),
    ):
        jaxloss.kl_penalty(jnp.zeros(2), jnp.zeros(2), kind="k4")


# ------------------------------------------------- contract: no silently wrong number


def test_dpo_traced_label_smoothing_equals_concrete_or_is_nan():
    # guards against a traced label_smoothing skipping the range checks: robust DPO
    # at 0.6 gave a finite number of the wrong sign, and at 0.5 a division by 0
    rng = np.random.default_rng(4)
    pc, pr, rc, rr = _logps(rng)
    beta = 0.3
    x = beta * ((pc - pr) - (rc - rr))
    for kind in ("sigmoid", "robust"):
        traced = jax.jit(
            lambda e, k=kind: jaxloss.dpo_loss(
                pc, pr, rc, rr, beta=beta, kind=k, label_smoothing=e, reduction="none"
            )
        )
        eps = 0.2
        sign = 1.0 if kind == "robust" else -1.0
        expected = -(1 - eps) * _log_sigmoid(x) + sign * eps * _log_sigmoid(-x)
        if kind == "robust":
            expected = expected / (1 - 2 * eps)
        assert_close(traced(eps), expected, rtol=1e-5)
        assert_close(
            traced(eps),
            jaxloss.dpo_loss(
                pc, pr, rc, rr, beta=beta, kind=kind, label_smoothing=eps, reduction="none"
            ),
            rtol=1e-6,
        )
        for bad in (0.6, -0.1) + ((0.5,) if kind == "robust" else ()):
            assert np.all(np.isnan(np.asarray(traced(bad)))), (kind, bad)
    with pytest.raises(Exception, match=r"dpo_loss: label_smoothing must be in \[0.0, 0.5\)"):
        jaxloss.checked(
            jax.jit(lambda e: jaxloss.dpo_loss(pc, pr, rc, rr, kind="robust", label_smoothing=e))
        )(jnp.float32(0.5))


def test_dpo_traced_beta_out_of_range_gives_nan():
    # guards against a traced beta <= 0 giving a finite loss and finite rewards
    z = jnp.zeros(3)
    loss, chosen, _ = jax.jit(
        lambda b: jaxloss.dpo_loss(z + 1.0, z, z, z, beta=b, return_rewards=True)
    )(-0.1)
    assert np.isnan(float(loss)) and np.all(np.isnan(np.asarray(chosen)))


@pytest.mark.parametrize("fn", [jaxloss.ppo_policy_loss, jaxloss.ppo_value_loss])
def test_ppo_traced_clip_eps_out_of_range_gives_nan(fn):
    # guards against a traced clip_eps <= 0 (an empty clip range) giving a finite loss
    rng = np.random.default_rng(5)
    a, b, c = (rng.standard_normal(8) for _ in range(3))
    traced = jax.jit(lambda e: fn(a, b, c, clip_eps=e))
    assert_close(traced(0.2), fn(a, b, c, clip_eps=0.2), rtol=1e-6)
    assert np.isnan(float(traced(-0.2))) and np.isnan(float(traced(0.0)))
    with pytest.raises(TypeError, match=rf"^jaxloss\.{fn.__name__}: clip_eps must be a number"):
        fn(a, b, c, clip_eps="0.2")


def test_bradley_terry_margin_is_a_number_aligned_with_rows():
    # guards against margin="0.5" failing deep inside without naming margin, and a
    # [B] margin on [B, B] rewards being broadcast along the last axis (columns)
    rng = np.random.default_rng(6)
    c, r, m = rng.standard_normal((4, 4)), rng.standard_normal((4, 4)), rng.uniform(size=4)
    assert_close(
        jaxloss.bradley_terry_loss(c, r, margin=m, reduction="none"),
        -_log_sigmoid(c - r - m[:, None]),
        rtol=1e-5,
    )
    assert_close(
        jaxloss.bradley_terry_loss(c[:, 0], r[:, 0], margin=list(m), reduction="none"),
        -_log_sigmoid(c[:, 0] - r[:, 0] - m),
        rtol=1e-5,
    )
    with pytest.raises(TypeError, match=r"^jaxloss\.bradley_terry_loss: margin must be a number"):
        jaxloss.bradley_terry_loss(c, r, margin="0.5")  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match=r"^jaxloss\.bradley_terry_loss: margin has shape \(3,\)"):
        jaxloss.bradley_terry_loss(c, r, margin=np.ones(3))
