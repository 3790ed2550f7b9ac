"""The peers' classification losses: sparsemax and Fenchel-Young (optax), perceptrons
(optax), multi-label margin (PyTorch) and generalized cross-entropy (float64 NumPy
from Keras' formula). Values and gradients, every reduction, masks, weights, ties,
huge logits and vanishing probabilities.

Each check compiles one function that returns every reduction and the gradient,
so the file stays fast.
"""

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
from jax.test_util import check_grads

import jaxloss
from jaxloss.losses.classification.sparsemax import sparsemax

REDUCTIONS = ("mean", "sum", "none")


def _outputs(fn, x, *args, **kwargs):
    """``fn``'s output for every reduction and the gradient of its "sum" in ``x``,
    from one compiled function."""

    @jax.jit
    def run(x, *args):
        out = {r: fn(x, *args, reduction=r, **kwargs) for r in REDUCTIONS}
        out["grad"] = jax.grad(lambda a: fn(a, *args, reduction="sum", **kwargs))(x)
        return out

    return run(jnp.asarray(x), *(jnp.asarray(a) for a in args))


def _reference(fn, x, *args, scale=None):
    """A peer's unreduced loss and the gradient of its ``scale``-weighted sum."""
    scale = 1.0 if scale is None else scale

    @jax.jit
    def run(x, *args):
        return fn(x, *args), jax.grad(lambda a: jnp.sum(scale * fn(a, *args)))(x)

    return run(jnp.asarray(x), *(jnp.asarray(a) for a in args))


def _check(out, none, grad, weight=None, mask=None, rtol=1e-5, atol=1e-6):
    """``out`` (from :func:`_outputs`) against an unreduced reference, reduced as
    the contract defines it, and the reference gradient of the weighted sum."""
    none = np.asarray(none, np.float64)
    w = np.ones_like(none) if weight is None else np.broadcast_to(weight, none.shape)
    m = np.ones(none.shape, bool) if mask is None else np.broadcast_to(mask, none.shape)
    terms = np.where(m, w * none, 0.0)
    expected = {"none": terms, "sum": terms.sum(), "mean": terms.sum() / max(m.sum(), 1)}
    for r in REDUCTIONS:
        assert_close(out[r], expected[r], rtol=rtol, atol=atol)
    assert_close(out["grad"], grad, rtol=rtol, atol=atol)


def _np_sparsemax(z):
    """float64 sparsemax by bisection on the threshold (no sorting)."""
    z = np.asarray(z, np.float64)
    lo, hi = z.max(-1, keepdims=True) - 1.0, z.max(-1, keepdims=True)
    for _ in range(200):
        tau = (lo + hi) / 2
        over = np.maximum(z - tau, 0).sum(-1, keepdims=True) > 1
        lo, hi = np.where(over, tau, lo), np.where(over, hi, tau)
    return np.maximum(z - (lo + hi) / 2, 0)


# ----------------------------------------------------------------- sparsemax


def test_sparsemax_projection_matches_bisection_and_optax():
    rng = np.random.default_rng(0)
    z = jnp.asarray(3 * rng.normal(size=(5, 7)), jnp.float32)
    tied = jnp.array([2.0, 2.0, 2.0, 0.0])
    p, theirs, jac_fwd, jac_rev = jax.jit(
        lambda z, t: (
            sparsemax(z),
            jax.vmap(optax.projections.projection_simplex)(z),
            jax.jacfwd(sparsemax)(t),
            jax.jacrev(sparsemax)(t),
        )
    )(z, tied)
    assert_close(p, _np_sparsemax(z), atol=1e-6)
    assert_close(p, theirs, atol=1e-6)
    # Jacobian on the support S: diag(s) - s s^T / |S|, also at tied logits
    s = np.array([1.0, 1.0, 1.0, 0.0])
    assert_close((jac_fwd, jac_rev), (np.diag(s) - np.outer(s, s) / 3,) * 2, atol=1e-7)


