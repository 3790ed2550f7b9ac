"""Region overlap losses: Dice, Jaccard and generalized Dice.

Each loss checks its own hyperparameters, defines its ``score`` (the loss per
image from the per-class sums I, P, T; see :mod:`._common`) and hands every
shared option to :func:`._common.overlap_loss`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import score_ratio
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.segmentation._common import (
    class_weighted,
    dice_score,
    overlap_loss,
    smoothing,
)

__all__ = ["dice_loss", "generalized_dice_loss", "jaccard_loss"]

WEIGHT_TYPES = ("square", "simple", "uniform")


def dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
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
    r"""Soft Dice loss: one minus the soft overlap of prediction and target.

    .. math:: \ell_c = 1 - \frac{2 I_c + s}{P_c + T_c + s}

    averaged over classes, then over images.

    Args:
      predictions: logits (``from_logits=True``) or probabilities in [0, 1]
        (another value gives NaN for its image); ``[B, ...]`` in binary mode,
        ``[B, ..., C]`` otherwise (the class axis at ``axis``).
      targets: ``[B, ...]`` in binary mode; integer classes ``[B, ...]`` or float
        ``[B, ..., C]`` in multi-class mode; ``[B, ..., C]`` in multi-label mode.
        Float targets are soft, in [0, 1]; integer ones are classes (multi-class)
        or 0 and 1. Any other value, not void, gives NaN for its image (for the
        loss with ``per_sample=False``).
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

    Matches MONAI ``DiceLoss`` (its ``smooth_nr``, ``smooth_dr``, ``soft_label``,
    ``weight`` as ``class_weights``, ``batch=not per_sample``; its
    ``reduction="none"`` is ``per_class=True``) and optax ``dice_loss`` (whose
    ``smooth`` enters its Tversky form, equal for the default alpha = beta = 0.5
    up to the smoothing scale), averaged over images. An empty target predicted
    empty scores 0; with ``smooth_dr=0`` it is taken as a perfect match rather
    than 0 / 0.
    MONAI's ``reduction="sum"`` adds over images and classes: take
    ``per_class=True, reduction="none"`` and ``.sum()``. smp zeroes the loss of a
    class absent from the batch's targets: multiply the ``per_class=True,
    per_sample=False`` loss by ``T_c > 0`` before the class mean. smp and kornia
    (``average="macro"``) divide by the class weights' sum: pass
    ``class_weights = C * w / sum(w)``.
    References: Milletari et al. (2016), "V-Net".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[0.9, 0.1, 0.8, 0.0]])
      >>> t = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> round(float(jaxloss.dice_loss(p, t, from_logits=False, smooth=0.0)), 4)
      0.1053
      >>> logits, labels = jnp.zeros((2, 4, 3)), jnp.array([[0, 1, 2, 2], [0, 0, 1, 1]])
      >>> jaxloss.dice_loss(logits, labels, mode="multiclass", per_class=True).shape
      (3,)
    """
    fn = "dice_loss"
    nr, dr = smoothing(fn, smooth, smooth_nr, smooth_dr)

    def score(inter: Array, p_sum: Array, t_sum: Array, class_w: Array | None) -> Array:
        return class_weighted(1.0 - dice_score(inter, p_sum, t_sum, nr, dr), class_w)

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


def jaccard_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
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
    r"""Soft Jaccard (IoU) loss.

    .. math:: \ell_c = 1 - \frac{I_c + s}{P_c + T_c - I_c + s}

    averaged over classes, then over images.

    Args:
      predictions: logits (``from_logits=True``) or probabilities in [0, 1]
        (another value gives NaN for its image); ``[B, ...]`` in binary mode,
        ``[B, ..., C]`` otherwise (the class axis at ``axis``).
      targets: ``[B, ...]`` in binary mode; integer classes ``[B, ...]`` or float
        ``[B, ..., C]`` in multi-class mode; ``[B, ..., C]`` in multi-label mode.
        Float targets are soft, in [0, 1]; integer ones are classes (multi-class)
        or 0 and 1. Any other value, not void, gives NaN for its image (for the
        loss with ``per_sample=False``).
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

    Matches segmentation_models_pytorch ``JaccardLoss`` (its ``smooth`` in
    numerator and denominator), averaged per image here when ``per_sample``;
    MONAI ``DiceLoss(jaccard=True)`` with smoothing s is this loss with ``s / 2``.
    MONAI's ``reduction="sum"`` adds over images and classes: take
    ``per_class=True, reduction="none"`` and ``.sum()``. smp zeroes the loss of a
    class absent from the batch's targets: multiply the ``per_class=True,
    per_sample=False`` loss by ``T_c > 0`` before the class mean. smp and kornia
    (``average="macro"``) divide by the class weights' sum: pass
    ``class_weights = C * w / sum(w)``.
    References: Rahman & Wang (2016), "Optimizing intersection-over-union in deep
    neural networks for image segmentation".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[1.0, 1.0, 0.0, 0.0]])
      >>> t = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> round(float(jaxloss.jaccard_loss(p, t, from_logits=False, smooth=0.0)), 4)
      0.6667
    """
    fn = "jaccard_loss"
    nr, dr = smoothing(fn, smooth, smooth_nr, smooth_dr)

    def score(inter: Array, p_sum: Array, t_sum: Array, class_w: Array | None) -> Array:
        iou = score_ratio(inter + nr, p_sum + t_sum - inter + dr)
        return class_weighted(1.0 - iou, class_w)

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


def generalized_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    from_logits: bool = True,
    mode: str = "multiclass",
    weight_type: str = "square",
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
    r"""Generalized Dice loss: Dice pooled over classes with inverse-square class weights.

    .. math::
        w_c = \frac{1}{T_c^2}, \qquad
        \ell = 1 - \frac{2\sum_c w_c I_c + s}{\sum_c w_c (P_c + T_c) + s}

    (``weight_type="simple"``: :math:`w_c = 1 / T_c`; ``"uniform"``: 1). A class
    absent from the image (T_c = 0) gets the largest finite weight of the image
    instead of infinity (MONAI's rule); with every class absent the loss is 0
    when nothing is predicted. The weights come from the targets and carry no
    gradient.

    Args:
      predictions: logits (``from_logits=True``) or probabilities in [0, 1]
        (another value gives NaN for its image); ``[B, ...]`` in binary mode,
        ``[B, ..., C]`` otherwise (the class axis at ``axis``).
      targets: ``[B, ...]`` in binary mode; integer classes ``[B, ...]`` or float
        ``[B, ..., C]`` in multi-class mode; ``[B, ..., C]`` in multi-label mode.
        Float targets are soft, in [0, 1]; integer ones are classes (multi-class)
        or 0 and 1. Any other value, not void, gives NaN for its image (for the
        loss with ``per_sample=False``).
      from_logits: apply sigmoid (binary, multi-label) or softmax (multi-class).
      mode: ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
      weight_type: the class weights from the target volume T_c: ``"square"``
        (1 / T_c^2), ``"simple"`` (1 / T_c) or ``"uniform"`` (1); MONAI's ``w_type``.
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
      class_weights: ``[C]``, one weight per class; multiplies each class's weight
        :math:`w_c` (so scaling all of them alike leaves the ratio as it is).
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

    Matches MONAI ``GeneralizedDiceLoss`` (``w_type`` as ``weight_type``, its
    ``smooth_nr``, ``smooth_dr``, ``soft_label``, ``batch=not per_sample``). Its
    classes are pooled into one ratio, so ``per_class=True`` gives a class axis of
    length 1 (``[B, 1]`` for ``reduction="none"``), as MONAI's ``reduction="none"``.
    References: Sudre et al. (2017), "Generalised Dice overlap as a deep learning
    loss function for highly unbalanced segmentations".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((1, 4, 3))
      >>> labels = jnp.array([[0, 1, 2, 2]])
      >>> round(float(jaxloss.generalized_dice_loss(logits, labels)), 4)
      0.697
    """
    fn = "generalized_dice_loss"
    checks.check_option(fn, "weight_type", weight_type, WEIGHT_TYPES)
    nr, dr = smoothing(fn, smooth, smooth_nr, smooth_dr)

    def score(inter: Array, p_sum: Array, t_sum: Array, class_w: Array | None) -> Array:
        w = jax.lax.stop_gradient(_volume_weights(t_sum, weight_type))
        if class_w is not None:
            w = w * class_w
        num = 2.0 * jnp.sum(w * inter, axis=-1, keepdims=True) + nr
        den = jnp.sum(w * (p_sum + t_sum), axis=-1, keepdims=True) + dr
        return 1.0 - score_ratio(num, den)

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


def _volume_weights(t_sum: Array, weight_type: str) -> Array:
    """MONAI's class weights from the target volumes ``[..., K]``; an absent class
    takes the largest weight of its image."""
    if weight_type == "uniform":
        return jnp.ones_like(t_sum)
    absent = t_sum == 0
    volume = jnp.where(absent, 1.0, t_sum)
    w = jnp.where(absent, 0.0, 1.0 / (jnp.square(volume) if weight_type == "square" else volume))
    return jnp.where(absent, jnp.max(w, axis=-1, keepdims=True), w)
