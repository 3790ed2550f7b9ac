"""Combined segmentation losses: a masked pixel loss plus a per-image region loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import power
from jaxloss._core.reduce import (
    fill_masked,
    mask_weights,
    prepare_pair,
    reduce_loss,
    sample_weights_of,
)
from jaxloss._core.sharding import psum
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.classification import binary_cross_entropy_with_logits
from jaxloss.losses.segmentation._common import (
    Pixels,
    check_smooth,
    check_tversky,
    dice_score,
    sums,
    tversky_index,
)

__all__ = ["bce_dice_loss", "focal_and_tversky_loss"]


def _combined_terms(
    fn: str,
    logits: ArrayLike,
    targets: ArrayLike,
    where: ArrayLike | None,
    smooth: float,
    axis_name: AxisName,
) -> tuple[Array, Array, Array, Array, Array, tuple[Array, Array, Array]]:
    """Shared pieces of the combined losses: masked inputs, the valid-pixel count n (+ smooth),
    the number of images, and the per-image soft sums (I, P, T) over valid pixels.

    A valid pixel whose target is outside [0, 1] (or NaN) makes its image's
    targets NaN, so that the image's loss is NaN rather than a finite number."""
    checks.check_rank(fn, "logits", jnp.asarray(logits), set(range(1, 33)))
    x, t, mask = prepare_pair(fn, "logits", logits, targets, where)
    ok = (t >= 0) & (t <= 1)  # masked targets are already 0
    checks.require(fn, "targets", ok, t, "in [0, 1]")
    bad = ~jnp.all(ok, axis=tuple(range(1, t.ndim)), keepdims=True)
    t = jnp.where(bad, jnp.nan, t)
    m = mask_weights(mask, x.shape, x.dtype)
    n = psum(jnp.sum(m), axis_name) + smooth
    images = psum(jnp.asarray(x.shape[0], x.dtype), axis_name)
    px = Pixels((jax.nn.sigmoid(x) * m)[..., None], (t * m)[..., None], False, None, None)
    inter, p_sum, t_sum = sums(px, per_sample=True, squared=False, axis_name=None)
    return x, t, m, n, images, (inter[:, 0], p_sum[:, 0], t_sum[:, 0])


def _pixel_share(pixel_loss: Array, m: Array, n: Array, images: Array) -> Array:
    """Each image's part of the masked pixel mean sum(loss * m) / n, scaled
    by the number of images so that the mean over images is that pixel mean."""
    per_image = jnp.sum(pixel_loss * m, axis=tuple(range(1, m.ndim)))
    return images * per_image / jnp.where(n == 0, 1.0, n)


def _image_terms(
    fn: str,
    loss: Array,
    m: Array,
    where: ArrayLike | None,
    sample_weights: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
) -> Array:
    """Reduces the per-image terms ``loss [B]``, each rescaled by its sample
    weight; an image with no valid pixel (its terms are 0) still counts in the
    mean but takes weight 0, whatever its sample weight holds (NaN padding)."""
    image_w = sample_weights_of(fn, sample_weights, loss.shape)
    if image_w is not None:
        if where is not None:
            valid = jnp.any(m > 0, axis=tuple(range(1, m.ndim)))
            image_w = fill_masked(valid, image_w, 0.0)
        loss = loss * image_w.astype(loss.dtype)
    return reduce_loss(loss, fn=fn, reduction=reduction, axis_name=axis_name)