def test_sparsemax_loss_matches_optax():
    rng = np.random.default_rng(1)
    z = (3 * rng.normal(size=(2, 3, 6))).astype(np.float32)
    y = rng.integers(0, 6, size=(2, 3))
    w = rng.uniform(0.5, 2.0, size=(2, 3)).astype(np.float32)
    m = np.array([[True, False, True], [True, True, True]])
    none, grad = _reference(
        lambda a, b: optax.losses.multiclass_sparsemax_loss(a.reshape(6, 6), b.ravel()).reshape(
            2, 3
        ),
        z,
        y,
        scale=w * m,
    )
    _check(_outputs(jaxloss.sparsemax_loss, z, y, weight=w, where=m), none, grad, w, m)
    # channel-first layout
    _, grad = _reference(lambda a, b: optax.losses.multiclass_sparsemax_loss(a, b), z[0], y[0])
    first = _outputs(jaxloss.sparsemax_loss, z[0].T[None], y[:1], axis=1)
    _check(first, np.asarray(none)[:1], np.asarray(grad).T[None])


def test_sparsemax_loss_probability_targets_against_numpy():
    rng = np.random.default_rng(2)
    z = (2 * rng.normal(size=(4, 5))).astype(np.float32)
    q = _np_sparsemax(rng.normal(size=(4, 5)))  # sparse distributions, exact zeros
    q[0] = np.eye(5)[3]
    p = _np_sparsemax(z)
    zz = z.astype(np.float64)
    none = (p * zz).sum(-1) - 0.5 * (p * p).sum(-1) - (q * zz).sum(-1) + 0.5 * (q * q).sum(-1)
    _check(_outputs(jaxloss.sparsemax_loss, z, q.astype(np.float32)), none, p - q)  # grad p - q
    one_hot = _outputs(jaxloss.sparsemax_loss, z[:1], np.array([3]))
    assert_close(one_hot["none"], none[:1], atol=1e-5)
    # NaN for a target row that is not probabilities
    bad = q.astype(np.float32)
    bad[1, 0] = 1.5
    assert np.isnan(np.asarray(_outputs(jaxloss.sparsemax_loss, z, bad)["none"])[1])


def test_sparsemax_loss_ties_huge_logits_and_masked_classes():
    # rows: tied logits; a row offset by 1e8 and the same row without it; +-1e4
    # with a -inf class; and target mass on a -inf class (inf, as cross-entropy)
    z = jnp.array(
        [
            [2.0, 2.0, 2.0, 0.0],
            [1e8, 1e8, 1e8 - 1e4, 1e8 - 1e4],
            [0.0, 0.0, -1e4, -1e4],
            [1e4, -1e4, -jnp.inf, 0.0],
            [1e4, -1e4, -jnp.inf, 0.0],
        ]
    )
    out = _outputs(jaxloss.sparsemax_loss, z, jnp.array([0, 2, 2, 1, 2]))
    expected = [1 / 3, 1e4 + 0.25, 1e4 + 0.25, 2e4, np.inf]
    assert_close(out["none"], np.array(expected), rtol=1e-7)
    assert_close(out["grad"][0], np.array([-2 / 3, 1 / 3, 1 / 3, 0.0]), atol=1e-7)
    assert np.all(np.isfinite(out["grad"]))
    with jax.enable_x64(True):  # C^1 at a tie: finite differences agree
        q = jnp.array([[0.5, 0.5, 0.0, 0.0]])
        check_grads(
            jax.jit(lambda a: jaxloss.sparsemax_loss(a, q)),
            (jnp.array([[1.0, 1.0, 0.0, 0.5]]),),
            order=1,
            modes=("fwd", "rev"),
            eps=1e-6,
        )


