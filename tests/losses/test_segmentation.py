"""Segmentation family: float64 references written from the formulas (void pixels
removed by boolean indexing, not masked), MONAI and optax parity, seed 000's two
PyTorch classes as given, the Lovász algorithm as Berman wrote it, the stability
promises and the global (per_sample=False) statistics across devices.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import monai.losses
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from torch import nn

import jaxloss

OVERLAP = {
    "dice": jaxloss.dice_loss,
    "tversky": jaxloss.tversky_loss,
    "focal_tversky": jaxloss.focal_tversky_loss,
    "jaccard": jaxloss.jaccard_loss,
    "generalized_dice": jaxloss.generalized_dice_loss,
}
MODES = ("binary", "multiclass", "multiclass_soft", "multilabel")
K = 4  # classes


def _jax_value_grad(fn, x, *args, **kwargs):
    x = jnp.asarray(x, jnp.float32)
    return jax.jit(jax.value_and_grad(lambda a: fn(a, *args, **kwargs)))(x)


def _inputs(mode, rng, shape=(3, 5, 4), void=True):
    """Logits, targets and a valid-pixel mask for ``mode``; one image has only a
    few valid pixels, and (multi-class) a few void labels."""
    b = shape[0]
    if mode == "binary":
        x = 3 * rng.standard_normal(shape)
        t = (rng.random(shape) < 0.2).astype(np.float32)
    else:
        x = 3 * rng.standard_normal((*shape, K))
        if mode == "multilabel":
            t = (rng.random((*shape, K)) < 0.3).astype(np.float32)
        elif mode == "multiclass_soft":
            t = rng.dirichlet(np.ones(K), size=shape).astype(np.float32)
        else:
            t = rng.integers(0, K, size=shape)
    mask = rng.random(shape) < 0.7
    mask[b - 1] = False
    mask[b - 1, 0, :2] = True
    if mode == "multilabel":
        mask = np.broadcast_to(mask[..., None], (*shape, K)).copy()
        mask[0, ..., 1] = False  # a whole class void in one image
    if mode == "multiclass" and void:
        t = np.where(rng.random(shape) < 0.1, -100, t)
    return x, t, mask


def _mode(mode):
    return "multiclass" if mode.startswith("multiclass") else mode


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
    x, t, mask = _inputs(mode, rng)
    for opts in _OPTIONS:
        if mode == "binary" and ("class_weights" in opts or "include_background" in opts):
            continue
        opts = dict(opts)
        if not opts.get("from_logits", True):
            x_in = jax.nn.softmax(x, -1) if _mode(mode) == "multiclass" else jax.nn.sigmoid(x)
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
        kw = {"mode": _mode(mode), "per_sample": per_sample, **opts}
        value, grad = _jax_value_grad(OVERLAP[kind], x_in, jnp.asarray(t), where=where, **kw)
        ref_value, ref_grad = reference_overlap(kind, x_in, t, where=where, **kw)
        assert_close(value, ref_value, rtol=2e-5, atol=1e-6)
        assert_close(grad, ref_grad, rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("kind", OVERLAP)
def test_reduction_none_is_per_image_and_weight_rescales_images(kind):
    x, t, mask = _inputs("multiclass", np.random.default_rng(3))
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
    x, t, _ = _inputs(mode, rng, void=False)
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
        value, grad = _jax_value_grad(ours, x, jnp.asarray(t), mode=mode, **opts)
        assert_close(value, expected.item(), rtol=1e-5)
        assert_close(grad, ref_grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("per_sample", (True, False))
def test_tversky_and_generalized_dice_match_monai(per_sample):
    rng = np.random.default_rng(5)
    x, t, _ = _inputs("multiclass", rng, void=False)
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
        value, grad = _jax_value_grad(
            ours, x, jnp.asarray(t), mode="multiclass", per_sample=per_sample, **opts
        )
        assert_close(value, expected.item(), rtol=1e-5)
        assert_close(grad, np.moveaxis(xt.grad.numpy(), 1, -1), rtol=1e-4, atol=1e-7)


def test_dice_matches_optax_binary_and_multiclass():
    rng = np.random.default_rng(6)
    # optax smooths the Tversky form (I + s) / (I + (FP + FN) / 2 + s): our smooth is 2s
    x, t, _ = _inputs("binary", rng)
    ours = _jax_value_grad(jaxloss.dice_loss, x, jnp.asarray(t), smooth=2.0)
    peer = _jax_value_grad(
        lambda a, b: jnp.mean(optax.losses.dice_loss(a[..., None], b[..., None])), x, jnp.asarray(t)
    )
    assert_close(ours, peer, rtol=1e-5)
    x, t, _ = _inputs("multiclass", rng, void=False)
    ours = _jax_value_grad(jaxloss.dice_loss, x, jnp.asarray(t), mode="multiclass", smooth=2.0)
    peer = _jax_value_grad(lambda a, b: jnp.mean(optax.losses.dice_loss(a, jax.nn.one_hot(b, K))), x, jnp.asarray(t))  # fmt: skip
    assert_close(ours, peer, rtol=1e-5)


# ----------------------------------------------------------------- seed 000, as given


class FocalTverskyLoss(nn.Module):
    """Seed 000's class, verbatim but for layout."""

    def __init__(self, focal_alpha=0.25, focal_gamma=2.0, tversky_alpha=0.3, tversky_beta=0.7,
                 smooth=1e-5, tversky_weight=1.0):  # fmt: skip
        super().__init__()
        self.focal_alpha, self.focal_gamma = focal_alpha, focal_gamma
        self.tversky_alpha, self.tversky_beta = tversky_alpha, tversky_beta
        self.smooth, self.tversky_weight = smooth, tversky_weight

    def forward(self, logits, targets, valid_mask=None):
        m = torch.ones_like(targets) if valid_mask is None else valid_mask.float()
        n = m.sum() + self.smooth
        bce_unweighted = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        pt = torch.exp(-bce_unweighted)
        alpha_t = self.focal_alpha * targets + (1.0 - self.focal_alpha) * (1.0 - targets)
        focal_map = alpha_t * (1.0 - pt).pow(self.focal_gamma) * bce_unweighted
        focal = (focal_map * m).sum() / n
        p = (torch.sigmoid(logits) * m).flatten(1)
        t = (targets * m).flatten(1)
        tp = (p * t).sum(1)
        fp = (p * (1 - t)).sum(1)
        fn = ((1 - p) * t).sum(1)
        tversky = 1 - (tp + self.smooth) / (
            tp + self.tversky_alpha * fp + self.tversky_beta * fn + self.smooth
        )
        return focal + self.tversky_weight * tversky.mean()


