"""No silently wrong number (classification): the class axis at ``axis=``, probability
targets on masked or broken logits, traced options, invalid labels and values, and
options of the wrong type. Each test says what it guards against; references are
PyTorch where it has the loss, else float64 NumPy.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from classification_helpers import REDUCTIONS, C, to_torch
from helpers import assert_close

import jaxloss

LEAD = (2, 3, 4)  # [N, d1, d2]: with the class axis, [N, C, d1, d2] channel-first


def _channel_first(rng, scale=3.0):
    return (scale * rng.normal(size=(LEAD[0], C, *LEAD[1:]))).astype(np.float32)


def _value_and_grad(fn, x, *args, **kwargs):
    value = fn(jnp.asarray(x), *args, **kwargs)
    grad = jax.grad(lambda a: jnp.sum(fn(a, *args, **kwargs)))(jnp.asarray(x))
    return value, grad


# ----------------------------------------------------------------- axis=


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_axis_1_matches_torch_channel_first(weighted, smoothing):
    """Guards: before, there was no axis= and a [N, C, d1, d2] output needed a
    moveaxis by hand; torch's own layout must give torch's values and gradients."""
    rng = np.random.default_rng(20)
    x = _channel_first(rng)
    y = rng.integers(0, C, size=LEAD)
    y.flat[::5] = -100
    q = np.moveaxis(rng.dirichlet(np.ones(C), size=LEAD), -1, 1)
    w = rng.uniform(0.2, 3.0, size=C) if weighted else None
    tw = None if w is None else to_torch(w)
    for reduction in REDUCTIONS:
        for targets in (y, q):
            ours = _value_and_grad(
                jaxloss.cross_entropy,
                x,
                jnp.asarray(targets, jnp.float32 if targets is q else jnp.int32),
                axis=1,
                weight=w,
                label_smoothing=smoothing,
                reduction=reduction,
            )
            tx = to_torch(x, grad=True)
            out = F.cross_entropy(
                tx, to_torch(targets), weight=tw, label_smoothing=smoothing, reduction=reduction
            )
            out.sum().backward()
            assert tx.grad is not None
            assert_close(ours, (out.detach().numpy(), tx.grad.numpy()), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_axis_1_matches_torch_channel_first(weighted):
    """Guards: as above, for log-probabilities laid out [N, C, d1, d2]."""
    rng = np.random.default_rng(21)
    logp = np.asarray(jax.nn.log_softmax(_channel_first(rng), axis=1))
    y = rng.integers(0, C, size=LEAD)
    y.flat[::5] = -100
    w = rng.uniform(0.2, 3.0, size=C) if weighted else None
    for reduction in REDUCTIONS:
        ours = _value_and_grad(
            jaxloss.nll_loss, logp, jnp.asarray(y), axis=1, weight=w, reduction=reduction
        )
        tx = to_torch(logp, grad=True)
        out = F.nll_loss(
            tx, to_torch(y), weight=None if w is None else to_torch(w), reduction=reduction
        )
        out.sum().backward()
        assert tx.grad is not None
        assert_close(ours, (out.detach().numpy(), tx.grad.numpy()), rtol=1e-5, atol=1e-6)


def _integer_targets(rng):
    y = rng.integers(0, C, size=LEAD)
    y.flat[::7] = -100
    return jnp.asarray(y)


_AXIS_CASES = {
    "cross_entropy": (jaxloss.cross_entropy, {"label_smoothing": 0.1}, "int"),
    "cross_entropy_probs": (jaxloss.cross_entropy, {"label_smoothing": 0.1}, "probs"),
    "nll_loss": (jaxloss.nll_loss, {}, "log_probs"),
    "softmax_focal_loss": (jaxloss.softmax_focal_loss, {"alpha": jnp.linspace(0.5, 1.5, C)}, "int"),
    "poly1_cross_entropy": (jaxloss.poly1_cross_entropy, {"epsilon": 2.0}, "int"),
    "poly1_cross_entropy_probs": (jaxloss.poly1_cross_entropy, {}, "probs"),
    "multi_margin_loss": (
        jaxloss.multi_margin_loss,
        {"p": 2, "weight": jnp.arange(1.0, C + 1)},
        "valid",
    ),
    "multiclass_hinge_loss": (jaxloss.multiclass_hinge_loss, {}, "valid"),
    "multilabel_soft_margin_loss": (jaxloss.multilabel_soft_margin_loss, {}, "labels"),
    "ldam_loss": (
        jaxloss.ldam_loss,
        {"class_counts": jnp.array([500, 100, 20, 4, 1]), "weight": jnp.arange(1.0, C + 1)},
        "valid",
    ),
}


@pytest.mark.parametrize("case", sorted(_AXIS_CASES))
@pytest.mark.parametrize("axis", [0, 1, 2, -3])
def test_axis_equals_moving_the_class_axis_last(case, axis):
    """Guards: ``axis=k`` must be exactly the default call on ``jnp.moveaxis(x, k, -1)``
    (values and gradients, every reduction); before, the keyword did not exist."""
    fn, options, kind = _AXIS_CASES[case]
    rng = np.random.default_rng(22)
    last = (3.0 * rng.normal(size=(*LEAD, C))).astype(np.float32)  # [N, d1, d2, C]
    if kind == "log_probs":
        last = np.asarray(jax.nn.log_softmax(last))
    if kind in ("int", "log_probs"):
        targets_last = targets_moved = _integer_targets(rng)
    elif kind == "valid":
        targets_last = targets_moved = jnp.asarray(rng.integers(0, C, size=LEAD))
    else:
        t = (
            rng.dirichlet(np.ones(C), size=LEAD)
            if kind == "probs"
            else (rng.uniform(size=(*LEAD, C)) < 0.4)
        )
        targets_last = jnp.asarray(t, jnp.float32)
        targets_moved = jnp.moveaxis(targets_last, -1, axis)
    moved = jnp.moveaxis(jnp.asarray(last), -1, axis)
    for reduction in REDUCTIONS:
        ours = _value_and_grad(fn, moved, targets_moved, axis=axis, reduction=reduction, **options)
        ref_value, ref_grad = _value_and_grad(
            fn, last, targets_last, reduction=reduction, **options
        )
        assert_close(ours, (ref_value, jnp.moveaxis(ref_grad, -1, axis)), rtol=1e-6, atol=1e-7)


def test_multilabel_weight_laid_out_like_logits_moves_with_them():
    """Guards: a full-shape weight must follow the label axis, not stay put."""
    rng = np.random.default_rng(23)
    x = rng.normal(size=(4, C, 3)).astype(np.float32)
    t = (rng.uniform(size=(4, C, 3)) < 0.5).astype(np.float32)
    w = rng.uniform(0.5, 2.0, size=(4, C, 3))
    ours = jaxloss.multilabel_soft_margin_loss(x, t, axis=1, weight=w, reduction="none")
    ref = F.multilabel_soft_margin_loss(
        to_torch(np.moveaxis(x, 1, -1)).reshape(-1, C),
        to_torch(np.moveaxis(t, 1, -1)).reshape(-1, C),
        weight=to_torch(np.moveaxis(w, 1, -1)).reshape(-1, C),
        reduction="none",
    )
    assert_close(ours, ref.numpy().reshape(4, 3), rtol=1e-5)


def test_smooth_labels_axis():
    """Guards: smooth_labels puts the class axis where the losses read it."""
    y = jnp.array([[0, 2], [1, 1]])
    out = jaxloss.smooth_labels(y, 0.3, num_classes=3, axis=1)
    ref = np.moveaxis(0.7 * np.eye(3)[np.asarray(y)] + 0.1, -1, 1)
    assert out.shape == (2, 3, 2)
    assert_close(out, ref)
    q = jnp.asarray(np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 4)), jnp.float32)
    assert_close(
        jaxloss.smooth_labels(jnp.moveaxis(q, -1, 0), 0.3, axis=0),
        jnp.moveaxis(jaxloss.smooth_labels(q, 0.3), -1, 0),
    )


@pytest.mark.parametrize(
    ("call_", "error", "message"),
    [
        (
            lambda: jaxloss.cross_entropy(jnp.zeros((2, C, 3)), jnp.zeros((2, 3), int), axis=3),
            ValueError,
            "jaxloss.cross_entropy: axis=3 is out of range for 3-d input",
        ),
        (
            lambda: jaxloss.nll_loss(jnp.zeros((2, C)), jnp.zeros(2, int), axis="1"),  # pyright: ignore[reportArgumentType]
            TypeError,
            "jaxloss.nll_loss: axis must be an integer; got '1'",
        ),
        (
            lambda: jaxloss.ldam_loss(jnp.zeros((2, C, 3)), jnp.zeros((2, 3), int), jnp.ones(C)),
            ValueError,
            f"jaxloss.ldam_loss: targets has shape (2, 3) but logits has shape (2, {C}, 3); "
            f"integer targets must have shape (2, {C}) with the class axis last; they fit with "
            "the class axis at 1 (PyTorch's channel-first layout for axis=1): pass axis=1",
        ),
        (
            lambda: jaxloss.ldam_loss(
                jnp.zeros((2, C, 3)), jnp.zeros((2, 3), int), jnp.ones(C), axis=3
            ),
            ValueError,
            "jaxloss.ldam_loss: axis=3 is out of range for 3-d input",
        ),
        (
            lambda: jaxloss.smooth_labels(jnp.zeros(2, int), 0.1, num_classes=3, axis=2),
            ValueError,
            "jaxloss.smooth_labels: axis=2 is out of range for the 2-d smoothed targets",
        ),
    ],
)
def test_bad_axis_raises_naming_it(call_, error, message):
    """Guards: a wrong axis is refused at trace time, never read as another axis."""
    with pytest.raises(error, match=re.escape(message)):
        call_()


@pytest.mark.parametrize("case", ["cross_entropy", "cross_entropy_probs", "nll_loss", "ldam_loss"])
def test_class_weights_is_torchs_weight_under_the_shared_name(case):
    """Guards: where PyTorch calls the ``[C]`` class weights ``weight``,
    ``class_weights`` must be the same vector with the same (Sigma w) mean, and
    passing both must raise rather than let one silently win."""
    rng = np.random.default_rng(25)
    x = jnp.asarray(rng.normal(size=(6, C)), jnp.float32)
    y = jnp.asarray(rng.integers(0, C, size=6)).at[2].set(-100)
    w = jnp.asarray(rng.uniform(0.2, 3.0, size=C), jnp.float32)
    fn, args = {
        "cross_entropy": (jaxloss.cross_entropy, (x, y)),
        "cross_entropy_probs": (jaxloss.cross_entropy, (x, jax.nn.softmax(2 * x))),
        "nll_loss": (jaxloss.nll_loss, (jax.nn.log_softmax(x), y)),
        "ldam_loss": (jaxloss.ldam_loss, (x, y.at[2].set(0), jnp.array([90, 40, 9, 3, 1]))),
    }[case]
    for reduction in ("mean", "none"):
        assert_close(
            fn(*args, class_weights=w, reduction=reduction),
            fn(*args, weight=w, reduction=reduction),
            rtol=1e-7,
        )
    with pytest.raises(ValueError, match=rf"^jaxloss\.{fn.__name__}: weight and class_weights"):
        fn(*args, weight=w, class_weights=w)


# ----------------------------------------------------------------- probability targets


@pytest.mark.parametrize("fn", [jaxloss.cross_entropy, jaxloss.poly1_cross_entropy])
def test_probability_mass_on_minus_inf_logit_is_infinite(fn):
    """Guards: mass on a -inf logit was dropped (0.416 instead of inf, yet 4000.7
    at -1e4); torch and optax give inf, the limit of the -1e4 case."""
    q = jnp.array([[0.4, 0.3, 0.3]])
    assert float(fn(jnp.array([[-jnp.inf, 0.0, 0.0]]), q)) == np.inf
    assert float(fn(jnp.array([[-1e4, 0.0, 0.0]]), q)) > 4000
    if fn is jaxloss.cross_entropy:
        expected = F.cross_entropy(torch.tensor([[-float("inf"), 0.0, 0.0]]), to_torch(q))
        assert expected.item() == np.inf


@pytest.mark.parametrize("fn", [jaxloss.cross_entropy, jaxloss.poly1_cross_entropy])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_probability_targets_nan_or_plus_inf_logit_gives_nan(fn, bad):
    """Guards: a NaN or +inf logit gave -0.0 with NaN gradients, even on a class
    without target mass; now the row is NaN (torch agrees)."""
    x = jnp.array([[bad, 0.0, 0.0], [0.5, 0.0, -0.5]])
    q = jnp.array([[0.0, 0.5, 0.5], [0.2, 0.3, 0.5]])
    per_row = np.asarray(fn(x, q, reduction="none"))
    assert np.isnan(per_row[0]) and np.isfinite(per_row[1])
    assert np.isnan(float(fn(x, q)))
    assert np.isnan(
        F.cross_entropy(to_torch(np.asarray(x)), to_torch(np.asarray(q)), reduction="none")[
            0
        ].item()
    )


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_minus_inf_logit_without_target_mass_is_skipped(smoothing):
    """The other half of the -inf fix, kept from before (it passed then too): a -inf
    class with no target mass is still left out (float64 NumPy over the finite
    classes; torch gives NaN), with a finite gradient, so one-hot targets still
    equal integer targets on a masked vocabulary."""
    rng = np.random.default_rng(24)
    x = rng.normal(size=(5, C))
    y = rng.integers(0, C, size=5)
    x[np.arange(5), (y + 1) % C] = -np.inf
    one_hot = np.eye(C)[y]
    keep = np.isfinite(x)
    logp = np.where(keep, x - np.log(np.where(keep, np.exp(x), 0).sum(-1, keepdims=True)), 0.0)
    ref = (1 - smoothing) * -logp[np.arange(5), y] + smoothing * -logp.sum(-1) / C
    value, grad = jax.value_and_grad(
        lambda a: jaxloss.cross_entropy(
            a, jnp.asarray(one_hot, jnp.float32), label_smoothing=smoothing, reduction="sum"
        )
    )(jnp.asarray(x, jnp.float32))
    assert_close(value, ref.sum(), rtol=1e-5)
    assert np.all(np.isfinite(grad))
    assert_close(
        value,
        jaxloss.cross_entropy(
            jnp.asarray(x, jnp.float32), jnp.asarray(y), label_smoothing=smoothing, reduction="sum"
        ),
        rtol=1e-6,
    )
    poly = jaxloss.poly1_cross_entropy(jnp.asarray(x, jnp.float32), jnp.asarray(one_hot))
    p_t = np.exp(logp[np.arange(5), y])
    assert_close(poly, np.mean(-np.log(p_t) + (1 - p_t)), rtol=1e-5)


@pytest.mark.parametrize("fn", [jaxloss.cross_entropy, jaxloss.poly1_cross_entropy])
def test_probability_outside_unit_interval_gives_nan(fn):
    """Guards: negative or > 1 'probabilities' (logits passed as targets) gave a
    finite number; now NaN for the row, and checked names targets."""
    x = jnp.zeros((2, 3))
    q = jnp.array([[1.5, -0.5, 0.0], [0.2, 0.3, 0.5]])
    per_row = np.asarray(fn(x, q, reduction="none"))
    assert np.isnan(per_row[0]) and np.isfinite(per_row[1])
    with pytest.raises(Exception, match=rf"jaxloss\.{fn.__name__}: targets must be probabilities"):
        jaxloss.checked(fn)(x, q)


@pytest.mark.parametrize("fn", [jaxloss.cross_entropy, jaxloss.poly1_cross_entropy])
def test_explicit_ignore_index_with_probability_targets_raises(fn):
    """Guards: an explicit ignore_index was silently ignored for float targets."""
    x, q = jnp.zeros((2, 3)), jnp.full((2, 3), 1 / 3)
    fn(x, q)  # the default is fine
    with pytest.raises(ValueError, match=r"ignore_index=0 applies to integer targets.*where="):
        fn(x, q, ignore_index=0)


# ----------------------------------------------------------------- invalid labels and values


@pytest.mark.parametrize("bad", [255, -1, C])
def test_invalid_label_gives_nan_and_checked_names_targets(bad):
    """Guards: a label that is neither a class nor ignore_index must be NaN (never
    read as a class), and checked must name it, also under a jitted step."""
    x = jnp.zeros((3, C))
    y = jnp.array([0, bad, 2])
    for fn in (jaxloss.cross_entropy, jaxloss.nll_loss, jaxloss.poly1_cross_entropy):
        per_row = np.asarray(fn(x - np.log(C), y, reduction="none"))
        assert np.isnan(per_row[1]) and np.all(np.isfinite(per_row[[0, 2]]))
    with pytest.raises(Exception, match=r"jaxloss\.cross_entropy: targets must be a class index"):
        jaxloss.checked(jax.jit(jaxloss.cross_entropy))(x, y)
    # a row masked out by where may hold anything, also for checked
    where = jnp.array([True, False, True])
    assert np.isfinite(float(jaxloss.checked(jaxloss.cross_entropy)(x, y, where=where)))


def test_nll_loss_of_raw_logits_is_nan_and_checked_says_log_probabilities():
    """Guards: raw logits (a positive entry) gave -0.378; now NaN for the row."""
    logits = jnp.array([[1.2, -0.3, 0.4], [-1.0, -2.0, -0.5]])
    logp = jax.nn.log_softmax(logits[1])
    x = logits.at[1].set(logp)
    per_row = np.asarray(jaxloss.nll_loss(x, jnp.array([1, 2]), reduction="none"))
    assert np.isnan(per_row[0])
    assert_close(per_row[1], F.nll_loss(to_torch(np.asarray(logp))[None], torch.tensor([2])).item())
    with pytest.raises(Exception, match=re.escape("log_probs must be log-probabilities (<= 0)")):
        jaxloss.checked(jaxloss.nll_loss)(x, jnp.array([1, 2]))


def test_nll_loss_nan_anywhere_in_a_counted_row_is_nan():
    """Guards: nll_loss read only the target's entry, so a NaN elsewhere in the row
    gave a finite loss. An ignored or masked row may hold NaN."""
    logp = np.asarray(
        jax.nn.log_softmax(jnp.asarray(np.random.default_rng(25).normal(size=(3, C))))
    )
    y = jnp.array([0, 1, -100])
    poisoned = logp.copy()
    poisoned[0, 3] = np.nan
    assert np.isnan(float(jaxloss.nll_loss(poisoned, y)))
    poisoned = logp.copy()
    poisoned[2, 3] = np.nan  # an ignored row
    expected = F.nll_loss(to_torch(logp[:2]), torch.tensor([0, 1])).item()
    assert_close(jaxloss.nll_loss(poisoned, y), expected, rtol=1e-6)
    poisoned[1, 2] = np.nan  # a row masked by where
    assert_close(
        jaxloss.nll_loss(poisoned, y, where=jnp.array([True, False, True])),
        F.nll_loss(to_torch(logp[:1]), torch.tensor([0])).item(),
        rtol=1e-6,
    )


def test_binary_cross_entropy_outside_unit_interval_is_nan_per_element():
    """Guards: logits passed as probs, or targets outside [0, 1], must be NaN for
    that element (the rest as torch), and checked names the argument."""
    p = np.array([0.2, 1.7, 0.6, -0.3, 0.9])
    t = np.array([1.0, 1.0, 0.0, 0.0, 2.0])
    ours = np.asarray(jaxloss.binary_cross_entropy(p, t, reduction="none"))
    ref = F.binary_cross_entropy(to_torch(p[[0, 2]]), to_torch(t[[0, 2]]), reduction="none")
    assert np.all(np.isnan(ours[[1, 3, 4]]))
    assert_close(ours[[0, 2]], ref.numpy(), rtol=1e-6)
    with pytest.raises(Exception, match=r"probs must be probabilities in \[0, 1\]; got 1.7"):
        jaxloss.checked(jaxloss.binary_cross_entropy)(p, t)
    with pytest.raises(Exception, match=r"targets must be in \[0, 1\]; got 2.0"):
        jaxloss.checked(jaxloss.binary_cross_entropy)(p.clip(0, 1), t)
    # gradients stay finite for the valid elements
    g = jax.grad(lambda a: jnp.nansum(jaxloss.binary_cross_entropy(a, t, reduction="none")))(
        jnp.asarray(p, jnp.float32)
    )
    assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.parametrize(
    ("fn", "targets", "name"),
    [
        (jaxloss.binary_cross_entropy_with_logits, [1.0, 1.5], "targets"),
        (jaxloss.sigmoid_focal_loss, [0.0, -1.0], "targets"),
        (jaxloss.soft_margin_loss, [1.0, 0.0], "targets"),  # a {0, 1} label cost log 2
        (jaxloss.hinge_embedding_loss, [1.0, 0.5], "targets"),
    ],
)
def test_binary_targets_outside_their_values_give_nan(fn, targets, name):
    """Guards: a target outside the documented values gave a finite number."""
    x = jnp.array([0.3, 0.7])
    out = np.asarray(fn(x, jnp.asarray(targets), reduction="none"))
    assert np.isfinite(out[0]) and np.isnan(out[1])
    with pytest.raises(Exception, match=rf"jaxloss\.{fn.__name__}: {name} must be"):
        jaxloss.checked(fn)(x, jnp.asarray(targets))


def test_hinge_embedding_negative_distance_and_multilabel_targets():
    """Guards: a negative 'distance' (raw scores) lowered the loss below 0, and a
    multi-label target of 2 gave a finite number."""
    out = np.asarray(
        jaxloss.hinge_embedding_loss(
            jnp.array([0.5, -0.5]), jnp.array([1.0, 1.0]), reduction="none"
        )
    )
    assert out[0] == 0.5 and np.isnan(out[1])
    with pytest.raises(Exception, match=r"distances must be non-negative; got -0.5"):
        jaxloss.checked(jaxloss.hinge_embedding_loss)(jnp.array([0.5, -0.5]), jnp.ones(2))
    x = jnp.zeros((2, 3))
    t = jnp.array([[1.0, 0.0, 1.0], [1.0, 2.0, 0.0]])
    out = np.asarray(jaxloss.multilabel_soft_margin_loss(x, t, reduction="none"))
    assert_close(out[0], np.log(2))
    assert np.isnan(out[1])


def test_smooth_labels_invalid_label_is_nan():
    """Guards: jax.nn.one_hot maps a label outside [0, C) to an all-zero row, which
    smoothing turned into a plausible uniform target."""
    out = np.asarray(jaxloss.smooth_labels(jnp.array([1, 3, -100]), 0.1, num_classes=3))
    assert_close(out[0], np.array([0.1 / 3, 0.9 + 0.1 / 3, 0.1 / 3]))
    assert np.all(np.isnan(out[1:]))
    with pytest.raises(Exception, match=r"targets must be a class index in \[0, 3\); got 3"):
        jaxloss.checked(jaxloss.smooth_labels)(jnp.array([1, 3]), 0.1, num_classes=3)


# ----------------------------------------------------------------- options


def _focal_reference(x, t, alpha, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss in float64 NumPy."""
    p = 1 / (1 + np.exp(-x))
    ce = np.logaddexp(0, x) - t * x
    loss = ce * (1 - (p * t + (1 - p) * (1 - t))) ** gamma
    return (alpha * t + (1 - alpha) * (1 - t)) * loss if alpha >= 0 else loss


