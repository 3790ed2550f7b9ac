"""Boundary and thin-structure segmentation losses: the boundary (surface) loss
on signed distance maps, and soft clDice on soft skeletons."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss._core import checks
from jaxloss._core.numerics import safe_div, score_ratio, upcast
from jaxloss._core.reduce import fill_masked, mask_of, reduce_loss, sum_per_sample
from jaxloss._core.types import Array, ArrayLike, AxisName, Scalar
from jaxloss.losses.segmentation._common import MODES

__all__ = ["boundary_loss", "cldice_loss", "soft_skeleton"]


def _image_mean(
    fn: str,
    terms: Array,
    mask: Array | None,
    weight: ArrayLike | None,
    sample_weights: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
) -> Array:
    """Reduces per-image losses ``terms [B]`` computed from ``mask``ed pixels:
    images with no valid pixel are left out of the mean."""
    counts = None if mask is None else jnp.any(mask, axis=tuple(range(1, mask.ndim)))
    return reduce_loss(
        terms,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=counts,
        axis_name=axis_name,
    )


def boundary_loss(
    logits: ArrayLike,
    distance_maps: ArrayLike,
    *,
    mode: str = "binary",
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Boundary (surface) loss: probabilities integrated against the signed
    distance map of the target.

    .. math:: \ell_b = \frac{1}{|\Omega|}\sum_{i \in \Omega} \phi_i\, p_i

    with :math:`\phi` the signed distance to the target's boundary (negative
    inside the object, positive outside) and :math:`\Omega` the valid pixels
    (and classes) of image b. The loss is lowest when the prediction covers
    exactly the inside of the target; it is usually added to a region loss (Dice)
    with a weight that grows during training.

    Args:
      logits: ``mode="binary"``: ``[B, ...]``, probabilities by sigmoid;
        ``"multiclass"``: ``[B, ..., C]``, softmax over the last axis;
        ``"multilabel"``: ``[B, ..., C]``, a sigmoid per class.
      distance_maps: the shape of ``logits``: the signed distance map of each
        image's target (per class), computed once from the labels, e.g. with
        ``scipy.ndimage.distance_transform_edt`` (outside) minus the same of the
        complement (inside), as the reference code's ``one_hot2dist``.
      mode: ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
      weight: ``[B]``, rescales each image's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator; multiplies
        with ``weight``.
      where: boolean valid-pixel mask aligned with the leading axes of
        ``distance_maps`` (``[B]`` masks whole images); of their full rank it may
        mask single classes, which then leave the average (a masked class still
        enters its pixel's softmax, so its logit must be finite). Images with no
        valid pixel are left out of the mean.
      reduction: ``"mean"`` (over images), ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches the reference ``SurfaceLoss`` (``BoundaryLoss``): its mean over
    batch, classes ``idc`` and pixels is ``"mean"`` here for images of one size.
    It averages only the classes in ``idc`` (usually the foreground, ``[1]``): pass
    ``where`` of the full rank that is True on those classes only. Its binary
    setting, a two-class softmax with ``idc=[1]``, is ``mode="binary"`` on the
    logit difference.
    References: Kervadec et al. (2019), "Boundary loss for highly unbalanced
    segmentation"; github.com/LIVIAETS/boundary-loss, ``losses.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[10.0, -10.0]])
      >>> dist = jnp.array([[-1.0, 1.0]])
      >>> round(float(jaxloss.boundary_loss(logits, dist)), 4)
      -0.5
    """
    fn = "boundary_loss"
    checks.check_reduction(fn, reduction)
    checks.check_option(fn, "mode", mode, MODES)
    x, d = jnp.asarray(logits), jnp.asarray(distance_maps)
    checks.check_floating(fn, "logits", x)
    checks.check_floating(fn, "distance_maps", d)
    checks.check_same_shape(fn, "logits", x, "distance_maps", d)
    low = 1 if mode == "binary" else 2
    if x.ndim < low:
        layout = "[B, ...]" if mode == "binary" else "[B, ..., C]"
        checks.fail(fn, f"logits must be {layout} in mode={mode!r}; got shape {x.shape}")
    x, d = upcast(x, d)
    mask = mask_of(fn, where, x.shape)
    multiclass = mode == "multiclass"
    if mask is not None:
        # a pixel masked out entirely may hold anything; softmax still reads
        # every class of a pixel that counts
        pixel = jnp.any(mask, axis=-1, keepdims=True) if multiclass else mask
        x, d = fill_masked(pixel, x, 0.0), fill_masked(mask, d, 0.0)
    probs = jax.nn.softmax(x, axis=-1) if multiclass else jax.nn.sigmoid(x)
    terms = probs * d
    if mask is None:
        count = jnp.asarray(math.prod(x.shape[1:]), x.dtype)
    else:
        terms = jnp.where(mask, terms, 0.0)
        count = sum_per_sample(mask.astype(x.dtype))
    loss = safe_div(sum_per_sample(terms), count)
    return _image_mean(fn, loss, mask, weight, sample_weights, reduction, axis_name)


