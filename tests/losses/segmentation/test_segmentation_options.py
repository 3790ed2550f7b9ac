"""The MONAI options of the overlap losses: ``soft_label``, ``smooth_nr`` /
``smooth_dr``, generalized Dice's ``weight_type`` and ``per_class`` losses.

The reference is float64 NumPy written from MONAI's ``monai/losses/utils.py``
(``compute_tp_fp_fn``), ``dice.py`` and ``tversky.py``, with void pixels removed
by boolean selection; gradients are its central differences. MONAI itself (a
test dependency) is checked directly too, channel-first, values and gradients.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from helpers import assert_close
from monai.losses.dice import DiceLoss, GeneralizedDiceLoss
from monai.losses.tversky import TverskyLoss

import jaxloss

B, H, W, K = 2, 3, 4, 3

# ----------------------------------------------------------------- float64 reference


def _activate(x, mode):
    if mode == "multiclass":
        e = np.exp(x - x.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    p = 1 / (1 + np.exp(-x))
    return p if mode == "multilabel" else p[..., None]


def _tp_fp_fn(p, t, squared, soft_label):
    """MONAI's compute_tp_fp_fn on 1-d pixel vectors (ord 2 with ``squared``)."""
    if not squared and not soft_label:
        tp = np.sum(p * t)
        return tp, np.sum(p) - tp, np.sum(t) - tp
    order = 2 if squared else 1
    pred_o, ground_o = np.sum(np.abs(p) ** order), np.sum(np.abs(t) ** order)
    difference = np.sum(np.abs(p - t) ** order)
    tp = (pred_o + ground_o - difference) / 2
    return tp, pred_o - tp, ground_o - tp


def _ratio(num, den):
    return 1.0 if den == 0 else num / den


def reference(kind, x, t, *, mode, valid=None, per_sample=True, soft_label=False,
              squared=False, nr=1e-5, dr=1e-5, alpha=0.3, beta=0.7, gamma=0.75,
              weight_type="square", include_background=True):  # fmt: skip
    """Per-image (or global) per-class losses ``[R, K']`` from the formulas;
    generalized Dice gives ``[R, 1]``."""
    p = _activate(np.asarray(x, np.float64), mode)
    t = np.asarray(t, np.float64)
    t = t if t.ndim == p.ndim else t[..., None]
    valid = np.ones(p.shape[:-1], bool) if valid is None else np.asarray(valid)
    rows = [[b] for b in range(p.shape[0])] if per_sample else [list(range(p.shape[0]))]
    classes = range(0 if include_background else 1, p.shape[-1])
    out = []
    for r in rows:
        stats = []
        for c in classes:
            pc = np.concatenate([p[b][..., c][valid[b]] for b in r])
            tc = np.concatenate([t[b][..., c][valid[b]] for b in r])
            stats.append(_tp_fp_fn(pc, tc, squared, soft_label))
        tp, fp, fn = (np.array(v) for v in zip(*stats, strict=True))
        if kind == "dice":
            loss = [
                1 - _ratio(2 * a + nr, 2 * a + f + g + dr)
                for a, f, g in zip(tp, fp, fn, strict=True)
            ]
        elif kind == "jaccard":
            loss = [1 - _ratio(a + nr, a + f + g + dr) for a, f, g in zip(tp, fp, fn, strict=True)]
        elif kind in ("tversky", "focal_tversky"):
            loss = [
                1 - _ratio(a + nr, a + alpha * f + beta * g + dr)
                for a, f, g in zip(tp, fp, fn, strict=True)
            ]
            if kind == "focal_tversky":
                loss = [max(v, 0.0) ** gamma for v in loss]
        else:  # generalized Dice, MONAI's w_func and its rule for absent classes
            ground = tp + fn
            with np.errstate(divide="ignore"):
                w = {"square": 1 / ground**2, "simple": 1 / ground}.get(
                    weight_type, np.ones_like(ground)
                )
            w = np.where(np.isinf(w), 0.0, w)
            w = np.where(ground == 0, w.max(), w)
            loss = [1 - _ratio(2 * np.sum(w * tp) + nr, np.sum(w * (2 * tp + fp + fn)) + dr)]
        out.append(loss)
    return np.array(out)