def test_binary_sparsemax_loss_matches_optax_and_its_formula():
    x = jnp.array([[-3.0, -1.0, -0.5, 0.0], [0.3, 1.0, 2.5, 1e4]])
    t = jnp.array([[1, 0, 1, 0], [1, 1, 0, 0]])
    w = np.array([[1.0], [2.0]])
    none, grad = _reference(optax.losses.sparsemax_loss, x, t, scale=w)
    _check(_outputs(jaxloss.binary_sparsemax_loss, x, t, weight=w), none, grad, w)
    # soft targets: the Fenchel-Young form Omega*(x) - t x + Omega(t), Omega(t) = t^2 - t;
    # zero exactly at the sparse sigmoid; NaN outside [0, 1]
    x = np.linspace(-2.0, 2.0, 9)
    t = np.stack([np.linspace(0.0, 1.0, 9)[::-1], np.clip((x + 1) / 2, 0, 1)])
    sp = np.where(x <= -1, 0.0, np.where(x >= 1, x, (x + 1) ** 2 / 4))
    out = _outputs(jaxloss.binary_sparsemax_loss, np.stack([x, x]), t)["none"]
    assert_close(out, np.stack([sp - t[0] * x + t[0] ** 2 - t[0], 0 * x]), atol=1e-6)
    bad = _outputs(jaxloss.binary_sparsemax_loss, x[:2], np.array([1.0, -1.0]))["none"]
    assert np.isfinite(bad[0]) and np.isnan(bad[1])


# ----------------------------------------------------------------- Fenchel-Young


def _logsumexp(scores, *args, **kwargs):
    return jax.scipy.special.logsumexp(scores)


def test_fenchel_young_loss_matches_optax():
    rng = np.random.default_rng(3)
    s = (2 * rng.normal(size=(2, 3, 5))).astype(np.float32)
    q = np.asarray(jax.nn.softmax(jnp.asarray(rng.normal(size=(2, 3, 5)), jnp.float32), -1))
    y = rng.integers(0, 5, size=(2, 3))
    ours = jaxloss.make_fenchel_young_loss(jax.nn.logsumexp)
    theirs = optax.losses.make_fenchel_young_loss(_logsumexp)
    _check(_outputs(ours, s, q), *_reference(theirs, s, q))
    # integer targets are one-hot; logsumexp gives the softmax cross-entropy, max the perceptron
    perceptron = jaxloss.make_fenchel_young_loss(jnp.max)
    one_hot, ce, p1, p2 = jax.jit(
        lambda s, y: (
            ours(s, y, reduction="none"),
            jaxloss.cross_entropy(s, y, reduction="none"),
            perceptron(s, y, reduction="none"),
            jaxloss.multiclass_perceptron_loss(s, y, reduction="none"),
        )
    )(s, y)
    assert_close(one_hot, theirs(s, jax.nn.one_hot(y, 5)), rtol=1e-6)
    assert_close((one_hot, p1), (ce, p2), rtol=1e-6)
    with pytest.raises(TypeError, match=r"^jaxloss\.make_fenchel_young_loss: max_fn must be"):
        jaxloss.make_fenchel_young_loss(3.0)  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match=r"^jaxloss\.fenchel_young_loss: reduction must be"):
        ours(s, q, reduction="avg")


def test_fenchel_young_loss_masks_rows_and_takes_an_empty_batch():
    """The factory's loss is not registered (it has no fixed max function): the
    registry-driven checks of masks and empty batches, on one instance."""
    fy = jaxloss.make_fenchel_young_loss(jax.nn.logsumexp)
    rng = np.random.default_rng(9)
    s = (3 * rng.normal(size=(8, 5))).astype(np.float32)
    y = rng.integers(0, 5, size=8)
    keep = np.arange(8) % 3 != 1
    poisoned = np.where(keep[:, None], s, np.nan).astype(np.float32)

    @jax.jit
    def run(s, poisoned, y):
        def masked(a):
            return fy(a, y, where=keep)

        return (
            jax.value_and_grad(masked)(poisoned),
            fy(s[keep], y[keep]),
            jax.value_and_grad(lambda a: fy(a, y[:0], reduction="sum"))(s[:0]),
            fy(s, y, where=keep, reduction="none"),
        )

    (value, grad), sliced, (empty, empty_grad), none = run(s, poisoned, y)
    assert_close(value, sliced, rtol=1e-6)
    assert np.all(np.isfinite(grad)) and np.all(np.asarray(grad)[~keep] == 0)
    assert np.all(np.asarray(none)[~keep] == 0)
    assert float(empty) == 0.0 and empty_grad.shape == (0, 5)


