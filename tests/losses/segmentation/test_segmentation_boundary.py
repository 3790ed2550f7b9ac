"""Boundary loss against a torch re-implementation of the reference
``SurfaceLoss`` (with distance maps from its ``one_hot2dist``), and soft clDice
against a torch re-implementation of the official ``soft_skel`` and clDice
ratios (max_pool2d/3d), values and gradients in float64."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from scipy.ndimage import distance_transform_edt

import jaxloss
from jaxloss.losses.segmentation.boundary import soft_skeleton

# ---------------------------------------------------------------- boundary loss


def _one_hot2dist(seg):
    """LIVIA-ETS/boundary-loss ``utils.one_hot2dist``: ``seg [K, ...]`` one-hot."""
    res = np.zeros_like(seg, dtype=np.float64)
    for k in range(len(seg)):
        posmask = seg[k].astype(bool)
        if posmask.any():
            negmask = ~posmask
            outside = np.asarray(distance_transform_edt(negmask))
            inside = np.asarray(distance_transform_edt(posmask))
            res[k] = outside * negmask - (inside - 1) * posmask
    return res


def _surface_loss(probs, dist_maps, idc):
    """The reference ``SurfaceLoss.__call__`` (channel-first ``[B, K, H, W]``)."""
    pc = probs[:, idc, ...]
    dc = dist_maps[:, idc, ...]
    return torch.einsum("bkwh,bkwh->bkwh", pc, dc).mean()


def _discs(rng, batch, classes, size=12):
    """One-hot ``[B, K, H, W]`` labels: random discs of classes 1.. over background."""
    labels = np.zeros((batch, size, size), int)
    grid = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="ij"), -1)
    for b in range(batch):
        for k in range(1, classes):
            centre, radius = rng.uniform(3, size - 3, 2), rng.uniform(1.5, 3.5)
            labels[b][np.linalg.norm(grid - centre, axis=-1) < radius] = k
    return np.moveaxis(np.eye(classes)[labels], -1, 1)


@pytest.mark.parametrize(("classes", "idc"), [(3, [0, 1, 2]), (3, [1, 2]), (2, [1])])
def test_boundary_loss_matches_the_reference_surface_loss(classes, idc):
    rng = np.random.default_rng(classes + len(idc))
    onehot = _discs(rng, 4, classes)
    dist = np.stack([_one_hot2dist(s) for s in onehot])
    x = 2.0 * rng.standard_normal(onehot.shape)
    tx = torch.tensor(x, requires_grad=True)
    ref = _surface_loss(F.softmax(tx, dim=1), torch.tensor(dist), idc)
    ref.backward()
    last = lambda a: np.moveaxis(a, 1, -1)  # noqa: E731
    where = np.zeros(last(x).shape, bool)
    where[..., idc] = True  # the reference's idc: the classes that count
    with jax.enable_x64(True):
        value, grad = jax.jit(
            jax.value_and_grad(
                lambda a, d, m: jaxloss.boundary_loss(a, d, mode="multiclass", where=m)
            )
        )(jnp.asarray(last(x)), jnp.asarray(last(dist)), jnp.asarray(where))
    assert_close(value, ref.item(), rtol=1e-10)
    assert tx.grad is not None
    assert_close(grad, last(tx.grad.numpy()), rtol=1e-8, atol=1e-14)
    if idc == [1]:  # two-class softmax on idc [1] = binary mode on the logit difference
        binary = jaxloss.boundary_loss(
            jnp.asarray(x[:, 1] - x[:, 0], jnp.float32), jnp.asarray(dist[:, 1], jnp.float32)
        )
        assert_close(binary, ref.item(), rtol=1e-5, atol=1e-6)


def test_boundary_loss_pixels_images_and_modes():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 5, 6, 2)).astype(np.float32)
    d = rng.standard_normal((3, 5, 6, 2)).astype(np.float32)
    pixels = rng.random((3, 5, 6)) < 0.7
    pixels[2] = False  # an image with no valid pixel is left out
    p = 1 / (1 + np.exp(-x.astype(np.float64)))
    per_image = [np.mean((p * d)[b][pixels[b]]) for b in range(2)]
    none = jaxloss.boundary_loss(x, d, mode="multilabel", where=pixels, reduction="none")
    assert_close(none, np.array([*per_image, 0.0]), rtol=1e-5)
    mean = jaxloss.boundary_loss(
        x, np.where(pixels[..., None], d, np.nan), mode="multilabel", where=pixels
    )
    assert_close(mean, np.mean(per_image), rtol=1e-5)
    # binary mode is multilabel's elementwise sigmoid on [B, ...]
    assert_close(
        jaxloss.boundary_loss(x, d, reduction="none"),
        jaxloss.boundary_loss(x, d, mode="multilabel", reduction="none"),
        rtol=1e-6,
    )
    # a perfect prediction scores lower than the same shape shifted by two pixels
    onehot = _discs(rng, 1, 2, size=16)[:, 1]
    dist = jnp.asarray(_one_hot2dist(onehot), jnp.float32)
    perfect = jaxloss.boundary_loss(20.0 * (2.0 * onehot - 1.0), dist)
    shifted = jaxloss.boundary_loss(20.0 * (2.0 * np.roll(onehot, 2, axis=-1) - 1.0), dist)
    assert float(perfect) < float(shifted)
    with pytest.raises(ValueError, match="boundary_loss: mode must be one of"):
        jaxloss.boundary_loss(x, d, mode="softmax")
    with pytest.raises(ValueError, match="boundary_loss: distance_maps has shape"):
        jaxloss.boundary_loss(x, d[..., 0])


# ---------------------------------------------------------------- clDice


def _soft_erode(img):  # jocpae/clDice cldice_loss/pytorch/soft_skeleton.py
    if len(img.shape) == 4:
        p1 = -F.max_pool2d(-img, (3, 1), (1, 1), (1, 0))
        p2 = -F.max_pool2d(-img, (1, 3), (1, 1), (0, 1))
        return torch.min(p1, p2)
    p1 = -F.max_pool3d(-img, (3, 1, 1), (1, 1, 1), (1, 0, 0))
    p2 = -F.max_pool3d(-img, (1, 3, 1), (1, 1, 1), (0, 1, 0))
    p3 = -F.max_pool3d(-img, (1, 1, 3), (1, 1, 1), (0, 0, 1))
    return torch.min(torch.min(p1, p2), p3)


def _soft_dilate(img):
    if len(img.shape) == 4:
        return F.max_pool2d(img, (3, 3), (1, 1), (1, 1))
    return F.max_pool3d(img, (3, 3, 3), (1, 1, 1), (1, 1, 1))


def _soft_open(img):
    return _soft_dilate(_soft_erode(img))


def _soft_skel(img, iter_):
    img1 = _soft_open(img)
    skel = F.relu(img - img1)
    for _ in range(iter_):
        img = _soft_erode(img)
        img1 = _soft_open(img)
        delta = F.relu(img - img1)
        skel = skel + F.relu(delta - skel * delta)
    return skel


def _official_cldice(y_true, y_pred, iters, smooth):
    """The official soft clDice on ``[B, C, ...]`` with channel 0 the background."""
    skel_pred = _soft_skel(y_pred, iters)
    skel_true = _soft_skel(y_true, iters)
    tprec = (torch.sum(torch.multiply(skel_pred, y_true)[:, 1:]) + smooth) / (
        torch.sum(skel_pred[:, 1:]) + smooth
    )
    tsens = (torch.sum(torch.multiply(skel_true, y_pred)[:, 1:]) + smooth) / (
        torch.sum(skel_true[:, 1:]) + smooth
    )
    return 1.0 - 2.0 * (tprec * tsens) / (tprec + tsens)


def _tubes(rng, shape):
    """Binary masks of random axis-aligned bars two or three pixels thick."""
    y = np.zeros(shape)
    for b in range(shape[0]):
        for _ in range(3):
            axis = rng.integers(1, len(shape))
            start = rng.integers(0, shape[axis] - 3)
            index = [b] + [slice(None)] * (len(shape) - 1)
            index[axis] = slice(start, start + rng.integers(2, 4))
            y[tuple(index)] = 1.0
    return y


@pytest.mark.parametrize(
    ("shape", "iterations", "smooth"),
    [((3, 14, 13), 3, 1.0), ((2, 12, 12), 0, 1.0), ((2, 12, 11), 6, 0.5), ((2, 6, 7, 8), 2, 1.0)],
)
def test_cldice_loss_matches_the_official_code(shape, iterations, smooth):
    rng = np.random.default_rng(len(shape) + iterations)
    x = 2.0 * rng.standard_normal(shape)
    y = _tubes(rng, shape)
    tx = torch.tensor(x, requires_grad=True)
    p, t = torch.sigmoid(tx), torch.tensor(y)
    per_image = [
        _official_cldice(
            torch.stack([1 - t[b : b + 1], t[b : b + 1]], 1),
            torch.stack([1 - p[b : b + 1], p[b : b + 1]], 1),
            iterations,
            smooth,
        )
        for b in range(shape[0])
    ]
    ref = torch.stack(per_image)
    ref.sum().backward()

    def total(a, t):
        options = {"iterations": iterations, "smooth": smooth}
        return jnp.sum(jaxloss.cldice_loss(a, t, reduction="none", **options))

    def run(a, t):
        return soft_skeleton(t, iterations), jax.value_and_grad(total)(a, t)

    with jax.enable_x64(True):
        skel, (value, grad) = jax.jit(run)(jnp.asarray(x), jnp.asarray(y))
    ref_skel = _soft_skel(torch.tensor(y)[:, None], iterations)[:, 0]
    assert_close(skel, ref_skel.numpy(), rtol=1e-12, atol=1e-12)
    assert_close(value, ref.sum().item(), rtol=1e-10)
    assert tx.grad is not None
    assert_close(grad, tx.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_cldice_iterations_empty_masks_and_where():
    rng = np.random.default_rng(11)
    y = _tubes(rng, (4, 12, 12))
    thick = np.zeros((1, 12, 12))
    thick[0, 2:10, 3:9] = 1.0
    # iterations are honoured: a thick block needs several erosions to be thinned
    # (an 8 x 6 block: its core appears after the second erosion)
    skeletons = [np.asarray(soft_skeleton(jnp.asarray(thick), k)) for k in (1, 3)]
    assert np.all(skeletons[0] == 0) and np.sum(skeletons[1]) == 8.0
    # empty targets, empty predictions, a full target: finite value and gradient
    x = jnp.asarray(rng.standard_normal((4, 12, 12)), jnp.float32)
    hard = jnp.stack([jnp.zeros((12, 12)), jnp.zeros((12, 12)), jnp.ones((12, 12)), y[3]])
    x = x.at[1].set(-1e4).at[2].set(1e4)
    for smooth in (1.0, 0.0):
        value, grad = jax.value_and_grad(
            lambda a, s=smooth: jaxloss.cldice_loss(a, hard, smooth=s)
        )(x)
        assert np.isfinite(float(value)) and np.all(np.isfinite(np.asarray(grad)))
    # an empty target and an empty prediction agree perfectly
    assert_close(jaxloss.cldice_loss(x[1:2], hard[1:2]), 0.0, atol=1e-6)
    # a [B] mask leaves images out; NaN there reaches nothing
    keep = jnp.array([True, False, True, True])
    none = jaxloss.cldice_loss(x, hard, reduction="none")
    masked = jaxloss.cldice_loss(x.at[1].set(jnp.nan), hard, where=keep)
    assert_close(masked, (none[0] + none[2] + none[3]) / 3, rtol=1e-6)
    assert np.isnan(float(jaxloss.cldice_loss(x, hard.at[0, 0, 0].set(2.0))))
    with pytest.raises(ValueError, match=r"cldice_loss: logits must have rank \[3, 4\]"):
        jaxloss.cldice_loss(x[0], hard[0])
    with pytest.raises(TypeError, match="cldice_loss: iterations must be an integer"):
        jaxloss.cldice_loss(x, hard, iterations=2.0)  # type: ignore[arg-type]