def _pool(x: Array, computation, init: float, window: tuple[int, ...]) -> Array:
    """A stride-1 pool over the spatial axes of ``x [B, ...]``, padded with
    ``init`` (so the border never wins), as torch's padded max-pool."""
    # a trailing unit axis: the pool's gradient (select-and-scatter) compiles on
    # TPU only with at least two axes outside the window
    pooled = jax.lax.reduce_window(
        x[..., None],
        np.array(init, x.dtype),
        computation,
        (1, *window, 1),
        (1,) * (x.ndim + 1),
        ((0, 0), *((w // 2, w // 2) for w in window), (0, 0)),
    )
    return pooled[..., 0]


def _erode(x: Array) -> Array:
    """Soft erosion: the minimum over the cross-shaped 3 (x 3 x 3) neighbourhood,
    one min-pool of length 3 per spatial axis, as the official ``soft_erode``."""
    spatial = x.ndim - 1
    arms = [
        _pool(x, jax.lax.min, math.inf, tuple(3 if a == axis else 1 for a in range(spatial)))
        for axis in range(spatial)
    ]
    return functools.reduce(jnp.minimum, arms)


def _dilate(x: Array) -> Array:
    """Soft dilation: the maximum over the full 3 (x 3 x 3) neighbourhood."""
    return _pool(x, jax.lax.max, -math.inf, (3,) * (x.ndim - 1))


def soft_skeleton(images: Array, iterations: int) -> Array:
    """The soft skeleton of ``images [B, H, W]`` or ``[B, D, H, W]`` with values in
    [0, 1], by iterated soft erosion and opening (the official ``soft_skel``)."""
    img = images
    skeleton = jax.nn.relu(img - _dilate(_erode(img)))
    for _ in range(iterations):
        img = _erode(img)
        delta = jax.nn.relu(img - _dilate(_erode(img)))
        skeleton = skeleton + jax.nn.relu(delta - skeleton * delta)
    return skeleton


def cldice_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    iterations: int = 3,
    smooth: Scalar = 1.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Soft clDice loss: the harmonic mean of topology precision and sensitivity
    of soft skeletons, for thin tubular structures (vessels, roads, neurons).

    With :math:`p = \sigma(x)`, targets :math:`t` and soft skeletons
    :math:`S_p, S_t` (iterated min-/max-pool erosion and opening):

    .. math::
        T_{prec} = \frac{\sum S_p t + s}{\sum S_p + s}, \quad
        T_{sens} = \frac{\sum S_t p + s}{\sum S_t + s}, \quad
        \ell = 1 - \frac{2\,T_{prec}T_{sens}}{T_{prec} + T_{sens}}

    summed over the pixels of each image, :math:`s` = ``smooth``.

    Args:
      logits: ``[B, H, W]`` or ``[B, D, H, W]`` foreground logits.
      targets: same shape, in [0, 1] (binary masks); another value makes its
        image's loss NaN.
      iterations: erosion steps of the soft skeleton (an integer >= 0); it
        should reach the half-width of the thickest structure.
      smooth: added to each ratio's numerator and denominator, >= 0; it keeps
        images with an empty target or an empty skeleton finite. With 0, an
        empty skeleton scores 1 and 0/0 in the harmonic mean gives loss 1.
      weight: ``[B]``, rescales each image's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator; multiplies
        with ``weight``.
      where: boolean valid-pixel mask aligned with the leading axes of
        ``targets`` (``[B]`` masks whole images). Masked pixels count as
        background for the skeletons and enter no sum; images with no valid
        pixel are left out of the mean.
      reduction: ``"mean"`` (over images), ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches the official ``soft_skel`` exactly (cross-shaped 3-neighbourhood
    min-pool erosion, full 3 x 3 (x 3) max-pool dilation) and the official
    clDice ratios, applied to each image: the official ``soft_cldice`` sums over
    the whole batch (and the foreground channels ``[:, 1:]``), which is a batch
    of one here. It is usually combined with Dice,
    ``(1 - a) * dice_loss + a * cldice_loss``, as its ``soft_dice_cldice``.
    References: Shit et al. (2021), "clDice - a Novel Topology-Preserving Loss
    Function for Tubular Structure Segmentation"; github.com/jocpae/clDice,
    ``cldice_loss/pytorch/soft_skeleton.py`` and ``cldice.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> line = jnp.zeros((1, 5, 5)).at[0, 2, :].set(1.0)
      >>> round(float(jaxloss.cldice_loss(20.0 * (2 * line - 1), line)), 4)
      0.0
    """
    fn = "cldice_loss"
    checks.check_reduction(fn, reduction)
    checks.check_integer(fn, "iterations", iterations)
    if iterations < 0:
        checks.fail(fn, f"iterations must be >= 0; got {iterations}")
    ok_smooth = checks.option_in_range(fn, "smooth", smooth, low=0.0)
    x, t = jnp.asarray(logits), jnp.asarray(targets)
    checks.check_floating(fn, "logits", x)
    checks.check_numeric(fn, "targets", t)
    checks.check_same_shape(fn, "logits", x, "targets", t)
    checks.check_rank(fn, "logits", x, {3, 4})
    x, t = upcast(x, t)
    mask = mask_of(fn, where, x.shape)
    x, t = fill_masked(mask, x, 0.0), fill_masked(mask, t, 0.0)
    ok = (t >= 0) & (t <= 1)
    checks.require(fn, "targets", ok, t, "in [0, 1]")
    bad = ~jnp.all(ok, axis=tuple(range(1, t.ndim)))
    t = jnp.where(ok, t, 0.0)
    p = jax.nn.sigmoid(x)
    if mask is not None:
        p = jnp.where(mask, p, 0.0)
    skel_p, skel_t = soft_skeleton(p, iterations), soft_skeleton(t, iterations)
    s = jnp.asarray(smooth, x.dtype)
    precision = score_ratio(sum_per_sample(skel_p * t) + s, sum_per_sample(skel_p) + s)
    sensitivity = score_ratio(sum_per_sample(skel_t * p) + s, sum_per_sample(skel_t) + s)
    loss = 1.0 - safe_div(2.0 * precision * sensitivity, precision + sensitivity)
    loss = checks.nan_unless(ok_smooth, jnp.where(bad, jnp.nan, loss))
    return _image_mean(fn, loss, mask, weight, sample_weights, reduction, axis_name)