@pytest.mark.parametrize("alpha", [-1.0, -0.5, 0.0, 0.25, 1.0])
def test_sigmoid_focal_traced_alpha_equals_concrete(alpha):
    """Guards: "alpha < 0 disables" was a Python test, so a traced -1.0 gave 0.02176
    against 0.01223 eagerly."""
    rng = np.random.default_rng(26)
    x = 3 * rng.normal(size=(6, 4))
    t = (rng.uniform(size=(6, 4)) < 0.3).astype(np.float64)
    xj, tj = jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.float32)
    concrete = jaxloss.sigmoid_focal_loss(xj, tj, alpha=alpha, reduction="none")
    traced = jax.jit(lambda a: jaxloss.sigmoid_focal_loss(xj, tj, alpha=a, reduction="none"))(alpha)
    assert_close(concrete, _focal_reference(x, t, alpha), rtol=1e-5, atol=1e-7)
    assert_close(traced, concrete, rtol=1e-6, atol=1e-7)


def test_sigmoid_focal_alpha_above_one_raises_or_is_nan_when_traced():
    """Guards: alpha > 1 (outside torchvision's [0, 1]) gave a negative weight on
    negatives and a finite number."""
    x, t = jnp.array([0.3, -1.0]), jnp.array([1.0, 0.0])
    with pytest.raises(ValueError, match=re.escape("alpha must be in [0, 1] (negative or None")):
        jaxloss.sigmoid_focal_loss(x, t, alpha=1.5)
    step = jax.jit(lambda a: jaxloss.sigmoid_focal_loss(x, t, alpha=a))
    assert np.isnan(float(step(1.5)))
    with pytest.raises(Exception, match=r"jaxloss\.sigmoid_focal_loss: alpha must be in \[0, 1\]"):
        jaxloss.checked(step)(jnp.float32(1.5))


