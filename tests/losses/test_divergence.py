"""Divergences: torch parity for kl_div, float64 NumPy formulas for the rest,
seed 001's KL, optax's, and zeros / disjoint supports / extreme log-variances."""

from __future__ import annotations

import functools
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
    assert tx.grad is not None
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


# ---------------------------------------------------------------- axis=


@pytest.mark.parametrize("reduction", ("mean", "sum", "none", "batchmean"))
def test_kl_div_axis_1_matches_torch_channel_first(reduction):
    """Guards the new ``axis=``: PyTorch's [N, C, H, W] layout gives torch's
    values and gradients (before, the last axis was taken as the distribution)."""
    rng = np.random.default_rng(7)
    x = np.log(_simplex(rng, 2, 4, 5, 3, zeros=False)).transpose(0, 3, 1, 2)  # [N, C, H, W]
    t = _simplex(rng, 2, 4, 5, 3).transpose(0, 3, 1, 2)
    tx = torch.tensor(x, requires_grad=True)
    expected = F.kl_div(tx, torch.tensor(t), reduction=reduction)
    expected.sum().backward()
    value, grad = jax.value_and_grad(
        lambda a: jnp.sum(jaxloss.kl_div(a, jnp.asarray(t), axis=1, reduction=reduction))
    )(jnp.asarray(x))
    assert_close(value, expected.sum().item(), rtol=1e-5)
    assert tx.grad is not None
    assert_close(grad, tx.grad.numpy(), rtol=1e-5, atol=1e-7)
    if reduction == "none":  # the elementwise loss keeps the input's layout, as torch's
        got = jaxloss.kl_div(jnp.asarray(x), jnp.asarray(t), axis=1, reduction="none")
        assert_close(got, expected.detach().numpy(), rtol=1e-5, atol=1e-7)


def _np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_gaussian_kl_axis_with_a_second_gaussian():
    rng = np.random.default_rng(10)
    mu, lv, mu2, lv2 = (rng.standard_normal((3, 4, 2)) for _ in range(4))
    general = 0.5 * np.sum(lv2 - lv + (np.exp(lv) + (mu - mu2) ** 2) / np.exp(lv2) - 1, axis=1)
    got = jaxloss.gaussian_kl(mu, lv, mean2=mu2, logvar2=lv2, axis=1, reduction="none")
    assert_close(got, general, rtol=1e-5)


def _moved(fn, args, axis, **kwargs):
    """``fn`` on ``args`` with class axis ``axis``, and on the arrays moved last."""
    moved = [jnp.moveaxis(a, axis, -1) for a in args]
    return fn(*args, axis=axis, **kwargs), fn(*moved, **kwargs)


DISTRIBUTION_AXIS = {
    "kl_divergence": (jaxloss.kl_divergence, "probs"),
    "kl_divergence_with_logits": (jaxloss.kl_divergence_with_logits, "logits"),
    "js_divergence": (jaxloss.js_divergence, "probs"),
    "gaussian_kl": (jaxloss.gaussian_kl, "gaussian"),
}


@pytest.mark.parametrize("name", DISTRIBUTION_AXIS)
@pytest.mark.parametrize("axis", (0, 1, -3))
def test_axis_equals_the_moved_axis_call(name, axis):
    """``axis=k`` equals moving axis k last (values, "none" and gradients), and a
    ``[N, H, W]`` row mask lines up with the non-class axes."""
    fn, kind = DISTRIBUTION_AXIS[name]
    rng = np.random.default_rng(8)
    shape = (3, 4, 5, 6)
    rows = np.moveaxis(np.zeros(shape), axis, -1).shape[:-1]
    if kind == "probs":
        args = [np.moveaxis(_simplex(rng, *rows, shape[axis]), -1, axis) for _ in range(2)]
    else:
        args = [rng.standard_normal(shape) for _ in range(2)]
    args = [jnp.asarray(a) for a in args]
    where = jnp.asarray(rng.random(rows) < 0.7)
    for kwargs in ({"reduction": "none"}, {"reduction": "mean", "where": where}):
        got, expected = _moved(fn, args, axis, **kwargs)
        assert_close(got, expected, rtol=1e-6)
    a, b = (np.moveaxis(np.asarray(x, np.float64), axis, -1) for x in args)
    reference = {  # float64 NumPy, on the distribution axis moved last
        "kl_divergence": lambda: _np_kl(a, b),
        "js_divergence": lambda: 0.5 * _np_kl(a, (a + b) / 2) + 0.5 * _np_kl(b, (a + b) / 2),
        "kl_divergence_with_logits": lambda: _np_kl(_np_softmax(a), _np_softmax(b)),
        "gaussian_kl": lambda: 0.5 * np.sum(np.exp(b) + a**2 - 1 - b, -1),
    }[name]()
    assert_close(fn(*args, axis=axis, reduction="none"), reference, rtol=1e-5, atol=1e-7)
    g_axis = jax.grad(lambda *a: fn(*a, axis=axis, where=where), argnums=(0, 1))(*args)
    g_moved = jax.grad(
        lambda *a: fn(*(jnp.moveaxis(b, axis, -1) for b in a), where=where), argnums=(0, 1)
    )(*args)
    assert_close(g_axis, g_moved, rtol=1e-6)