class BCEDiceLoss(nn.Module):
    """Seed 000's class, verbatim but for layout."""

    def __init__(self, smooth: float = 1e-5):
        super().__init__()
        self.smooth = smooth
        self.bce = nn.BCEWithLogitsLoss(reduction="none")

    def forward(self, logits, targets, valid_mask=None):
        if valid_mask is None:
            valid_mask = torch.ones_like(targets)
        valid_mask = valid_mask.float()
        bce_map = self.bce(logits, targets)
        bce_loss = (bce_map * valid_mask).sum() / (valid_mask.sum() + self.smooth)
        probs = torch.sigmoid(logits)
        batch_size = probs.shape[0]
        p_flat = (probs * valid_mask).view(batch_size, -1)
        t_flat = (targets * valid_mask).view(batch_size, -1)
        inter = (p_flat * t_flat).sum(dim=1)
        p_sum = p_flat.sum(dim=1)
        t_sum = t_flat.sum(dim=1)
        dice_score = (2.0 * inter + self.smooth) / (p_sum + t_sum + self.smooth)
        dice_loss = (1.0 - dice_score).mean()
        return bce_loss + dice_loss


_SEED_CASES = [
    (jaxloss.focal_and_tversky_loss, FocalTverskyLoss, {}),
    (jaxloss.focal_and_tversky_loss, FocalTverskyLoss,
     {"focal_alpha": 0.6, "focal_gamma": 1.5, "tversky_alpha": 0.2, "tversky_beta": 0.8,
      "smooth": 1.0, "tversky_weight": 0.5}),
    (jaxloss.bce_dice_loss, BCEDiceLoss, {}),
    (jaxloss.bce_dice_loss, BCEDiceLoss, {"smooth": 1.0}),
]  # fmt: skip