def central_differences(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _inputs(mode, seed, hard=False):
    rng = np.random.default_rng(seed)
    x = 2 * rng.standard_normal((B, H, W) if mode == "binary" else (B, H, W, K))
    if mode == "multiclass":
        t = (
            np.eye(K)[rng.integers(0, K, (B, H, W))]
            if hard
            else rng.dirichlet(np.ones(K), (B, H, W))
        )
    else:
        t = rng.random(x.shape)
        t = (t < 0.4).astype(np.float64) if hard else t
    valid = rng.random((B, H, W)) < 0.8
    return x, t, valid


# ----------------------------------------------------------------- values and gradients

LOSSES = {
    "dice": jaxloss.dice_loss,
    "jaccard": jaxloss.jaccard_loss,
    "tversky": jaxloss.tversky_loss,
    "focal_tversky": jaxloss.focal_tversky_loss,
    "generalized_dice": jaxloss.generalized_dice_loss,
}
CASES = [  # (loss, mode, options, per_sample)
    ("dice", "multiclass", {"soft_label": True, "smooth_nr": 0.1, "smooth_dr": 0.3}, True),
    ("dice", "multilabel", {"soft_label": True, "squared": True, "smooth_dr": 0.0}, False),
    ("jaccard", "multiclass", {"soft_label": True, "smooth_nr": 0.0, "smooth_dr": 0.5}, False),
    (
        "tversky",
        "multilabel",
        {"soft_label": True, "alpha": 0.6, "beta": 0.2, "smooth_dr": 1.0},
        True,
    ),
    ("focal_tversky", "binary", {"soft_label": True, "gamma": 2.0, "smooth": 0.2}, False),
    ("focal_tversky", "multiclass", {"soft_label": True, "smooth_nr": 0.0}, True),
    ("generalized_dice", "multiclass", {"soft_label": True, "weight_type": "simple"}, True),
    ("generalized_dice", "multilabel", {"weight_type": "uniform", "smooth_nr": 0.5}, False),
    (
        "generalized_dice",
        "multiclass",
        {"weight_type": "square", "include_background": False},
        False,
    ),
]
_REF_NAMES = {"smooth_nr": "nr", "smooth_dr": "dr"}


def _ref_kwargs(opts: dict[str, Any]) -> dict[str, Any]:
    kw = {_REF_NAMES.get(k, k): v for k, v in opts.items() if k != "smooth"}
    if "smooth" in opts:
        kw.setdefault("nr", opts["smooth"])
        kw.setdefault("dr", opts["smooth"])
    return kw


@pytest.mark.parametrize(("kind", "mode", "opts", "per_sample"), CASES)
def test_options_match_the_float64_reference(kind, mode, opts, per_sample):
    x, t, valid = _inputs(mode, seed=len(str(opts)) + per_sample)
    if kind == "generalized_dice" and mode == "multiclass":
        t[0, ..., 1] = 0.0  # a class absent from image 0: MONAI's max-weight rule
        t[0] /= t[0].sum(-1, keepdims=True)
    ref_kw: dict[str, Any] = dict(
        mode=mode, valid=valid, per_sample=per_sample, **_ref_kwargs(opts)
    )
    expected = reference(kind, x, t, **ref_kw)
    rng = np.random.default_rng(0)
    probe = rng.random(expected.shape)  # a random direction through the [R, K'] losses
    fd = central_differences(lambda a: np.sum(probe * reference(kind, a, t, **ref_kw)), x)

    fn = LOSSES[kind]
    kw: dict[str, Any] = dict(mode=mode, per_sample=per_sample, where=valid, per_class=True, **opts)
    probe_ = probe if per_sample else probe[0]

    def checks(a, b):  # one compilation: the per-class losses, their gradient, the loss
        per_class = fn(a, b, reduction="none", **kw)
        grad = jax.grad(lambda z: jnp.sum(probe_ * fn(z, b, reduction="none", **kw)))(a)
        return per_class, grad, fn(a, b, **{**kw, "per_class": False})

    with jax.enable_x64(True):
        per_class, grad, default = jax.jit(checks)(jnp.asarray(x), jnp.asarray(t))
    assert_close(per_class, expected if per_sample else expected[0], rtol=1e-9, atol=1e-12)
    assert_close(grad, fd, rtol=1e-5, atol=1e-8)
    # the class mean of the per-class losses is the loss, then the mean over images
    assert_close(default, expected.mean(-1).mean(), rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------- MONAI itself


def _monai_value_grad(peer, x, t, mode):
    """MONAI on channel-first float64 tensors: its [B, C] losses and d(sum)/dx."""
    tx = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t)
    if mode == "binary":
        inp, tgt = tx[:, None], tt[:, None]
    else:
        inp, tgt = tx.movedim(-1, 1), tt.movedim(-1, 1)
    out = peer(inp, tgt)
    out.sum().backward()
    assert tx.grad is not None
    return out.detach().reshape(out.shape[0], -1).numpy(), tx.grad.numpy()


@pytest.mark.parametrize(
    ("ours", "peer", "mode", "opts"),
    [
        (jaxloss.dice_loss, DiceLoss(softmax=True, soft_label=True, smooth_nr=0.1, smooth_dr=0.3, reduction="none"), "multiclass", {"soft_label": True, "smooth_nr": 0.1, "smooth_dr": 0.3}),
        (jaxloss.tversky_loss, TverskyLoss(sigmoid=True, soft_label=True, alpha=0.6, beta=0.2, smooth_dr=1.0, reduction="none"), "multilabel", {"soft_label": True, "alpha": 0.6, "beta": 0.2, "smooth_dr": 1.0}),
        (jaxloss.generalized_dice_loss, GeneralizedDiceLoss(softmax=True, w_type="simple", soft_label=True, smooth_nr=0.0, reduction="none"), "multiclass", {"weight_type": "simple", "soft_label": True, "smooth_nr": 0.0}),
        (jaxloss.generalized_dice_loss, GeneralizedDiceLoss(sigmoid=True, w_type="uniform", batch=True, reduction="none"), "multilabel", {"weight_type": "uniform", "per_sample": False}),
    ],
)  # fmt: skip
def test_options_match_monai(ours, peer, mode, opts):
    x, t, _ = _inputs(mode, seed=7)
    expected, expected_grad = _monai_value_grad(peer, x, t, mode)
    kw: dict[str, Any] = dict(mode=mode, per_class=True, reduction="none", **opts)
    with jax.enable_x64(True):
        grad = jax.grad(lambda a: jnp.sum(ours(a, t, **kw)))(jnp.asarray(x))
        per_class = ours(jnp.asarray(x), t, **kw)
    # MONAI takes generalized Dice's weights in float32
    assert_close(per_class.reshape(expected.shape), expected, rtol=1e-6, atol=1e-9)
    assert_close(grad, expected_grad, rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------- per-class losses


def test_per_class_reductions_weights_masks_and_shapes():
    x, t, valid = _inputs("multiclass", seed=3)
    x, t = jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.float32)
    image_mask = jnp.array([True, False])
    weight = jnp.array([0.5, 2.0])
    kw: dict[str, Any] = dict(
        mode="multiclass", where=valid & image_mask[:, None, None], weight=weight
    )
    none = jaxloss.dice_loss(x, t, per_class=True, reduction="none", **kw)
    assert none.shape == (B, K)
    np.testing.assert_array_equal(none[1], 0.0)  # a masked image is 0
    unweighted = jaxloss.dice_loss(
        x, t, per_class=True, reduction="none", **{**kw, "weight": None, "where": valid}
    )
    assert_close(none[0], 0.5 * unweighted[0])
    mean = jaxloss.dice_loss(x, t, per_class=True, **kw)
    total = jaxloss.dice_loss(x, t, per_class=True, reduction="sum", **kw)
    assert mean.shape == total.shape == (K,)
    assert_close(mean, none[0])  # the mean over the one counted image
    assert_close(total, none.sum(0))
    assert_close(jnp.mean(mean), jaxloss.dice_loss(x, t, **kw))
    # without the background the class axis drops class 0
    fg = jaxloss.dice_loss(
        x, t, mode="multiclass", per_class=True, include_background=False, reduction="none"
    )
    full = jaxloss.dice_loss(x, t, mode="multiclass", per_class=True, reduction="none")
    assert_close(fg, full[:, 1:])
    # one global statistic per class for every reduction; generalized Dice pools its classes
    for reduction in ("mean", "sum", "none"):
        kw: dict[str, Any] = dict(
            mode="multiclass", per_class=True, per_sample=False, reduction=reduction
        )
        assert jaxloss.tversky_loss(x, t, **kw).shape == (K,)
        assert jaxloss.generalized_dice_loss(x, t, **kw).shape == (1,)
    gdl = jaxloss.generalized_dice_loss(x, t, per_class=True, reduction="none")
    assert_close(gdl[:, 0], jaxloss.generalized_dice_loss(x, t, reduction="none"))
    # class weights enter each class's loss, as MONAI's weight does
    cw = jnp.array([0.5, 1.0, 2.0])
    weighted = jaxloss.jaccard_loss(x, t, mode="multiclass", per_class=True, class_weights=cw)
    plain = jaxloss.jaccard_loss(x, t, mode="multiclass", per_class=True)
    assert_close(weighted, cw * plain)


def test_per_class_sample_weights_multiply_weight_before_each_class_reduction():
    """``sample_weights`` ``[B]`` or ``[B, K]`` on the ``[B, K]`` per-class losses, with
    ``weight``: each class's mean and sum are over the weighted images, a masked
    image (NaN sample weight) gives 0, and the count of images stays as it was."""
    x, t, valid = _inputs("multiclass", seed=5)
    x, t = jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.float32)
    where = valid & jnp.array([True, False])[:, None, None]
    weight = np.array([0.5, 2.0])

    @jax.jit
    def losses(sw):
        kw: dict[str, Any] = dict(mode="multiclass", per_class=True, where=where)
        base = jaxloss.dice_loss(x, t, reduction="none", **{**kw, "where": valid})
        weighted = [
            jaxloss.dice_loss(x, t, reduction=r, weight=weight, sample_weights=sw, **kw)
            for r in ("none", "sum", "mean")
        ]
        return base, weighted

    for sw in (np.array([3.0, np.nan]), np.array([[1.0, 2.0, 3.0], [np.nan, 1.0, 1.0]])):
        base, (none, total, mean) = losses(jnp.asarray(sw))
        scale = weight[:, None] * (sw if sw.ndim == 2 else sw[:, None])
        expected = np.where(np.array([True, False])[:, None], scale * np.asarray(base), 0.0)
        assert_close(none, expected, rtol=1e-6)
        assert_close(total, expected.sum(0), rtol=1e-6)
        assert_close(mean, expected.sum(0), rtol=1e-6)  # one image counts