def test_kl_div_axis_moves_full_rank_masks_and_keeps_row_masks():
    """With ``axis=1``, a where/weight laid out like ``log_probs`` [N, C, H, W] and
    a pixel mask [N, H, W] both select what the moved call selects."""
    rng = np.random.default_rng(9)
    x = jnp.asarray(np.log(_simplex(rng, 2, 3, 4, 5, zeros=False)).transpose(0, 3, 1, 2))
    t = jnp.asarray(_simplex(rng, 2, 3, 4, 5).transpose(0, 3, 1, 2))
    pixels = jnp.asarray(rng.random((2, 3, 4)) < 0.6)
    weight = jnp.asarray(rng.random((2, 5, 3, 4)))
    xm, tm = jnp.moveaxis(x, 1, -1), jnp.moveaxis(t, 1, -1)
    for reduction in ("sum", "batchmean"):
        got = jaxloss.kl_div(x, t, axis=1, where=pixels, weight=weight, reduction=reduction)
        expected = jaxloss.kl_div(
            xm, tm, where=pixels, weight=jnp.moveaxis(weight, 1, -1), reduction=reduction
        )
        assert_close(got, expected, rtol=1e-6)
    # float64 NumPy: the masked, weighted sum of t (log t - x)
    t64, x64 = np.asarray(t, np.float64), np.asarray(x, np.float64)
    terms = np.where(t64 > 0, t64 * (np.log(np.where(t64 > 0, t64, 1)) - x64), 0.0)
    mask = np.asarray(pixels)[:, None]
    reference = np.sum(np.where(mask, np.asarray(weight) * terms, 0.0))
    assert_close(
        jaxloss.kl_div(x, t, axis=1, where=pixels, weight=weight, reduction="sum"),
        reference,
        rtol=1e-5,
    )


# ---------------------------------------------------------------- NaN in, never finite out


def test_kl_div_nan_log_prob_under_a_zero_target_is_nan_as_torch():
    """Guards against the old 0.35: a NaN log-probability where the target is 0
    was dropped with the zero target's term; torch gives NaN."""
    x, t = [np.nan, -0.7], [0.0, 1.0]
    expected = F.kl_div(torch.tensor(x), torch.tensor(t), reduction="sum").item()
    assert np.isnan(expected)
    assert np.isnan(float(jaxloss.kl_div(jnp.array(x), jnp.array(t), reduction="sum")))
    # the same with log_target: a target of log 0 = -inf
    got = jaxloss.kl_div(jnp.array(x), jnp.array([-jnp.inf, 0.0]), log_target=True)
    assert np.isnan(float(got))
    # -inf under a zero target still costs exactly 0 with a finite gradient
    value, g = jax.value_and_grad(lambda a: jaxloss.kl_div(a, jnp.array(t), reduction="sum"))(
        jnp.array([-jnp.inf, -0.7])
    )
    assert_close(value, 0.7)
    assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.parametrize("fn", (jaxloss.kl_divergence, jaxloss.js_divergence))
def test_nan_q_where_p_is_zero_gives_nan(fn):
    """Guards against the old 0 from kl_divergence(p=[0, 1], q=[nan, 1]): the
    zero-p term dropped q's NaN (and js_divergence's mixture carried it the same way)."""
    p, q = jnp.array([0.0, 1.0]), jnp.array([jnp.nan, 1.0])
    assert np.isnan(float(fn(p, q)))
    assert np.isnan(float(fn(q, p)))


def test_gaussian_kl_and_logits_kl_keep_nan():
    ones = jnp.ones((2, 3))
    nan = ones.at[0, 1].set(jnp.nan)
    assert np.isnan(float(jaxloss.gaussian_kl(nan, ones)))
    assert np.isnan(float(jaxloss.gaussian_kl(ones, nan)))
    assert np.isnan(float(jaxloss.gaussian_kl(nan, ones, mean2=ones, logvar2=ones)))
    assert np.isnan(float(jaxloss.gaussian_kl(ones, nan, mean2=ones, logvar2=ones)))
    assert np.isnan(float(jaxloss.gaussian_kl(ones, ones, mean2=nan, logvar2=ones)))
    assert np.isnan(float(jaxloss.gaussian_kl(ones, ones, mean2=ones, logvar2=nan)))
    masked_p = jnp.array([[-jnp.inf, 0.0, 1.0]])  # a class outside p's support
    q = jnp.array([[jnp.nan, 0.0, 1.0]])
    assert np.isnan(float(jaxloss.kl_divergence_with_logits(masked_p, q)))