@pytest.mark.parametrize("shape", [(4, 6, 5), (2, 9), (3, 2, 4, 4)])
@pytest.mark.parametrize("masked", (False, True))
@pytest.mark.parametrize(("ours", "seed_class", "opts"), _SEED_CASES)
def test_seed_000_losses_match_the_seed_classes(ours, seed_class, opts, shape, masked):
    rng = np.random.default_rng(len(shape) + 7 * masked)
    x = 4 * rng.standard_normal(shape)
    t = (rng.random(shape) < 0.05).astype(np.float64)
    t[0].flat[0] = 1.0
    t[1].flat[:] = 0.0  # an image with no positive pixel
    mask = rng.random(shape) < 0.7
    mask[-1] = False  # an image with no valid pixel still counts in the seed's batch mean
    xt = torch.tensor(x, requires_grad=True)
    expected = seed_class(**opts)(xt, torch.tensor(t), torch.tensor(mask) if masked else None)
    expected.backward()
    where = mask if masked else None
    value, grad = _jax_value_grad(ours, x, jnp.asarray(t), where=where, **opts)
    assert_close(value, expected.item(), rtol=1e-5)
    assert_close(grad, xt.grad.numpy(), rtol=1e-4, atol=1e-8)
    per_image = ours(jnp.asarray(x), jnp.asarray(t), where=where, reduction="none", **opts)
    assert_close(jnp.mean(per_image), expected.item(), rtol=1e-5)


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


# ----------------------------------------------------------------- Lovász, Berman's way


def _lovasz_grad(gt_sorted):
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1].clone()
    return jaccard


def _berman_hinge_flat(logits, labels):
    signs = 2.0 * labels - 1.0
    errors = 1.0 - logits * signs
    errors_sorted, perm = torch.sort(errors, descending=True)
    return torch.dot(F.relu(errors_sorted), _lovasz_grad(labels[perm]))


def _berman_softmax_flat(probs, labels, classes):
    losses = []
    for c in classes:
        fg = (labels == c).double()
        if fg.sum() == 0:
            continue
        errors = (fg - probs[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, _lovasz_grad(fg[perm])))
    return torch.stack(losses).mean() if losses else None


