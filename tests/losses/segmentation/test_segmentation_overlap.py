"""Segmentation overlap losses (Dice, Tversky, focal Tversky, Jaccard, generalized
Dice): float64 references written from the formulas (void pixels removed by
boolean indexing, not masked), MONAI and optax parity, seed 000's worked Tversky
numbers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import monai.losses
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from segmentation_inputs import MODES, OVERLAP, K, base_mode, inputs, jax_value_grad

import jaxloss

# ----------------------------------------------------------------- float64 reference


def _probs_targets_valid(x, t, mode, from_logits, mask, ignore_index=-100):
    """torch float64 probabilities [B, ..., K], targets and a boolean valid map."""
    tx = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    if mode == "binary":
        p = (torch.sigmoid(tx) if from_logits else tx)[..., None]
        tt = torch.tensor(np.asarray(t, np.float64))[..., None]
    elif mode == "multilabel":
        p = torch.sigmoid(tx) if from_logits else tx
        tt = torch.tensor(np.asarray(t, np.float64))
    else:
        p = torch.softmax(tx, -1) if from_logits else tx
        if np.issubdtype(np.asarray(t).dtype, np.integer):
            labels = torch.tensor(np.asarray(t))
            keep = labels != ignore_index
            tt = F.one_hot(torch.where(keep, labels, 0), p.shape[-1]).double()
            mask = keep.numpy() if mask is None else mask & keep.numpy()
        else:
            tt = torch.tensor(np.asarray(t, np.float64))
    valid = np.ones(p.shape, bool) if mask is None else np.asarray(mask)
    if valid.ndim < p.ndim:
        valid = valid[..., None]
    return tx, p, tt, np.broadcast_to(valid, p.shape)


def _reference_sums(p, tt, valid, per_sample, squared):
    """(I, P, T) as [R, K] from explicit selections of valid pixels."""
    rows = range(p.shape[0]) if per_sample else [slice(None)]
    out = []
    for r in rows:
        per_class = []
        for c in range(p.shape[-1]):
            sel = torch.tensor(valid[r][..., c].reshape(-1))
            pc = p[r][..., c].reshape(-1)[sel]
            tc = tt[r][..., c].reshape(-1)[sel]
            e = 2 if squared else 1
            per_class.append(torch.stack([(pc * tc).sum(), (pc**e).sum(), (tc**e).sum()]))
        out.append(torch.stack(per_class))
    return torch.stack(out)  # [R, K, 3]


def _div(num, den):
    """The documented rule: a class with nothing predicted, nothing to find and no
    smoothing scores 1 (0 / 0 is a perfect match)."""
    empty = den == 0
    return torch.where(empty, torch.ones_like(num), num / torch.where(empty, 1.0, den))


def reference_overlap(kind, x, t, *, mode, from_logits=True, smooth=1e-5, squared=False,
                      class_weights=None, include_background=True, per_sample=True,
                      where=None, alpha=0.3, beta=0.7, gamma=0.75):  # fmt: skip
    """The overlap losses from their formulas in float64: value and d/dx."""
    tx, p, tt, valid = _probs_targets_valid(x, t, mode, from_logits, where)
    s = _reference_sums(p, tt, valid, per_sample, squared)
    counted = [valid[b].any() for b in range(p.shape[0])] if per_sample else [True]
    if not include_background:
        s = s[:, 1:]
    i, ps, ts = s[..., 0], s[..., 1], s[..., 2]
    w = torch.ones(s.shape[1], dtype=torch.float64)
    if class_weights is not None:
        w = torch.tensor(np.asarray(class_weights, np.float64))[
            slice(1 if not include_background else 0, None)
        ]
    if kind == "generalized_dice":
        gw = torch.where(ts > 0, 1 / ts.clamp_min(1e-300) ** 2, torch.zeros_like(ts))
        gw = torch.where(ts > 0, gw, gw.max(-1, keepdim=True).values) * w
        gw = gw.detach()
        loss = 1 - (2 * (gw * i).sum(-1) + smooth) / ((gw * (ps + ts)).sum(-1) + smooth)
    else:
        if kind == "dice":
            score = _div(2 * i + smooth, ps + ts + smooth)
        elif kind == "jaccard":
            score = _div(i + smooth, ps + ts - i + smooth)
        else:
            score = _div(i + smooth, i + alpha * (ps - i) + beta * (ts - i) + smooth)
        per_class = 1 - score
        if kind == "focal_tversky":
            per_class = per_class.clamp_min(0) ** gamma
        loss = (per_class * w).mean(-1)
    keep = torch.tensor(counted)
    value = loss[keep].mean() if per_sample else loss[0]
    value.backward()
    return value.item(), tx.grad.numpy()


_OPTIONS = [
    {},
    {"squared": True},
    {"include_background": False},
    {"class_weights": np.array([0.5, 1.0, 2.0, 1.5])},
    {"from_logits": False},
    {"smooth": 0.0},
    {"smooth": 1.0, "alpha": 0.6, "beta": 0.2, "gamma": 2.0},
]


@pytest.mark.parametrize("per_sample", (True, False))
@pytest.mark.parametrize("masked", (False, True))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", OVERLAP)
def test_overlap_losses_match_float64_reference(kind, mode, masked, per_sample):
    seed = [*OVERLAP].index(kind) * 100 + MODES.index(mode) * 10 + 2 * masked + per_sample
    rng = np.random.default_rng(seed)
    x, t, mask = inputs(mode, rng)
    # each option runs for every loss and mode, masked and unmasked, per image and
    # pooled, but not in all four combinations: half the compilations
    for opts in _OPTIONS[(masked + per_sample) % 2 :: 2]:
        if mode == "binary" and ("class_weights" in opts or "include_background" in opts):
            continue
        opts = dict(opts)
        if not opts.get("from_logits", True):
            x_in = jax.nn.softmax(x, -1) if base_mode(mode) == "multiclass" else jax.nn.sigmoid(x)
            x_in = np.asarray(x_in, np.float64)
        else:
            x_in = x
        if kind not in ("tversky", "focal_tversky"):
            opts.pop("alpha", None), opts.pop("beta", None)
        if kind != "focal_tversky":
            opts.pop("gamma", None)
        if kind == "generalized_dice" and opts.get("smooth") == 0.0:
            continue  # an image without any valid foreground is 0 / 0 in the reference
        where = mask if masked else None
        kw = {"mode": base_mode(mode), "per_sample": per_sample, **opts}
        value, grad = jax_value_grad(OVERLAP[kind], x_in, jnp.asarray(t), where=where, **kw)
        ref_value, ref_grad = reference_overlap(kind, x_in, t, where=where, **kw)
        assert_close(value, ref_value, rtol=2e-5, atol=1e-6)
        assert_close(grad, ref_grad, rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("kind", OVERLAP)
def test_reduction_none_is_per_image_and_weight_rescales_images(kind):
    x, t, mask = inputs("multiclass", np.random.default_rng(3))
    fn = OVERLAP[kind]
    per_image = fn(jnp.asarray(x), jnp.asarray(t), mode="multiclass", where=mask, reduction="none")
    for b in range(x.shape[0]):
        alone = fn(jnp.asarray(x[b : b + 1]), jnp.asarray(t[b : b + 1]), mode="multiclass",
                   where=mask[b : b + 1])  # fmt: skip
        assert_close(per_image[b], alone, rtol=1e-5)
    w = jnp.array([0.5, 2.0, 1.0])
    weighted = fn(jnp.asarray(x), jnp.asarray(t), mode="multiclass", where=mask, weight=w)
    assert_close(weighted, jnp.mean(w * per_image), rtol=1e-5)


# ----------------------------------------------------------------- peers


def _channel_first(a):
    return torch.tensor(np.moveaxis(np.asarray(a, np.float64), -1, 1))


@pytest.mark.parametrize(
    ("mode", "opts"),
    [
        ("binary", {}),
        ("binary", {"squared": True, "per_sample": False}),
        ("multiclass", {"include_background": False}),
        ("multiclass", {"class_weights": np.array([0.5, 1.0, 2.0, 1.5])}),
        ("multilabel", {"smooth": 1e-3}),
    ],
)
def test_dice_and_jaccard_match_monai(mode, opts):
    rng = np.random.default_rng(4)
    x, t, _ = inputs(mode, rng, void=False)
    smooth = opts.get("smooth", 1e-5)
    onehot = F.one_hot(torch.tensor(t), K).numpy() if mode == "multiclass" else t
    xt = torch.tensor(x)[..., None] if mode == "binary" else _channel_first(x)
    xt.requires_grad_(True)
    tt = torch.tensor(np.asarray(onehot, np.float64))
    tt = tt[..., None] if mode == "binary" else _channel_first(onehot)
    for jaccard, ours in ((False, jaxloss.dice_loss), (True, jaxloss.jaccard_loss)):
        # MONAI's Jaccard is (2I + s) / (2U + s): our smoothing halved
        s = 2 * smooth if jaccard else smooth
        weights = opts.get("class_weights")
        peer = monai.losses.DiceLoss(
            sigmoid=mode != "multiclass", softmax=mode == "multiclass", squared_pred=opts.get("squared", False),
            jaccard=jaccard, smooth_nr=s, smooth_dr=s, batch=not opts.get("per_sample", True),
            include_background=opts.get("include_background", True),
            weight=None if weights is None else torch.tensor(weights),
        )  # fmt: skip
        if mode == "binary":  # MONAI wants a channel axis right after the batch
            expected = peer(xt.movedim(-1, 1), tt.movedim(-1, 1))
        else:
            expected = peer(xt, tt)
        xt.grad = None
        expected.backward()
        ref_grad = xt.grad.numpy()
        ref_grad = ref_grad[..., 0] if mode == "binary" else np.moveaxis(ref_grad, 1, -1)
        value, grad = jax_value_grad(ours, x, jnp.asarray(t), mode=mode, **opts)
        assert_close(value, expected.item(), rtol=1e-5)
        assert_close(grad, ref_grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("per_sample", (True, False))
def test_tversky_and_generalized_dice_match_monai(per_sample):
    rng = np.random.default_rng(5)
    x, t, _ = inputs("multiclass", rng, void=False)
    t[0][t[0] == 2] = 1  # class 2 absent from image 0
    onehot = F.one_hot(torch.tensor(t), K).numpy()
    cases = [
        (jaxloss.tversky_loss, monai.losses.TverskyLoss(softmax=True, alpha=0.3, beta=0.7, batch=not per_sample), {}),
        (jaxloss.tversky_loss, monai.losses.TverskyLoss(softmax=True, alpha=0.8, beta=0.1, smooth_nr=0.5, smooth_dr=0.5, batch=not per_sample), {"alpha": 0.8, "beta": 0.1, "smooth": 0.5}),
        (jaxloss.generalized_dice_loss, monai.losses.GeneralizedDiceLoss(softmax=True, batch=not per_sample), {}),
    ]  # fmt: skip
    for ours, peer, opts in cases:
        xt = _channel_first(x).requires_grad_(True)
        expected = peer(xt, _channel_first(onehot))
        expected.backward()
        value, grad = jax_value_grad(
            ours, x, jnp.asarray(t), mode="multiclass", per_sample=per_sample, **opts
        )
        assert_close(value, expected.item(), rtol=1e-5)
        assert_close(grad, np.moveaxis(xt.grad.numpy(), 1, -1), rtol=1e-4, atol=1e-7)


def test_dice_matches_optax_binary_and_multiclass():
    rng = np.random.default_rng(6)
    # optax smooths the Tversky form (I + s) / (I + (FP + FN) / 2 + s): our smooth is 2s
    x, t, _ = inputs("binary", rng)
    ours = jax_value_grad(jaxloss.dice_loss, x, jnp.asarray(t), smooth=2.0)
    peer = jax_value_grad(
        lambda a, b: jnp.mean(optax.losses.dice_loss(a[..., None], b[..., None])), x, jnp.asarray(t)
    )
    assert_close(ours, peer, rtol=1e-5)
    x, t, _ = inputs("multiclass", rng, void=False)
    ours = jax_value_grad(jaxloss.dice_loss, x, jnp.asarray(t), mode="multiclass", smooth=2.0)
    peer = jax_value_grad(lambda a, b: jnp.mean(optax.losses.dice_loss(a, jax.nn.one_hot(b, K))), x, jnp.asarray(t))  # fmt: skip
    assert_close(ours, peer, rtol=1e-5)


def test_seed_000_worked_tversky_numbers():
    """100 pixels, 10 flooded, 15 predicted, 8 of them right: TP 8, FP 7, FN 2.
    The opposite error (FP 2, FN 7) costs more with alpha 0.3 (FP), beta 0.7 (FN)."""

    def hard(tp, fp, fn):
        t = np.zeros(100, np.float32)
        p = np.zeros(100, np.float32)
        t[: tp + fn] = 1
        p[:tp] = 1
        p[tp + fn : tp + fn + fp] = 1
        return jnp.asarray(p)[None], jnp.asarray(t)[None]

    p, t = hard(8, 7, 2)
    assert int(t.sum()) == 10 and int(p.sum()) == 15 and int((p * t).sum()) == 8
    kw = {"from_logits": False, "smooth": 0.0, "alpha": 0.3, "beta": 0.7}
    assert_close(jaxloss.tversky_loss(p, t, **kw), 1 - 8 / (8 + 0.3 * 7 + 0.7 * 2))
    opposite = jaxloss.tversky_loss(*hard(8, 2, 7), **kw)
    assert_close(1 - opposite, 8 / 13.5)
    assert round(1 - float(opposite), 2) == 0.59 and round(float(opposite), 2) == 0.41
    dice = jaxloss.dice_loss(p, t, from_logits=False, smooth=0.0)
    assert_close(dice, 1 - 16 / 25)
    assert_close(jaxloss.tversky_loss(p, t, **{**kw, "alpha": 0.5, "beta": 0.5}), dice)


@pytest.mark.parametrize("mode", ("multiclass", "multilabel"))
@pytest.mark.parametrize("per_sample", (True, False))
def test_channel_first_axis_1_matches_monai_directly(mode, per_sample):
    """MONAI takes [B, C, H, W]: with axis=1 the same arrays go to both, no moveaxis.
    Guards against: no ``axis`` argument (channel-first read as C = W classes)."""
    rng = np.random.default_rng(14)
    x = 3 * rng.standard_normal((2, K, 5, 6))
    if mode == "multiclass":
        labels = rng.integers(0, K, (2, 5, 6))
        targets = labels
        onehot = np.moveaxis(np.eye(K)[labels], -1, 1)  # [B, C, H, W]
    else:
        onehot = (rng.random(x.shape) < 0.3) * 1.0
        targets = onehot
    soft, sig, batch = mode == "multiclass", mode == "multilabel", not per_sample
    cases = [
        (jaxloss.dice_loss, monai.losses.DiceLoss(softmax=soft, sigmoid=sig, batch=batch)),
        (jaxloss.jaccard_loss, monai.losses.DiceLoss(softmax=soft, sigmoid=sig, jaccard=True, smooth_nr=2e-5, smooth_dr=2e-5, batch=batch)),
        (jaxloss.tversky_loss, monai.losses.TverskyLoss(softmax=soft, sigmoid=sig, alpha=0.3, beta=0.7, batch=batch)),
        (jaxloss.generalized_dice_loss, monai.losses.GeneralizedDiceLoss(softmax=soft, sigmoid=sig, batch=batch)),
    ]  # fmt: skip
    for ours, peer in cases:
        xt = torch.tensor(x, requires_grad=True)
        expected = peer(xt, torch.tensor(onehot))
        expected.backward()
        assert xt.grad is not None
        value, grad = jax_value_grad(
            ours, x, jnp.asarray(targets), mode=mode, axis=1, per_sample=per_sample
        )
        assert_close(value, expected.item(), rtol=1e-5)
        assert_close(grad, xt.grad.numpy(), rtol=1e-4, atol=1e-7)