# ---------------------------------------------------------------- documented ranges


def test_out_of_range_probabilities_give_nan_and_checked_names_them():
    """Guards against finite numbers from invalid distributions: probabilities
    passed as kl_div's log_probs (the classic torch mistake) gave a finite
    negative "KL", and kl_divergence floored a negative q to eps."""
    probs = jnp.array([[0.2, 0.8], [0.5, 0.5]])
    none = jaxloss.kl_div(probs, probs, reduction="none")
    assert np.all(np.isnan(none[:, 1]))  # every positive log-probability
    assert np.isnan(float(jaxloss.kl_div(jnp.log(probs), 2 * probs)))
    assert np.isnan(float(jaxloss.kl_div(jnp.log(probs), probs, log_target=True)))
    bad_q = jnp.array([[0.5, 0.5], [1.5, -0.5]])
    for fn in (jaxloss.kl_divergence, jaxloss.js_divergence):
        got = fn(probs, bad_q, reduction="none")
        assert np.isfinite(float(got[0])) and np.isnan(float(got[1]))  # only that row
        assert_close(got[0], fn(probs[:1], bad_q[:1], reduction="none")[0])
        with pytest.raises(Exception, match=rf"jaxloss\.{fn.__name__}: q must be probabilities"):
            jaxloss.checked(fn)(probs, bad_q)
    with pytest.raises(Exception, match=r"jaxloss\.kl_div: log_probs must be log-probabilities"):
        jaxloss.checked(jax.jit(jaxloss.kl_div))(probs, probs)
    with pytest.raises(Exception, match=r"jaxloss\.kl_div: targets must be probabilities"):
        jaxloss.checked(jaxloss.kl_div)(jnp.log(probs), 2 * probs)


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (lambda: jaxloss.kl_divergence(jnp.ones(3) / 3, jnp.ones(3) / 3, eps="1e-12"),  # pyright: ignore[reportArgumentType]
         "jaxloss.kl_divergence: eps must be a number"),
        (lambda: jaxloss.kl_div(jnp.zeros(3), jnp.ones(3), log_target="False"),  # pyright: ignore[reportArgumentType]
         "jaxloss.kl_div: log_target must be True or False"),
        (lambda: jaxloss.js_divergence(jnp.ones((2, 3)) / 3, jnp.ones((2, 3)) / 3, axis="1"),  # pyright: ignore[reportArgumentType]
         "jaxloss.js_divergence: axis must be an integer"),
        (lambda: jaxloss.gaussian_kl(jnp.ones((2, 3)), jnp.ones((2, 3)), axis=1.0),  # pyright: ignore[reportArgumentType]
         "jaxloss.gaussian_kl: axis must be an integer"),
    ],
)  # fmt: skip
def test_option_type_errors(call_, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        call_()


def test_axis_out_of_range_raises():
    with pytest.raises(ValueError, match=r"^jaxloss\.kl_divergence: axis=2 is out of range"):
        jaxloss.kl_divergence(jnp.ones((2, 3)) / 3, jnp.ones((2, 3)) / 3, axis=2)


# ---------------------------------------------------------------- generalized KL, distillation


def test_generalized_kl_divergence_matches_optax():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    t = np.exp(rng.standard_normal((3, 4, 5))).astype(np.float32)
    t[0, :, 1] = 0.0  # zero targets: 0 log 0 = 0
    w, m = rng.uniform(size=(3, 4)), rng.random((3, 4)) < 0.7

    @jax.jit
    def run(x, t):
        loss = functools.partial(jaxloss.generalized_kl_divergence, weight=w, where=m)
        out = {r: loss(x, t, reduction=r) for r in ("mean", "sum", "none")}
        return out, jax.grad(lambda *a: loss(*a, reduction="sum"), (0, 1))(x, t)

    out, (gx, gt) = run(jnp.asarray(x), jnp.asarray(t))
    ref = np.asarray(optax.generalized_kl_divergence(x, t), np.float64)
    wm = w * m
    assert_close(out["none"], wm * ref, rtol=1e-5)
    assert_close(
        (out["sum"], out["mean"]), (np.sum(wm * ref), np.sum(wm * ref) / m.sum()), rtol=1e-5
    )
    gx_ref, gt_ref = jax.grad(lambda *a: jnp.sum(wm * optax.generalized_kl_divergence(*a)), (0, 1))(
        jnp.asarray(x), jnp.asarray(t)
    )
    assert_close(gx, gx_ref, rtol=1e-5, atol=1e-6)
    positive = t > 0  # optax's target gradient is NaN at a zero target; jaxloss's is 0
    assert_close(np.asarray(gt)[positive], np.asarray(gt_ref)[positive], rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(gt))
    assert jaxloss.convex_kl_divergence is jaxloss.generalized_kl_divergence  # optax's alias


def test_generalized_kl_divergence_distributions_zeros_and_invalid_targets():
    rng = np.random.default_rng(12)
    p, q = _simplex(rng, 4, 3), _simplex(rng, 4, 3, zeros=False)
    x = jnp.array([[-jnp.inf, 0.0, 1.0], [0.0, 0.0, 0.0]])  # a zero measure under a zero target
    t = jnp.array([[0.0, 1.0, 2.0], [1.0, -1.0, 1.0]])  # a negative target: NaN for its row

    @jax.jit
    def run(log_q, p, x, t):
        def first_row(a):
            return jaxloss.generalized_kl_divergence(a, t, reduction="none")[0]

        return (
            jaxloss.generalized_kl_divergence(log_q, p, reduction="none"),
            jax.value_and_grad(first_row)(x),
            jaxloss.generalized_kl_divergence(x, t, reduction="none")[1],
        )

    normalised, (value, g), invalid = run(jnp.log(q), p, x, t)
    assert_close(normalised, _np_kl(p, q), rtol=1e-5)  # distributions: the KL divergence
    # term by term: 0 (zero target, zero measure), 1 (log 1 - 0) + 1 - 1, 2 (log 2 - 1) + e - 2
    assert_close(value, 2 * np.log(2) + np.e - 4, rtol=1e-6)
    assert np.all(np.isfinite(g)) and np.isnan(float(invalid))


@pytest.mark.parametrize("temperature", (1.0, 2.5))
def test_distillation_loss_matches_torch(temperature):
    rng = np.random.default_rng(13)
    s, t = 3 * rng.standard_normal((2, 6, 5)), 3 * rng.standard_normal((2, 6, 5))
    ts, tt = (torch.tensor(a, requires_grad=True) for a in (s, t))
    expected = temperature**2 * F.kl_div(
        F.log_softmax(ts.reshape(12, 5) / temperature, -1),
        F.log_softmax(tt.reshape(12, 5) / temperature, -1),
        log_target=True,
        reduction="batchmean",
    )
    expected.backward()
    w, m = rng.uniform(size=(2, 6)), rng.random((2, 6)) < 0.6

    @jax.jit
    def run(s, t, temperature):
        loss = functools.partial(jaxloss.distillation_loss, temperature=temperature)
        return (
            jax.value_and_grad(loss, (0, 1))(s, t),
            loss(s, t, reduction="none"),
            loss(s, t, weight=w, where=m, reduction="mean"),
            loss(jnp.moveaxis(s, -1, 1), jnp.moveaxis(t, -1, 1), axis=1, reduction="none"),
        )

    (value, grads), none, weighted, first = run(jnp.asarray(s), jnp.asarray(t), temperature)
    assert ts.grad is not None and tt.grad is not None
    assert_close(
        (value, *grads), (expected.item(), ts.grad.numpy(), tt.grad.numpy()), rtol=1e-5, atol=1e-7
    )
    rows = temperature**2 * _np_kl(_np_softmax(t / temperature), _np_softmax(s / temperature))
    assert_close((none, first), (rows, rows), rtol=1e-5)
    assert_close(weighted, np.sum(w * m * rows) / m.sum(), rtol=1e-5)


def test_distillation_loss_extremes_and_temperature():
    s = jnp.array([[1e4, -1e4, 0.0], [0.0, 1.0, 2.0]])
    t = jnp.array([[-1e4, 1e4, 0.0], [-jnp.inf, 0.0, 3.0]])  # a class outside the teacher's support
    traced = jax.jit(
        lambda s, t, temp: jax.value_and_grad(
            lambda *a: jaxloss.distillation_loss(*a, temperature=temp, reduction="sum"), (0, 1)
        )(s, t)
    )
    value, grads = traced(s, t, 2.0)
    assert all(np.all(np.isfinite(g)) for g in grads)
    # 4 KL: the teacher's class 1 under the student's log-probability -1e4 (T = 2)
    rows = [
        4 * 1e4,
        4
        * _np_kl(
            _np_softmax(np.array([-np.inf, 0.0, 1.5])), _np_softmax(np.array([0.0, 0.5, 1.0]))
        ),
    ]
    assert_close(value, np.sum(rows), rtol=1e-6)
    assert np.isnan(float(traced(s, t, -1.0)[0]))  # a traced temperature out of range
    with pytest.raises(
        ValueError,
        match=re.escape("jaxloss.distillation_loss: temperature must be in (0.0, inf]; got 0.0"),
    ):
        jaxloss.distillation_loss(s, t, temperature=0.0)