# ----------------------------------------------------------------- perceptrons


def test_perceptron_losses_match_optax():
    rng = np.random.default_rng(4)
    s = (2 * rng.normal(size=(4, 6))).astype(np.float32)
    signs = np.where(rng.uniform(size=(4, 6)) < 0.5, -1.0, 1.0).astype(np.float32)
    m = rng.uniform(size=(4, 6)) < 0.7
    none, grad = _reference(optax.losses.perceptron_loss, s, signs, scale=m)
    for targets in (signs, (signs + 1) / 2):  # {-1, +1} and {0, 1}
        _check(_outputs(jaxloss.perceptron_loss, s, targets, where=m), none, grad, mask=m)
    y = rng.integers(0, 6, size=4)
    w = rng.uniform(size=4).astype(np.float32)
    none, grad = _reference(optax.losses.multiclass_perceptron_loss, s, y, scale=w)
    _check(_outputs(jaxloss.multiclass_perceptron_loss, s, y, weight=w), none, grad, w)
    # targets outside their values give NaN
    assert np.isnan(_outputs(jaxloss.perceptron_loss, s[:1], np.full((1, 6), 0.5))["mean"])
    bad = _outputs(jaxloss.multiclass_perceptron_loss, s, np.array([0, 6, 1, 2]))["none"]
    assert np.isnan(bad[1]) and np.all(np.isfinite(np.asarray(bad)[[0, 2, 3]]))


# ----------------------------------------------------------------- multi-label margin


def _target_lists(rng, n, c):
    """Rows of class ids ended by -1 (with ids after it that must be ignored), a
    row listing a class twice, a full row and a row without targets."""
    y = np.stack([rng.permutation(c) for _ in range(n)])
    y[np.arange(n), rng.integers(1, c, size=n)] = -1
    y[0, :4] = [2, 2, 0, -1]
    y[1] = rng.permutation(c)  # every class listed: nothing to compare against
    y[2, 0] = -1  # no targets: loss 0
    return y


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_matches_torch(reduction):
    rng = np.random.default_rng(5)
    s = (1.5 * rng.normal(size=(7, 6))).astype(np.float32)
    s[3, :3] = [0.5, 1.5, 0.5]  # margins met exactly: torch's gradient is 0 there
    y = _target_lists(rng, 7, 6)
    ts = torch.tensor(s.astype(np.float64), requires_grad=True)
    ref = F.multilabel_margin_loss(ts, torch.tensor(y), reduction=reduction)
    ref.sum().backward()
    assert ts.grad is not None
    out = jax.jit(
        lambda s, y: jax.value_and_grad(
            lambda a: jnp.sum(jaxloss.multilabel_margin_loss(a, y, reduction=reduction))
        )(s)
    )(jnp.asarray(s), jnp.asarray(y))
    assert_close(out, (ref.sum().item(), ts.grad.numpy()), rtol=1e-5, atol=1e-6)