@pytest.mark.parametrize("per_sample", (True, False))
@pytest.mark.parametrize("masked", (False, True))
def test_lovasz_hinge_matches_berman(per_sample, masked):
    rng = np.random.default_rng(8 + masked)
    x, t, mask = _inputs("binary", rng)
    valid = mask if masked else np.ones_like(mask)
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t, dtype=torch.float64)
    groups = [(xt[b][torch.tensor(valid[b])], tt[b][torch.tensor(valid[b])]) for b in range(len(x))]
    if not per_sample:
        groups = [(xt[torch.tensor(valid)], tt[torch.tensor(valid)])]
    expected = torch.stack([_berman_hinge_flat(a, b) for a, b in groups]).mean()
    expected.backward()
    value, grad = _jax_value_grad(
        jaxloss.lovasz_hinge_loss, x, jnp.asarray(t), where=mask if masked else None,
        per_sample=per_sample,
    )  # fmt: skip
    assert_close(value, expected.item(), rtol=1e-5)
    assert_close(grad, xt.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("per_sample", (True, False))
@pytest.mark.parametrize("masked", (False, True))
@pytest.mark.parametrize("include_background", (True, False))
def test_lovasz_softmax_matches_berman(per_sample, masked, include_background):
    rng = np.random.default_rng(10 + masked)
    x, t, mask = _inputs("multiclass", rng)  # with void labels
    valid = (mask if masked else np.ones_like(mask)) & (t != -100)
    xt = torch.tensor(x, requires_grad=True)
    probs, labels = torch.softmax(xt, -1), torch.tensor(t)
    classes = range(0 if include_background else 1, K)
    if per_sample:
        groups = [
            (probs[b][torch.tensor(valid[b])], labels[b][torch.tensor(valid[b])])
            for b in range(len(x))
        ]
    else:
        groups = [(probs[torch.tensor(valid)], labels[torch.tensor(valid)])]
    losses = [_berman_softmax_flat(p, lab, classes) for p, lab in groups]
    expected = torch.stack([v for v in losses if v is not None]).mean()
    expected.backward()
    value, grad = _jax_value_grad(
        jaxloss.lovasz_softmax_loss, x, jnp.asarray(t), where=mask if masked else None,
        per_sample=per_sample, include_background=include_background,
    )  # fmt: skip
    assert_close(value, expected.item(), rtol=1e-5)
    assert_close(grad, xt.grad.numpy(), rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------- never break


def _all_losses():
    for name, fn in OVERLAP.items():
        yield name, fn, {}
    yield "lovasz_hinge", jaxloss.lovasz_hinge_loss, {}
    yield "bce_dice", jaxloss.bce_dice_loss, {}
    yield "focal_and_tversky", jaxloss.focal_and_tversky_loss, {}


@pytest.mark.parametrize("smooth", (1e-5, 0.0))
@pytest.mark.parametrize(("name", "fn", "opts"), list(_all_losses()))
def test_empty_target_and_empty_prediction(name, fn, opts, smooth):
    x = jnp.full((2, 8, 8), -1e4)
    t = jnp.zeros((2, 8, 8))
    kw = {} if name.startswith("lovasz") else {"smooth": smooth}
    mode = {"mode": "binary"} if name == "generalized_dice" else {}
    value, grad = _jax_value_grad(fn, x, t, **kw, **mode)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    if not name.startswith("lovasz"):
        assert float(value) < 1e-4
    if name in OVERLAP:  # probabilities of exactly 0 against an empty target
        assert float(fn(jnp.zeros((2, 8, 8)), t, from_logits=False, **kw, **mode)) < 1e-6


@pytest.mark.parametrize(("name", "fn", "opts"), list(_all_losses()))
def test_class_absent_from_every_image(name, fn, opts):
    if name in ("lovasz_hinge", "bce_dice", "focal_and_tversky"):
        x = 3 * jax.random.normal(jax.random.key(0), (3, 6, 6))
        t = jnp.zeros((3, 6, 6))
        kw = {}
    else:
        x = 3 * jax.random.normal(jax.random.key(0), (3, 6, 6, K))
        t = jax.random.randint(jax.random.key(1), (3, 6, 6), 0, 2)  # classes 2, 3 never occur
        kw = {"mode": "multiclass"}
    for per_sample in (True, False):
        extra = {} if name in ("bce_dice", "focal_and_tversky") else {"per_sample": per_sample}
        value, grad = _jax_value_grad(fn, x, t, **kw, **extra)
        assert np.isfinite(value) and np.all(np.isfinite(grad)) and np.any(grad != 0)


@pytest.mark.parametrize("per_sample", (True, False))
def test_lovasz_softmax_absent_classes_and_all_void(per_sample):
    x = 3 * jax.random.normal(jax.random.key(0), (2, 4, 4, K))
    t = jnp.full((2, 4, 4), -100)
    value, grad = _jax_value_grad(jaxloss.lovasz_softmax_loss, x, t, per_sample=per_sample)
    assert float(value) == 0.0 and np.all(grad == 0)


def test_soft_targets_equal_hard_targets_when_one_hot():
    x, t, mask = _inputs("multiclass", np.random.default_rng(12), void=False)
    onehot = jax.nn.one_hot(t, K)
    for fn in (*OVERLAP.values(), jaxloss.lovasz_softmax_loss):
        kw = {} if fn is jaxloss.lovasz_softmax_loss else {"mode": "multiclass"}
        assert_close(
            _jax_value_grad(fn, x, jnp.asarray(t), where=mask, **kw),
            _jax_value_grad(fn, x, onehot, where=mask, **kw),
            rtol=1e-5,
        )


def test_confident_logits_train_towards_the_target():
    """At ±1e4 logits the loss is exact and a wrong pixel still has a gradient of
    the right sign when the sigmoid has not saturated it away."""
    x = jnp.array([[1e4, -1e4, 0.0, -1e4]])
    t = jnp.array([[1.0, 0.0, 1.0, 1.0]])
    for fn in (jaxloss.dice_loss, jaxloss.tversky_loss, jaxloss.lovasz_hinge_loss):
        value, grad = _jax_value_grad(fn, x, t)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        assert grad[0, 2] < 0  # the undecided positive pixel is pushed up


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call_", "error", "message"),
    [
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), mode="multi"),
         ValueError, "jaxloss.dice_loss: mode must be one of 'binary', 'multiclass', 'multilabel'; got 'multi'"),
        (lambda: jaxloss.tversky_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), alpha=-0.1),
         ValueError, "jaxloss.tversky_loss: alpha must be in [0.0, inf]; got -0.1"),
        (lambda: jaxloss.focal_tversky_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), beta=-1.0),
         ValueError, "jaxloss.focal_tversky_loss: beta must be in [0.0, inf]; got -1.0"),
        (lambda: jaxloss.focal_tversky_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), gamma=0.0),
         ValueError, "jaxloss.focal_tversky_loss: gamma must be in (0.0, inf]; got 0.0"),
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 4, 4, 3)), jnp.zeros((2, 4, 4), jnp.int32)),
         ValueError, "jaxloss.dice_loss: targets has shape (2, 4, 4) and dtype int32, which fits no mode: "
         "mode='binary' expects the shape of predictions, (2, 4, 4, 3) (class indices of this shape need mode='multiclass')"),
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 4, 3)), jnp.zeros((2, 4, 2)), mode="multiclass"),
         ValueError, "jaxloss.dice_loss: targets has shape (2, 4, 2) and dtype float32, which fits no mode: "
         "mode='multiclass' expects integer class indices of shape (2, 4) or float (one-hot or soft) targets of shape (2, 4, 3)"),
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), include_background=False),
         ValueError, "jaxloss.dice_loss: include_background=False needs a class axis with at least 2 classes"),
        (lambda: jaxloss.jaccard_loss(jnp.zeros((2, 3, 4)), jnp.zeros((2, 3), int), mode="multiclass", class_weights=jnp.ones(3)),
         ValueError, "jaxloss.jaccard_loss: class_weights must have shape (4,), one per class; got (3,)"),
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), per_sample=False, weight=jnp.ones(2)),
         ValueError, "jaxloss.dice_loss: weight rescales per-image losses, but per_sample=False gives one global loss"),
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), from_logits=jnp.array(True)),
         TypeError, "jaxloss.dice_loss: from_logits must be True or False; got "),
        (lambda: jaxloss.lovasz_softmax_loss(jnp.zeros((2, 3)), jnp.zeros((2,))),
         ValueError, "jaxloss.lovasz_softmax_loss: targets has shape (2,) and dtype float32, which fits no mode"),
        (lambda: jaxloss.focal_and_tversky_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), focal_gamma=-1.0),
         ValueError, "jaxloss.focal_and_tversky_loss: focal_gamma must be in [0.0, inf]; got -1.0"),
        (lambda: jaxloss.bce_dice_loss(jnp.zeros(()), jnp.zeros(())),
         ValueError, "jaxloss.bce_dice_loss: logits must have rank"),
    ],
)  # fmt: skip
def test_trace_time_errors(call_, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call_()
    with pytest.raises(error, match=re.escape(message)):
        jax.jit(call_)()


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "message"),
    [
        (jaxloss.dice_loss, (jnp.zeros((1, 2, 3)), jnp.array([[0, 3]])), {"mode": "multiclass"},
         r"targets must be a class in \[0, 3\) or ignore_index \(-100\); got 3 at flat index 1"),
        (jaxloss.dice_loss, (jnp.zeros((1, 3)), jnp.array([[0, 2, 1]])), {},
         r"targets must be 0 or 1 or ignore_index \(-100\); got 2 at flat index 1"),
        (jaxloss.tversky_loss, (jnp.array([[0.5, 1.5]]), jnp.zeros((1, 2))), {"from_logits": False},
         r"predictions must be probabilities in \[0, 1\]; got 1.5 at flat index 1"),
    ],
)  # fmt: skip
def test_invalid_values_are_nan_and_checked_names_them(fn, args, kwargs, message):
    value = float(fn(*args, **kwargs))
    if "targets" in message:  # a bad label poisons its image
        assert np.isnan(value)
    else:  # probabilities are not checked on the hot path: only `checked` sees them
        assert np.isfinite(value)
    with pytest.raises(Exception, match=message):
        jaxloss.checked(fn)(*args, **kwargs)


