"""Tversky losses: overlap with separate prices for false positives and negatives.

Each loss checks its own hyperparameters, defines its ``score`` (the loss per
image from the per-class sums I, P, T; see :mod:`._common`) and hands every
shared option to :func:`._common.overlap_loss`.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import power
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.segmentation._common import (
    check_tversky,
    class_weighted,
    overlap_loss,
    smoothing,
    tversky_index,
)

__all__ = ["focal_tversky_loss", "tversky_loss"]


def tversky_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float = 0.3,
    beta: float = 0.7,
    from_logits: bool = True,
    mode: str = "binary",
    smooth: float = 1e-5,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    squared: bool = False,
    soft_label: bool = False,
    include_background: bool = True,
    per_sample: bool = True,
    per_class: bool = False,
    ignore_index: int = -100,
    axis: int = -1,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Tversky loss: Dice with separate prices for false positives and negatives.

    .. math::
        \mathrm{TI}_c = \frac{I_c + s}{I_c + \alpha\,\mathrm{FP}_c + \beta\,\mathrm{FN}_c + s},
        \qquad \ell_c = 1 - \mathrm{TI}_c

    with FP = P - I and FN = T - I. ``alpha`` (>= 0) prices false positives and
    ``beta`` (>= 0) false negatives: beta > alpha favours recall, as sparse-mask segmentation uses
    it for rare flooded pixels; alpha = beta = 0.5 is Dice, alpha = beta = 1 is
    Jaccard (up to the smoothing).

    Args:
      predictions: logits (``from_logits=True``) or probabilities in [0, 1]
        (another value gives NaN for its image); ``[B, ...]`` in binary mode,
        ``[B, ..., C]`` otherwise (the class axis at ``axis``).
      targets: ``[B, ...]`` in binary mode; integer classes ``[B, ...]`` or float
        ``[B, ..., C]`` in multi-class mode; ``[B, ..., C]`` in multi-label mode.
        Float targets are soft, in [0, 1]; integer ones are classes (multi-class)
        or 0 and 1. Any other value, not void, gives NaN for its image (for the
        loss with ``per_sample=False``).
      alpha: the price of false positives, >= 0.
      beta: the price of false negatives, >= 0.
      from_logits: apply sigmoid (binary, multi-label) or softmax (multi-class).
      mode: ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
      smooth: added to numerator and denominator; keeps empty images finite.
      smooth_nr: added to the numerator instead of ``smooth`` (MONAI's name), >= 0.
      smooth_dr: added to the denominator instead of ``smooth`` (MONAI's name), >= 0.
      squared: use sums of squares in the denominator (V-Net).
      soft_label: take I as :math:`(P + T - \sum_i m_i |p_i - t_i|) / 2`,
        MONAI's ``soft_label=True`` form, exact for soft targets and equal to I
        for hard ones; no effect with ``squared`` (exact already) or class ids.
      include_background: False drops class 0 (multi-class, multi-label).
      per_sample: statistics per image then averaged over images (True), or one
        statistic over the whole batch (False).
      per_class: keep the class axis (for logging): the class-weighted loss of
        each image and class ``[B, K']`` for ``reduction="none"``, each class's
        mean or sum over images ``[K']`` otherwise (``[K']`` for every reduction
        with ``per_sample=False``); K' leaves out the background without
        ``include_background``. Its mean over the class axis is the default loss.
      ignore_index: targets equal to it, integer or float, are void pixels (a
        multi-class float target is void when all its entries are).
      axis: the class axis of ``predictions`` and of float targets laid out like
        them; ``axis=1`` takes PyTorch's ``[B, C, H, W]``. Must stay -1 in binary
        mode, which has no class axis.
      weight: ``[B]``, rescales each image's loss (``per_sample=True`` only).
      class_weights: ``[C]``, one weight per class; multiplies each class's loss
        before the class mean.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator. Needs
        ``per_sample=True``; multiplies with ``weight``.
      where: boolean valid-pixel mask aligned with the leading pixel axes
        ``[B, ...]`` (``[B]`` masks whole images); in multi-label mode also one
        of the predictions' full rank, laid out like them, that masks classes.
      reduction: ``"mean"`` over images with a valid pixel, ``"sum"``, or
        ``"none"`` for the per-image losses ``[B]``.
      axis_name: mapped axis for the batch mean, or for the global sums when
        ``per_sample=False``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"`` with ``per_sample=True``;
      ``per_class`` adds a trailing class axis (see above).

    Matches MONAI ``TverskyLoss`` (its ``smooth_nr``, ``smooth_dr``, ``soft_label``,
    ``batch=not per_sample``; its ``reduction="none"`` is ``per_class=True``) and
    optax ``dice_loss(alpha=, beta=)``. MONAI's ``reduction="sum"`` adds over
    images and classes: take ``per_class=True, reduction="none"`` and ``.sum()``.
    smp's ``TverskyLoss`` zeroes the loss of a class absent from the batch's
    targets: multiply the ``per_class=True, per_sample=False`` loss by ``T_c > 0``
    before the class mean; it divides by the class weights' sum: pass
    ``class_weights = C * w / sum(w)``.
    References: Salehi et al. (2017), "Tversky loss function for image segmentation".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[1.0, 1.0, 0.0, 0.0]])  # TP 1, FP 1, FN 1
      >>> t = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> round(float(jaxloss.tversky_loss(p, t, from_logits=False, smooth=0.0)), 4)
      0.5
    """
    fn = "tversky_loss"
    check_tversky(fn, alpha, beta, smooth)
    nr, dr = smoothing(fn, smooth, smooth_nr, smooth_dr)

    def score(inter: Array, p_sum: Array, t_sum: Array, class_w: Array | None) -> Array:
        index = tversky_index(inter, p_sum, t_sum, alpha, beta, nr, dr)
        return class_weighted(1.0 - index, class_w)

    return overlap_loss(
        fn,
        predictions,
        targets,
        score=score,
        mode=mode,
        from_logits=from_logits,
        squared=squared,
        class_weights=class_weights,
        include_background=include_background,
        per_sample=per_sample,
        ignore_index=ignore_index,
        axis=axis,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
        per_class=per_class,
        soft_label=soft_label,
    )