@pytest.mark.parametrize(
    ("fn", "name", "value"),
    [
        (jaxloss.cross_entropy, "label_smoothing", 1.5),
        (jaxloss.softmax_focal_loss, "gamma", -1.0),
        (jaxloss.sigmoid_focal_loss, "gamma", -1.0),
    ],
)
def test_traced_option_out_of_range_is_nan_and_checked_names_it(fn, name, value):
    """Guards: a traced option skipped its range check and gave a finite number."""
    x = jnp.zeros((2, C))
    t = jnp.array([0, 1]) if fn is not jaxloss.sigmoid_focal_loss else jnp.zeros((2, C))
    step = jax.jit(lambda v: fn(x, t, **{name: v}))
    assert np.isnan(float(step(value)))
    with pytest.raises(Exception, match=rf"jaxloss\.{fn.__name__}: {name} must be in"):
        jaxloss.checked(step)(jnp.float32(value))


_STRING_OPTIONS = [
    (jaxloss.cross_entropy, "ignore_index"),
    (jaxloss.cross_entropy, "label_smoothing"),
    (jaxloss.nll_loss, "ignore_index"),
    (jaxloss.softmax_focal_loss, "alpha"),
    (jaxloss.softmax_focal_loss, "gamma"),
    (jaxloss.softmax_focal_loss, "ignore_index"),
    (jaxloss.poly1_cross_entropy, "epsilon"),
    (jaxloss.poly1_cross_entropy, "ignore_index"),
    (jaxloss.multi_margin_loss, "margin"),
    (jaxloss.multi_margin_loss, "p"),
    (jaxloss.sigmoid_focal_loss, "alpha"),
    (jaxloss.sigmoid_focal_loss, "gamma"),
    (jaxloss.hinge_embedding_loss, "margin"),
    (jaxloss.smooth_labels, "alpha"),
    (jaxloss.smooth_labels, "num_classes"),
]


@pytest.mark.parametrize(("fn", "name"), _STRING_OPTIONS, ids=lambda v: getattr(v, "__name__", v))
def test_option_of_the_wrong_type_raises_naming_it(fn, name):
    """Guards: ignore_index="-1" blamed where, and string alpha / epsilon / margin /
    label_smoothing failed deep inside; a bool is not an integer either."""
    if fn is jaxloss.smooth_labels:
        args, kwargs = (jnp.array([0, 1]),), {"alpha": 0.1, "num_classes": 3}
    elif fn in (jaxloss.sigmoid_focal_loss, jaxloss.hinge_embedding_loss):
        args, kwargs = (jnp.ones(2), jnp.ones(2)), {}
    else:
        args, kwargs = (jnp.full((2, C), -1.0), jnp.array([0, 1])), {}
    for wrong in ("1", True) if name in ("ignore_index", "p", "num_classes") else ("0.5",):
        with pytest.raises(TypeError, match=rf"^jaxloss\.{fn.__name__}: {name} must be"):
            fn(*args, **{**kwargs, name: wrong})