# ----------------------------------------------------------------- global statistics across devices


def _mesh():
    return Mesh(np.asarray(jax.devices()), ("batch",))


_GLOBAL_CASES = [
    (jaxloss.dice_loss, "binary", {}),
    (jaxloss.tversky_loss, "multilabel", {"mode": "multilabel"}),
    (jaxloss.generalized_dice_loss, "multiclass", {}),
    (jaxloss.lovasz_hinge_loss, "binary", {}),
    (jaxloss.lovasz_softmax_loss, "multiclass", {}),
]


@pytest.mark.parametrize(
    ("fn", "mode", "opts"), _GLOBAL_CASES, ids=lambda v: getattr(v, "__name__", None)
)
def test_global_statistics_under_shard_map_equal_one_device(fn, mode, opts):
    x, t, mask = _inputs(mode, np.random.default_rng(13), shape=(16, 4, 4))
    x, t = jnp.asarray(x, jnp.float32), jnp.asarray(t)
    where = jnp.asarray(mask)
    kw = {"per_sample": False, **opts}

    def sharded(x, t, where):
        return fn(x, t, where=where, axis_name="batch", **kw)

    mapped = jax.shard_map(sharded, mesh=_mesh(), in_specs=(P("batch"),) * 3, out_specs=P())
    single = jax.value_and_grad(lambda a: fn(a, t, where=where, **kw))(x)
    assert_close(jax.jit(jax.value_and_grad(lambda a: mapped(a, t, where)))(x), single, rtol=1e-5)


# ----------------------------------------------------------------- memory


def test_multiclass_dice_never_materializes_a_one_hot_target():
    """value_and_grad of multi-class Dice with integer targets needs less temporary
    memory than with one-hot targets passed in, and no more than the logits' size
    beyond the probabilities and gradient XLA must hold."""
    x = jnp.zeros((8, 64, 64, 21))
    labels = jnp.zeros((8, 64, 64), jnp.int32)

    def temp(t):
        f = jax.value_and_grad(lambda a, b: jaxloss.dice_loss(a, b, mode="multiclass"))
        return jax.jit(f).lower(x, t).compile().memory_analysis().temp_size_in_bytes

    with_labels, with_one_hot = temp(labels), temp(jax.nn.one_hot(labels, 21))
    assert with_labels < with_one_hot
    assert with_labels <= 2 * x.nbytes