def test_multilabel_margin_loss_leading_axes_mask_weight_and_bad_ids():
    rng = np.random.default_rng(6)
    s = rng.normal(size=(2, 3, 5)).astype(np.float32)
    y = _target_lists(rng, 6, 5).reshape(2, 3, 5)
    ts = torch.tensor(s.reshape(6, 5).astype(np.float64), requires_grad=True)
    w, m = rng.uniform(size=(2, 3)), np.array([True, False])
    ref = F.multilabel_margin_loss(ts, torch.tensor(y.reshape(6, 5)), reduction="none")
    (ref.reshape(2, 3) * torch.tensor(w * m[:, None])).sum().backward()
    assert ts.grad is not None
    poisoned = s.copy()
    poisoned[1] = np.nan  # masked rows may hold anything
    none = ref.detach().numpy().reshape(2, 3)
    grad = ts.grad.numpy().reshape(2, 3, 5)
    _check(
        _outputs(jaxloss.multilabel_margin_loss, poisoned, y, weight=w, where=m),
        none,
        grad,
        w,
        m[:, None],
    )
    first = _outputs(
        jaxloss.multilabel_margin_loss, np.moveaxis(s, -1, 1), np.moveaxis(y, -1, 1), axis=1
    )
    assert_close(first["none"], none, rtol=1e-5)
    bad = y.copy()
    bad[0, 0, 0] = 7  # before the -1: not a class
    out = _outputs(jaxloss.multilabel_margin_loss, s, bad)["none"]
    assert np.isnan(out[0, 0]) and np.all(np.isfinite(out[1]))
    with pytest.raises(
        TypeError, match=r"^jaxloss\.multilabel_margin_loss: targets must be integer"
    ):
        jaxloss.multilabel_margin_loss(s, y.astype(np.float32))


# ----------------------------------------------------------------- generalized cross-entropy


def _np_gce(z, y, q):
    """Keras' formula (1 - p_y^q) / q on float64 softmax probabilities, and its
    gradient in the logits: -p_y^q (onehot - p)."""
    z = np.asarray(z, np.float64)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    p_y = np.take_along_axis(p, y[..., None], -1)[..., 0]
    return (1 - p_y**q) / q, -(p_y**q)[..., None] * (np.eye(z.shape[-1])[y] - p)


def test_generalized_cross_entropy_against_keras_formula(q=0.3):
    rng = np.random.default_rng(7)
    z = (2 * rng.normal(size=(3, 4, 5))).astype(np.float32)
    y = rng.integers(0, 5, size=(3, 4))
    w, m = rng.uniform(size=(3, 4)), rng.uniform(size=(3, 4)) < 0.7
    none, grad = _np_gce(z, y, q)
    out = _outputs(jaxloss.generalized_cross_entropy, z, y, q=q, weight=w, where=m)
    _check(out, none, (w * m)[..., None] * grad, w, m)
    # Keras takes probabilities: their logs reproduce it
    probs = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    keras_like = _outputs(jaxloss.generalized_cross_entropy, np.log(probs), y, q=q)
    assert_close(keras_like["none"], none, rtol=1e-5)


def test_generalized_cross_entropy_hard_cases():
    # p_y -> 0 (and a -inf target logit): the loss tends to 1/q, the gradient to 0
    z = jnp.array([[0.0, 1e4, 0.0], [-jnp.inf, 0.0, 1.0], [5.0, 5.0, 5.0]])
    out = _outputs(jaxloss.generalized_cross_entropy, z, jnp.array([0, 0, 1]), q=0.5)
    assert_close(out["none"], np.array([2.0, 2.0, 2 * (1 - np.sqrt(1 / 3))]), rtol=1e-6)
    assert np.all(np.isfinite(out["grad"])) and np.all(np.asarray(out["grad"])[:2] == 0)
    rng = np.random.default_rng(8)
    z = rng.normal(size=(6, 4)).astype(np.float32)
    y = rng.integers(0, 4, size=6)
    traced = jax.jit(
        lambda q: (
            jaxloss.generalized_cross_entropy(z, y, q=q),
            jaxloss.cross_entropy(z, y),
        )
    )
    gce, ce = traced(1e-4)
    assert_close(gce, ce, rtol=1e-3)  # q -> 0 tends to cross-entropy
    assert_close(traced(1.0)[0], np.mean(_np_gce(z, y, 1.0)[0]), rtol=1e-6)  # q = 1: 1 - p_y
    assert np.isnan(float(traced(1.5)[0]))  # a traced q outside (0, 1] gives NaN
    with pytest.raises(
        ValueError,
        match=re.escape("jaxloss.generalized_cross_entropy: q must be in (0.0, 1.0]; got 0.0"),
    ):
        jaxloss.generalized_cross_entropy(z, y, q=0.0)