def bce_dice_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: float = 1e-5,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""The common ``BCEDiceLoss``: masked pixel BCE plus the per-image Dice loss.

    .. math::
        \mathcal{L} = \frac{\sum_i m_i\,\mathrm{BCE}(x_i, y_i)}{\sum_i m_i + s}
        + \frac{1}{B}\sum_b \Big(1 - \frac{2 I_b + s}{P_b + T_b + s}\Big)

    with the Dice sums over each image's valid pixels (``p = sigmoid(x)``).

    Args:
      logits: ``[B, ...]`` binary logits.
      targets: ``[B, ...]`` in [0, 1]; another value (or NaN) at a valid pixel
        gives NaN for its image.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator (an image
        with no valid pixel takes weight 0).
      where: the valid-pixel mask (the recipe's ``valid_mask``): boolean, aligned
        with the leading axes of ``logits`` (``[B]`` masks whole images) or of its
        full rank.
      smooth: >= 0, in the pixel mean's denominator and the Dice.
      reduction: ``"mean"`` is the recipe's value. ``"none"`` gives per-image terms
        ``[B]`` whose mean is that value (each image's pixel BCE sum times B / n
        plus its Dice loss); ``"sum"`` is their sum.
      axis_name: the valid-pixel count and the number of images are global.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Exactly the common recipe's definition, including its treatment of void pixels: they
    leave the BCE sum and its count and every Dice sum, but an image whose pixels
    are all void still counts in the batch mean (with Dice loss 0), so masking an
    image out is not the same as dropping it. Void pixels may hold NaN.
    References: Milletari et al. (2016), "V-Net".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[3.0, -3.0, 3.0, -3.0]])
      >>> targets = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> round(float(jaxloss.bce_dice_loss(logits, targets)), 4)
      0.096
    """
    fn = "bce_dice_loss"
    checks.check_reduction(fn, reduction)
    check_smooth(fn, smooth)
    x, t, m, n, images, (inter, p_sum, t_sum) = _combined_terms(
        fn, logits, targets, where, smooth, axis_name
    )
    bce = binary_cross_entropy_with_logits(x, t, reduction="none")
    loss = _pixel_share(bce, m, n, images) + 1.0 - dice_score(inter, p_sum, t_sum, smooth)
    return _image_terms(fn, loss, m, where, sample_weights, reduction, axis_name)


def focal_and_tversky_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    focal_alpha: float = 0.25,
    focal_gamma: float = 2.0,
    tversky_alpha: float = 0.3,
    tversky_beta: float = 0.7,
    smooth: float = 1e-5,
    tversky_weight: float = 1.0,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""The common ``FocalTverskyLoss``: masked pixel focal loss plus the Tversky loss.

    .. math::
        \mathcal{L} = \frac{\sum_i m_i\,\alpha_t (1 - p_t)^{\gamma}\,\mathrm{BCE}_i}
                           {\sum_i m_i + s}
        + \lambda\,\frac{1}{B}\sum_b \Big(1 - \frac{I_b + s}
            {I_b + \alpha_T \mathrm{FP}_b + \beta_T \mathrm{FN}_b + s}\Big)

    with :math:`p_t = e^{-\mathrm{BCE}_i}`, :math:`\alpha_t = \alpha y + (1 - \alpha)(1 - y)`
    and the Tversky sums over each image's valid pixels. It is the usual choice for
    flood mapping with about 1% positive pixels: the focal term finds the rare
    hard pixels, the Tversky term (beta > alpha) pays for recall.

    Args:
      logits: ``[B, ...]`` binary logits.
      targets: ``[B, ...]`` in [0, 1]; another value (or NaN) at a valid pixel
        gives NaN for its image.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator (an image
        with no valid pixel takes weight 0).
      where: the valid-pixel mask (the recipe's ``valid_mask``): boolean, aligned
        with the leading axes of ``logits`` (``[B]`` masks whole images) or of its
        full rank.
      focal_alpha: the focal term's balance of positives, in [0, 1].
      focal_gamma: the focal term's focusing exponent, >= 0.
      tversky_alpha, tversky_beta: prices of false positives and false negatives, >= 0.
      smooth: >= 0, in the pixel mean's denominator and the Tversky index.
      tversky_weight: :math:`\lambda`, >= 0.
      reduction: ``"mean"`` is the recipe's value; ``"none"`` gives per-image terms
        ``[B]`` whose mean is that value; ``"sum"`` is their sum.
      axis_name: the valid-pixel count and the number of images are global.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Exactly the common recipe's definition, void pixels included (see
    :func:`bce_dice_loss`); ``1 - p_t`` is computed as ``-expm1(-BCE)``, which
    equals the recipe's ``1 - exp(-BCE)`` to rounding.
    References: Lin et al. (2017), "Focal loss for
    dense object detection"; Salehi et al. (2017), "Tversky loss function for image
    segmentation".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[3.0, -3.0, 3.0, -3.0]])
      >>> targets = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> round(float(jaxloss.focal_and_tversky_loss(logits, targets)), 4)
      0.0475
    """
    fn = "focal_and_tversky_loss"
    checks.check_reduction(fn, reduction)
    check_tversky(fn, tversky_alpha, tversky_beta, smooth, ("tversky_alpha", "tversky_beta"))
    checks.check_range(fn, "focal_alpha", focal_alpha, low=0.0, high=1.0)
    checks.check_range(fn, "focal_gamma", focal_gamma, low=0.0)
    checks.check_range(fn, "tversky_weight", tversky_weight, low=0.0)
    x, t, m, n, images, (inter, p_sum, t_sum) = _combined_terms(
        fn, logits, targets, where, smooth, axis_name
    )
    bce = binary_cross_entropy_with_logits(x, t, reduction="none")
    alpha_t = focal_alpha * t + (1.0 - focal_alpha) * (1.0 - t)
    focal = alpha_t * power(-jnp.expm1(-bce), focal_gamma) * bce
    index = tversky_index(inter, p_sum, t_sum, tversky_alpha, tversky_beta, smooth)
    loss = _pixel_share(focal, m, n, images) + tversky_weight * (1.0 - index)
    return _image_terms(fn, loss, m, where, sample_weights, reduction, axis_name)