def test_per_class_under_jit_and_empty_batch():
    x, t, _ = _inputs("multilabel", seed=4)
    f = jax.jit(
        jax.value_and_grad(
            lambda a, b: jnp.sum(
                jaxloss.focal_tversky_loss(a, b, mode="multilabel", per_class=True)
            )
        )
    )
    value, grad = f(jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.float32))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    empty_x, empty_t = jnp.zeros((0, H, W, K)), jnp.zeros((0, H, W, K))
    for reduction, shape in (("mean", (K,)), ("sum", (K,)), ("none", (0, K))):
        out = jaxloss.dice_loss(
            empty_x, empty_t, mode="multilabel", per_class=True, reduction=reduction
        )
        assert out.shape == shape and not np.any(out)


# ----------------------------------------------------------------- hard targets, errors


@pytest.mark.parametrize("mode", ("binary", "multiclass", "multilabel"))
def test_soft_label_equals_the_product_form_on_hard_targets(mode):
    x, t, valid = _inputs(mode, seed=5, hard=True)
    x, t = jnp.asarray(x, jnp.float32), jnp.asarray(t, jnp.float32)
    kw: dict[str, Any] = dict(mode=mode, where=valid, per_class=True, reduction="none")

    # the intersection is shared by every overlap loss: Dice and Tversky suffice
    def both(a):  # one compilation: (soft, product) values and gradients of each loss
        return [
            jax.value_and_grad(
                lambda z, fn=fn, soft=soft: jnp.sum(fn(z, t, soft_label=soft, **kw))
            )(a)
            for fn in (jaxloss.dice_loss, jaxloss.tversky_loss)
            for soft in (True, False)
        ]

    dice_soft, dice, tversky_soft, tversky = jax.jit(both)(x)
    assert_close(dice_soft, dice, rtol=1e-5, atol=1e-6)
    assert_close(tversky_soft, tversky, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("call_", "error", "message"),
    [
        (lambda x, t: jaxloss.dice_loss(x, t, smooth_nr=-1.0), ValueError, "dice_loss: smooth_nr must be in"),
        (lambda x, t: jaxloss.tversky_loss(x, t, smooth_dr=-0.1), ValueError, "tversky_loss: smooth_dr must be in"),
        (lambda x, t: jaxloss.jaccard_loss(x, t, smooth_nr="1"), TypeError, "jaccard_loss: smooth_nr"),  # pyright: ignore[reportArgumentType]
        (lambda x, t: jaxloss.generalized_dice_loss(x, t, mode="binary", weight_type="log"), ValueError, "generalized_dice_loss: weight_type must be one of 'square', 'simple', 'uniform'; got 'log'"),
        (lambda x, t: jaxloss.focal_tversky_loss(x, t, per_class=1), TypeError, "focal_tversky_loss: per_class"),  # pyright: ignore[reportArgumentType]
        (lambda x, t: jaxloss.dice_loss(x, t, soft_label="yes"), TypeError, "dice_loss: soft_label"),  # pyright: ignore[reportArgumentType]
    ],
)  # fmt: skip
def test_option_errors_name_the_function_and_argument(call_, error, message):
    x, t = jnp.zeros((2, 4, 4)), jnp.zeros((2, 4, 4))
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call_(x, t)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        jax.jit(call_)(x, t)


def test_smooth_nr_and_dr_default_to_smooth():
    x, t, _ = _inputs("multilabel", seed=6)
    for fn in LOSSES.values():
        base = fn(x, t, mode="multilabel", smooth=0.7)
        assert_close(fn(x, t, mode="multilabel", smooth=0.7, smooth_nr=0.7, smooth_dr=0.7), base)
        assert_close(fn(x, t, mode="multilabel", smooth=0.0, smooth_nr=0.7, smooth_dr=0.7), base)