def focal_tversky_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float = 0.3,
    beta: float = 0.7,
    gamma: float = 0.75,
    from_logits: bool = True,
    mode: str = "binary",
    smooth: float = 1e-5,
    smooth_nr: float | None = None,
    smooth_dr: float | None = None,
    squared: bool = False,
    soft_label: bool = False,
    include_background: bool = True,
    per_sample: bool = True,
    per_class: bool = False,
    ignore_index: int = -100,
    axis: int = -1,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Focal Tversky loss: the Tversky loss raised to a power.

    .. math:: \ell_c = (1 - \mathrm{TI}_c)^{\gamma}

    with :math:`\mathrm{TI}_c` the Tversky index of :func:`tversky_loss`.
    ``gamma`` > 0; below 1 it sharpens the loss on images that are already
    nearly right. The gradient at a perfect score (TI = 1) is taken as 0 for
    gamma < 1, where the exact derivative is infinite.

    Args:
      predictions: logits (``from_logits=True``) or probabilities in [0, 1]
        (another value gives NaN for its image); ``[B, ...]`` in binary mode,
        ``[B, ..., C]`` otherwise (the class axis at ``axis``).
      targets: ``[B, ...]`` in binary mode; integer classes ``[B, ...]`` or float
        ``[B, ..., C]`` in multi-class mode; ``[B, ..., C]`` in multi-label mode.
        Float targets are soft, in [0, 1]; integer ones are classes (multi-class)
        or 0 and 1. Any other value, not void, gives NaN for its image (for the
        loss with ``per_sample=False``).
      alpha: the price of false positives, >= 0.
      beta: the price of false negatives, >= 0.
      gamma: the exponent, > 0.
      from_logits: apply sigmoid (binary, multi-label) or softmax (multi-class).
      mode: ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
      smooth: added to numerator and denominator; keeps empty images finite.
      smooth_nr: added to the numerator instead of ``smooth`` (MONAI's name), >= 0.
      smooth_dr: added to the denominator instead of ``smooth`` (MONAI's name), >= 0.
      squared: use sums of squares in the denominator (V-Net).
      soft_label: take I as :math:`(P + T - \sum_i m_i |p_i - t_i|) / 2`,
        MONAI's ``soft_label=True`` form, exact for soft targets and equal to I
        for hard ones; no effect with ``squared`` (exact already) or class ids.
      include_background: False drops class 0 (multi-class, multi-label).
      per_sample: statistics per image then averaged over images (True), or one
        statistic over the whole batch (False).
      per_class: keep the class axis (for logging): the class-weighted loss of
        each image and class ``[B, K']`` for ``reduction="none"``, each class's
        mean or sum over images ``[K']`` otherwise (``[K']`` for every reduction
        with ``per_sample=False``); K' leaves out the background without
        ``include_background``. Its mean over the class axis is the default loss.
      ignore_index: targets equal to it, integer or float, are void pixels (a
        multi-class float target is void when all its entries are).
      axis: the class axis of ``predictions`` and of float targets laid out like
        them; ``axis=1`` takes PyTorch's ``[B, C, H, W]``. Must stay -1 in binary
        mode, which has no class axis.
      weight: ``[B]``, rescales each image's loss (``per_sample=True`` only).
      class_weights: ``[C]``, one weight per class; multiplies each class's loss
        before the class mean.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator. Needs
        ``per_sample=True``; multiplies with ``weight``.
      where: boolean valid-pixel mask aligned with the leading pixel axes
        ``[B, ...]`` (``[B]`` masks whole images); in multi-label mode also one
        of the predictions' full rank, laid out like them, that masks classes.
      reduction: ``"mean"`` over images with a valid pixel, ``"sum"``, or
        ``"none"`` for the per-image losses ``[B]``.
      axis_name: mapped axis for the batch mean, or for the global sums when
        ``per_sample=False``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"`` with ``per_sample=True``;
      ``per_class`` adds a trailing class axis (see above).

    References: Abraham & Khan (2019), "A novel focal Tversky loss function with
    improved attention U-Net for lesion segmentation".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[1.0, 1.0, 0.0, 0.0]])
      >>> t = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> loss = jaxloss.focal_tversky_loss(p, t, from_logits=False, smooth=0.0, gamma=2.0)
      >>> round(float(loss), 4)
      0.25
    """
    fn = "focal_tversky_loss"
    check_tversky(fn, alpha, beta, smooth)
    checks.check_range(fn, "gamma", gamma, low=0.0, low_open=True)
    nr, dr = smoothing(fn, smooth, smooth_nr, smooth_dr)

    def score(inter: Array, p_sum: Array, t_sum: Array, class_w: Array | None) -> Array:
        index = tversky_index(inter, p_sum, t_sum, alpha, beta, nr, dr)
        # rounding can push the index a hair above 1
        return class_weighted(power(jnp.maximum(1.0 - index, 0.0), gamma), class_w)

    return overlap_loss(
        fn,
        predictions,
        targets,
        score=score,
        mode=mode,
        from_logits=from_logits,
        squared=squared,
        class_weights=class_weights,
        include_background=include_background,
        per_sample=per_sample,
        ignore_index=ignore_index,
        axis=axis,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
        per_class=per_class,
        soft_label=soft_label,
    )
