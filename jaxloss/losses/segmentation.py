"""Segmentation losses: region overlap (Dice, Tversky, Jaccard), Lovász, and seed 000's
combined pixel + region losses.

Every overlap loss reads three soft sums per class, taken over the pixels of each
image (``per_sample=True``) or of the whole batch (``per_sample=False``):

.. math::
    I = \\sum_i m_i p_i t_i, \\qquad P = \\sum_i m_i p_i, \\qquad T = \\sum_i m_i t_i

so TP = I, FP = P - I and FN = T - I, with ``p`` the predicted probabilities, ``t``
the targets and ``m`` the valid-pixel mask. ``squared=True`` uses
:math:`\\sum m p^2` and :math:`\\sum m t^2` for P and T (the V-Net denominator).

Modes (the class axis is last):

- ``"binary"``: ``predictions [B, ...]`` and ``targets [B, ...]`` in [0, 1]
  (sigmoid of logits);
- ``"multiclass"``: ``predictions [B, ..., C]`` (softmax of logits) with integer
  class indices ``[B, ...]`` or one-hot/soft targets ``[B, ..., C]``;
- ``"multilabel"``: ``predictions [B, ..., C]`` and 0/1 or soft targets
  ``[B, ..., C]`` (sigmoid per class).

``where`` marks valid pixels (seed 000's ``valid_mask``); it broadcasts to the
targets' shape for integer targets and binary/multi-label modes, and to
``predictions.shape[:-1]`` for multi-class float targets. Integer targets equal to
``ignore_index`` are void too. Void pixels enter no sum, value or gradient, and an
image with no valid pixel is left out of the batch mean.

``reduction="none"`` returns one loss per image ``[B]`` (the class-averaged loss).
With ``per_sample=False`` the loss is one global statistic (a scalar for every
reduction); with ``axis_name`` its sums are taken across devices.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import power, score_ratio, upcast
from jaxloss._core.reduce import fill_masked, mask_of, prepare_pair, reduce_loss
from jaxloss._core.sharding import gather_invariant, psum
from jaxloss._core.types import Array, AxisName
from jaxloss.catalogue.registry import Example, LossSpec
from jaxloss.catalogue.registry import add_spec as register
from jaxloss.losses.classification import binary_cross_entropy_with_logits

__all__ = [
    "bce_dice_loss",
    "dice_loss",
    "focal_and_tversky_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "tversky_loss",
]

MODES = ("binary", "multiclass", "multilabel")


# ------------------------------------------------------------------ pixels and sums


class _Pixels(NamedTuple):
    """A batch of pixels ready for the sums. Void pixels are already zero in
    ``probs`` and ``targets`` and -1 in ``labels``."""

    probs: Array  # [B, ..., K] probabilities (K = 1 in binary mode), 0 at void pixels
    targets: Array | None  # [B, ..., K] in [0, 1], 0 at void pixels; None with labels
    labels: Array | None  # [B, ...] class indices (multi-class integer targets), -1 if void
    mask: Array | None  # bool, broadcastable to probs; None when every pixel is valid
    invalid: Array | None  # [B] bool: the image holds a label that is neither valid nor void


def _targets_fit(fn: str, output_name: str, x: Array, y: Array, mode: str) -> bool:
    """Checks the (predictions, targets) shapes fit ``mode``; True for class indices."""
    integer = not jnp.issubdtype(y.dtype, jnp.floating)
    if mode == "multiclass":
        checks.check_rank(fn, output_name, x, set(range(2, 33)))
        if (integer and y.shape == x.shape[:-1]) or (not integer and y.shape == x.shape):
            return integer
        expected = (
            f"integer class indices of shape {x.shape[:-1]} or float (one-hot or soft) "
            f"targets of shape {x.shape}"
        )
    else:
        if mode == "multilabel":
            checks.check_rank(fn, output_name, x, set(range(2, 33)))
        if y.shape == x.shape:
            return integer
        expected = f"the shape of {output_name}, {x.shape}"
        if integer and y.shape == x.shape[:-1]:
            expected += " (class indices of this shape need mode='multiclass')"
    checks.fail(
        fn,
        f"targets has shape {y.shape} and dtype {y.dtype}, which fits no mode: "
        f"mode={mode!r} expects {expected}",
    )
    return integer


def _pixels(
    fn: str,
    predictions: Array,
    targets: Array,
    *,
    mode: str,
    activation: str | None,
    where: Array | None,
    ignore_index: int,
    output_name: str = "predictions",
) -> _Pixels:
    """Validates inputs and returns probabilities, targets and the valid-pixel mask,
    all with a trailing class axis. ``activation`` is "sigmoid", "softmax" or None
    (the predictions are used as they are)."""
    checks.check_option(fn, "mode", mode, MODES)
    x, y = jnp.asarray(predictions), jnp.asarray(targets)
    checks.check_floating(fn, output_name, x)
    checks.check_numeric(fn, "targets", y)
    labels = _targets_fit(fn, output_name, x, y, mode)
    (x,) = upcast(x)
    multiclass = mode == "multiclass"
    where = mask = mask_of(fn, where, x.shape[:-1] if multiclass else x.shape)
    invalid = None
    if labels:
        ok = (y >= 0) & (y < x.shape[-1]) if multiclass else (y == 0) | (y == 1)
        mask = y != ignore_index if mask is None else mask & (y != ignore_index)
        checks.require(fn, "targets", ok | ~mask, y, _label_rule(mode, x.shape[-1], ignore_index))
        invalid = jnp.any(mask & ~ok, axis=tuple(range(1, y.ndim)))
        if multiclass:
            y = jnp.where(ok & mask, y, -1)
    # from here on every array has a class axis: K classes, or 1 (binary; per-pixel masks)
    if mode == "binary":
        x, y = x[..., None], y[..., None]
    if mode != "multilabel":
        mask, where = (None if m is None else m[..., None] for m in (mask, where))
    # only ``where`` promises that masked inputs may hold NaN; the logits of ignored
    # labels are not rewritten (as in cross_entropy)
    probs = _masked_activation(fill_masked(where, x, 0.0), mask, activation)
    if multiclass and labels:
        return _Pixels(probs, None, y, mask, invalid)
    return _Pixels(probs, fill_masked(mask, y.astype(x.dtype), 0.0), None, mask, invalid)


def _masked_activation(x: Array, mask: Array | None, activation: str | None) -> Array:
    """Probabilities that are 0 at void pixels (``mask`` broadcasts to ``x``)."""
    if activation == "softmax":
        # the mask joins softmax's normalisation instead of a separate product,
        # which XLA:CPU would compute as a slow broadcast over the class axis
        e = jnp.exp(x - jax.lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True)))
        scale = 1.0 / jnp.sum(e, axis=-1, keepdims=True)
        return e * (scale if mask is None else jnp.where(mask, scale, 0.0))
    if activation == "sigmoid":
        x = jax.nn.sigmoid(x)
    return x if mask is None else x * mask


def _label_rule(mode: str, classes: int, ignore_index: int) -> str:
    values = f"a class in [0, {classes})" if mode == "multiclass" else "0 or 1"
    return f"{values} or ignore_index ({ignore_index})"


def _activation(fn: str, mode: str, from_logits: bool) -> str | None:
    checks.check_bool_option(fn, "from_logits", from_logits)
    if not from_logits:
        return None
    return "softmax" if mode == "multiclass" else "sigmoid"


def _sums(
    px: _Pixels, *, per_sample: bool, squared: bool, axis_name: AxisName
) -> tuple[Array, Array, Array]:
    """(I, P, T) per image and class ``[B, K]``, or per class over the batch ``[K]``."""
    p, t = px.probs, px.targets
    # XLA:CPU reduces [B, ..., 1] about 4x slower than [B, ...]: binary sums drop it
    single = p.shape[-1] == 1 and px.labels is None
    if single:
        p, t = p[..., 0], t[..., 0]
    axes = tuple(range(1, p.ndim - (0 if single else 1)))
    p_sum = jnp.sum(p * p if squared else p, axes)
    if px.labels is None:
        inter, t_sum = jnp.sum(p * t, axes), jnp.sum(t * t if squared else t, axes)
    else:  # one-hot targets: t^2 = t
        inter, t_sum = _label_sums(p, px.labels)
    if single:
        inter, p_sum, t_sum = inter[:, None], p_sum[:, None], t_sum[:, None]
    if per_sample:
        return inter, p_sum, t_sum
    return psum((jnp.sum(inter, 0), jnp.sum(p_sum, 0), jnp.sum(t_sum, 0)), axis_name)


def _label_sums(probs: Array, labels: Array) -> tuple[Array, Array]:
    """I and T ``[B, K]`` for class indices (-1 for void), without a one-hot.

    I gathers each pixel's probability of its own class and T counts the labels,
    both binned by (image, class); on XLA:CPU this is about 3x faster, value and
    gradient, than summing probabilities times a one-hot made from the labels.
    """
    batch, classes = probs.shape[0], probs.shape[-1]
    valid = labels >= 0
    index = jnp.where(valid, labels, 0)
    picked = jnp.take_along_axis(probs, index[..., None], axis=-1)[..., 0]
    image = jnp.arange(batch).reshape((batch,) + (1,) * (labels.ndim - 1))
    bins = (image * classes + index).ravel()
    inter = jax.ops.segment_sum(picked.ravel(), bins, batch * classes)
    t_sum = jax.ops.segment_sum(valid.ravel().astype(probs.dtype), bins, batch * classes)
    return inter.reshape(batch, classes), t_sum.reshape(batch, classes)


def _dense_targets(px: _Pixels) -> Array:
    """Targets ``[B, ..., K]``, one-hot for class indices (void pixels all zero)."""
    if px.labels is None:
        return px.targets
    return (px.labels[..., None] == jnp.arange(px.probs.shape[-1])).astype(px.probs.dtype)


def _tversky_index(inter, p_sum, t_sum, alpha, beta, smooth):
    fp, fn = p_sum - inter, t_sum - inter
    return score_ratio(inter + smooth, inter + alpha * fp + beta * fn + smooth)


def _dice_score(inter, p_sum, t_sum, smooth):
    return score_ratio(2.0 * inter + smooth, p_sum + t_sum + smooth)


# ------------------------------------------------------------------ classes and images


def _class_weights(fn: str, class_weights: Array | None, classes: int) -> Array | None:
    if class_weights is None:
        return None
    w = jnp.asarray(class_weights)
    checks.check_numeric(fn, "class_weights", w)
    if w.shape != (classes,):
        checks.fail(fn, f"class_weights must have shape ({classes},), one per class; got {w.shape}")
    return w


def _foreground(fn: str, mode: str, include_background: bool, classes: int) -> slice:
    """The classes that count: all, or all but class 0 (the background)."""
    checks.check_bool_option(fn, "include_background", include_background)
    if include_background:
        return slice(None)
    if mode == "binary" or classes < 2:
        checks.fail(
            fn,
            "include_background=False needs a class axis with at least 2 classes "
            f"(mode 'multiclass' or 'multilabel'); got mode={mode!r} with {classes} class(es)",
        )
    return slice(1, None)


def _per_image(
    fn: str,
    loss: Array,
    px: _Pixels,
    *,
    per_sample: bool,
    weight: Array | None,
    reduction: str,
    axis_name: AxisName,
    counts: Array | None = None,
) -> Array:
    """Reduces per-image losses ``[B]``; images with nothing to count (no valid
    pixel, or ``counts`` False) are left out of the mean."""
    checks.check_bool_option(fn, "per_sample", per_sample)
    if px.invalid is not None:  # a bad label poisons its image (or the global loss)
        bad = px.invalid if per_sample else psum(jnp.sum(px.invalid), axis_name) > 0
        loss = jnp.where(bad, jnp.nan, loss)
    if not per_sample:
        checks.check_reduction(fn, reduction)
        if weight is not None:
            checks.fail(
                fn,
                "weight rescales per-image losses, but per_sample=False gives one global "
                "loss; use class_weights, or per_sample=True",
            )
        return loss
    if counts is None and px.mask is not None:
        counts = jnp.any(px.mask, axis=tuple(range(1, px.mask.ndim)))
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=counts, axis_name=axis_name
    )


def _overlap_loss(
    fn: str,
    predictions: Array,
    targets: Array,
    score: Callable[[Array, Array, Array, Array | None], Array],
    *,
    mode: str,
    from_logits: bool,
    squared: bool,
    class_weights: Array | None,
    include_background: bool,
    per_sample: bool,
    ignore_index: int,
    weight: Array | None,
    where: Array | None,
    reduction: str,
    axis_name: AxisName,
) -> Array:
    """The driver every overlap loss shares: pixels, sums, class selection, images.

    ``score(I, P, T, class_w)`` maps the foreground classes' sums ``[..., K']``
    to the loss per image ``[...]``.
    """
    checks.check_reduction(fn, reduction)
    checks.check_bool_option(fn, "squared", squared)
    activation = _activation(fn, mode, from_logits)
    px = _pixels(
        fn,
        predictions,
        targets,
        mode=mode,
        activation=activation,
        where=where,
        ignore_index=ignore_index,
    )
    if activation is None:
        p = px.probs
        checks.require(fn, "predictions", (p >= 0) & (p <= 1), p, "probabilities in [0, 1]")
    classes = px.probs.shape[-1]
    keep = _foreground(fn, mode, include_background, classes)
    class_w = _class_weights(fn, class_weights, classes)
    stats = _sums(px, per_sample=per_sample, squared=squared, axis_name=axis_name)
    loss = score(*(s[..., keep] for s in stats), None if class_w is None else class_w[keep])
    return _per_image(
        fn,
        loss,
        px,
        per_sample=per_sample,
        weight=weight,
        reduction=reduction,
        axis_name=axis_name,
    )


def _class_mean(loss: Array, class_w: Array | None) -> Array:
    """Mean over the class axis of the (class-weighted) loss, as MONAI and optax do."""
    return jnp.mean(loss if class_w is None else loss * class_w, axis=-1)


def _check_smooth(fn: str, smooth: float) -> None:
    checks.check_range(fn, "smooth", smooth, low=0.0)


# ------------------------------------------------------------------ overlap losses

_OVERLAP_ARGS = """
    Args:
      predictions: logits (``from_logits=True``) or probabilities; ``[B, ...]``
        in binary mode, ``[B, ..., C]`` otherwise.
      targets: ``[B, ...]`` in binary mode; integer classes ``[B, ...]`` or float
        ``[B, ..., C]`` in multi-class mode; ``[B, ..., C]`` in multi-label mode.
        Soft targets in [0, 1] are allowed.
      from_logits: apply sigmoid (binary, multi-label) or softmax (multi-class).
      mode: ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
      smooth: added to numerator and denominator; keeps empty images finite.
      squared: use sums of squares in the denominator (V-Net).
      class_weights: ``[C]``, multiplies each class's loss before the class mean.
      include_background: False drops class 0 (multi-class, multi-label).
      per_sample: statistics per image then averaged over images (True), or one
        statistic over the whole batch (False).
      ignore_index: integer targets equal to it are void pixels.
      weight: ``[B]``, rescales each image's loss (``per_sample=True`` only).
      where: boolean valid-pixel mask (see the module docstring for its shape).
      reduction: ``"mean"`` over images with a valid pixel, ``"sum"``, or
        ``"none"`` for the per-image losses ``[B]``.
      axis_name: mapped axis for the batch mean, or for the global sums when
        ``per_sample=False``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"`` with ``per_sample=True``.
"""


_SHARED = (
    "mode",
    "from_logits",
    "squared",
    "class_weights",
    "include_background",
    "per_sample",
    "ignore_index",
    "weight",
    "where",
    "reduction",
    "axis_name",
)


def _overlap(definition: Callable[..., Callable]) -> Callable[..., Array]:
    """Makes an overlap loss from its definition, which checks its own
    hyperparameters and returns its score function; the options every overlap
    loss shares go to :func:`_overlap_loss`. The definition's signature, return
    annotation and docstring (``{args}`` filled in) are the public loss's."""
    signature = inspect.signature(definition)

    @functools.wraps(definition)
    def loss(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        options = bound.arguments
        score = definition(**options)
        shared = {name: options[name] for name in _SHARED}
        return _overlap_loss(
            definition.__name__, options["predictions"], options["targets"], score, **shared
        )

    loss.__doc__ = definition.__doc__.replace("    {args}\n", _OVERLAP_ARGS)
    return loss


@_overlap
def dice_loss(
    predictions: Array,
    targets: Array,
    *,
    from_logits: bool = True,
    mode: str = "binary",
    smooth: float = 1e-5,
    squared: bool = False,
    class_weights: Array | None = None,
    include_background: bool = True,
    per_sample: bool = True,
    ignore_index: int = -100,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Soft Dice loss: one minus the soft overlap of prediction and target.

    .. math:: \ell_c = 1 - \frac{2 I_c + s}{P_c + T_c + s}

    averaged over classes, then over images.
    {args}
    Matches MONAI ``DiceLoss`` (``smooth_nr = smooth_dr = smooth``) and optax
    ``dice_loss`` (whose ``smooth`` enters its Tversky form, equal for the default
    alpha = beta = 0.5 up to the smoothing scale), averaged over images. An empty
    target predicted empty scores 0; with ``smooth=0`` it is taken as a perfect
    match rather than 0 / 0.
    References: Milletari et al. (2016), "V-Net"; seed 000.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[0.9, 0.1, 0.8, 0.0]])
      >>> t = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> round(float(jaxloss.dice_loss(p, t, from_logits=False, smooth=0.0)), 4)
      0.1053
    """

    def score(inter, p_sum, t_sum, class_w):
        return _class_mean(1.0 - _dice_score(inter, p_sum, t_sum, smooth), class_w)

    fn = "dice_loss"
    _check_smooth(fn, smooth)
    return score


def _check_tversky(fn: str, alpha: float, beta: float, smooth: float) -> None:
    checks.check_range(fn, "alpha", alpha, low=0.0)
    checks.check_range(fn, "beta", beta, low=0.0)
    _check_smooth(fn, smooth)


@_overlap
def tversky_loss(
    predictions: Array,
    targets: Array,
    *,
    alpha: float = 0.3,
    beta: float = 0.7,
    from_logits: bool = True,
    mode: str = "binary",
    smooth: float = 1e-5,
    squared: bool = False,
    class_weights: Array | None = None,
    include_background: bool = True,
    per_sample: bool = True,
    ignore_index: int = -100,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Tversky loss: Dice with separate prices for false positives and negatives.

    .. math::
        \mathrm{TI}_c = \frac{I_c + s}{I_c + \alpha\,\mathrm{FP}_c + \beta\,\mathrm{FN}_c + s},
        \qquad \ell_c = 1 - \mathrm{TI}_c

    with FP = P - I and FN = T - I. ``alpha`` (>= 0) prices false positives and
    ``beta`` (>= 0) false negatives: beta > alpha favours recall, as seed 000 uses
    it for rare flooded pixels; alpha = beta = 0.5 is Dice, alpha = beta = 1 is
    Jaccard (up to the smoothing).
    {args}
    Matches MONAI ``TverskyLoss`` and optax ``dice_loss(alpha=, beta=)``.
    References: Salehi et al. (2017), "Tversky loss function for image segmentation".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[1.0, 1.0, 0.0, 0.0]])  # TP 1, FP 1, FN 1
      >>> t = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> round(float(jaxloss.tversky_loss(p, t, from_logits=False, smooth=0.0)), 4)
      0.5
    """
    fn = "tversky_loss"
    _check_tversky(fn, alpha, beta, smooth)

    def score(inter, p_sum, t_sum, class_w):
        return _class_mean(1.0 - _tversky_index(inter, p_sum, t_sum, alpha, beta, smooth), class_w)

    return score


@_overlap
def focal_tversky_loss(
    predictions: Array,
    targets: Array,
    *,
    alpha: float = 0.3,
    beta: float = 0.7,
    gamma: float = 0.75,
    from_logits: bool = True,
    mode: str = "binary",
    smooth: float = 1e-5,
    squared: bool = False,
    class_weights: Array | None = None,
    include_background: bool = True,
    per_sample: bool = True,
    ignore_index: int = -100,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Focal Tversky loss: the Tversky loss raised to a power.

    .. math:: \ell_c = (1 - \mathrm{TI}_c)^{\gamma}

    ``gamma`` > 0; below 1 it sharpens the loss on images that are already
    nearly right. The gradient at a perfect score (TI = 1) is taken as 0 for
    gamma < 1, where the exact derivative is infinite.
    {args}
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
    _check_tversky(fn, alpha, beta, smooth)
    checks.check_range(fn, "gamma", gamma, low=0.0, low_open=True)

    def score(inter, p_sum, t_sum, class_w):
        index = _tversky_index(inter, p_sum, t_sum, alpha, beta, smooth)
        # rounding can push the index a hair above 1
        return _class_mean(power(jnp.maximum(1.0 - index, 0.0), gamma), class_w)

    return score


@_overlap
def jaccard_loss(
    predictions: Array,
    targets: Array,
    *,
    from_logits: bool = True,
    mode: str = "binary",
    smooth: float = 1e-5,
    squared: bool = False,
    class_weights: Array | None = None,
    include_background: bool = True,
    per_sample: bool = True,
    ignore_index: int = -100,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Soft Jaccard (IoU) loss.

    .. math:: \ell_c = 1 - \frac{I_c + s}{P_c + T_c - I_c + s}
    {args}
    Matches segmentation_models_pytorch ``JaccardLoss`` (its ``smooth`` in
    numerator and denominator), averaged per image here when ``per_sample``.
    References: Rahman & Wang (2016), "Optimizing intersection-over-union in deep
    neural networks for image segmentation".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p = jnp.array([[1.0, 1.0, 0.0, 0.0]])
      >>> t = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> round(float(jaxloss.jaccard_loss(p, t, from_logits=False, smooth=0.0)), 4)
      0.6667
    """

    def score(inter, p_sum, t_sum, class_w):
        iou = score_ratio(inter + smooth, p_sum + t_sum - inter + smooth)
        return _class_mean(1.0 - iou, class_w)

    fn = "jaccard_loss"
    _check_smooth(fn, smooth)
    return score


@_overlap
def generalized_dice_loss(
    predictions: Array,
    targets: Array,
    *,
    from_logits: bool = True,
    mode: str = "multiclass",
    smooth: float = 1e-5,
    squared: bool = False,
    class_weights: Array | None = None,
    include_background: bool = True,
    per_sample: bool = True,
    ignore_index: int = -100,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Generalized Dice loss: Dice pooled over classes with inverse-square class weights.

    .. math::
        w_c = \frac{1}{T_c^2}, \qquad
        \ell = 1 - \frac{2\sum_c w_c I_c + s}{\sum_c w_c (P_c + T_c) + s}

    A class absent from the image (T_c = 0) gets the largest finite weight of the
    image instead of infinity (MONAI's rule); with every class absent the loss is
    0 when nothing is predicted. ``class_weights`` multiply the w_c. The weights
    come from the targets and carry no gradient.
    {args}
    Matches MONAI ``GeneralizedDiceLoss`` (``w_type="square"``, ``batch=not
    per_sample``, ``smooth_nr = smooth_dr = smooth``).
    References: Sudre et al. (2017), "Generalised Dice overlap as a deep learning
    loss function for highly unbalanced segmentations".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((1, 4, 3))
      >>> labels = jnp.array([[0, 1, 2, 2]])
      >>> round(float(jaxloss.generalized_dice_loss(logits, labels)), 4)
      0.697
    """

    def score(inter, p_sum, t_sum, class_w):
        w = jax.lax.stop_gradient(_inverse_square_weights(t_sum))
        if class_w is not None:
            w = w * class_w
        num = 2.0 * jnp.sum(w * inter, axis=-1) + smooth
        den = jnp.sum(w * (p_sum + t_sum), axis=-1) + smooth
        return 1.0 - score_ratio(num, den)

    fn = "generalized_dice_loss"
    _check_smooth(fn, smooth)
    return score


def _inverse_square_weights(t_sum: Array) -> Array:
    absent = t_sum == 0
    w = jnp.where(absent, 0.0, 1.0 / jnp.where(absent, 1.0, jnp.square(t_sum)))
    return jnp.where(absent, jnp.max(w, axis=-1, keepdims=True), w)


# ------------------------------------------------------------------ Lovász


def _lovasz_rows(
    errors: Array, targets: Array, mask: Array | None, per_sample: bool, axis_name: AxisName
) -> Array:
    """The Lovász extension of the Jaccard loss for each image and class ``[R, K]``.

    Errors are sorted in decreasing order per image and class; the weight of the
    i-th error is the growth of the Jaccard loss when the i-th pixel joins the
    prediction. Void pixels sort last with error 0 and label 0, so they change
    neither the weights of valid pixels nor the sum.
    """
    batch, classes = errors.shape[0], errors.shape[-1]
    rows = batch if per_sample else 1
    valid = jnp.broadcast_to(True if mask is None else mask, errors.shape)
    labels = jnp.broadcast_to(targets, errors.shape)  # 0 at void pixels

    def to_rows(a):  # [B, ..., K] -> [R, K, N]
        return jnp.moveaxis(a.reshape(rows, -1, classes), -1, 1)

    key, err, gt = (to_rows(a) for a in (-jnp.where(valid, errors, -jnp.inf), errors, labels))
    err = jnp.where(jnp.isinf(key), 0.0, err)
    if axis_name is not None and not per_sample:
        key, err, gt = (gather_invariant(a, axis_name, axis=-1) for a in (key, err, gt))
    _, err, gt = jax.lax.sort((key, err, gt), dimension=2, num_keys=1)
    total = jnp.sum(gt, axis=-1, keepdims=True)
    covered = jnp.cumsum(gt, axis=-1)
    jaccard = 1.0 - (total - covered) / (total + jnp.cumsum(1.0 - gt, axis=-1))
    grad = jnp.diff(jaccard, axis=-1, prepend=0.0)
    return jnp.sum(err * jax.lax.stop_gradient(grad), axis=-1)


def lovasz_hinge_loss(
    logits: Array,
    targets: Array,
    *,
    per_sample: bool = True,
    ignore_index: int = -100,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Lovász hinge loss: a convex surrogate of the binary Jaccard loss.

    .. math::
        e_i = \max(0, 1 - x_i (2 y_i - 1)), \qquad
        \ell = \sum_i e_{\pi(i)}\, g_i(y_\pi)

    with :math:`\pi` sorting the hinge errors in decreasing order and
    :math:`g(y_\pi)` the discrete gradient of the Jaccard loss along that order.

    Args:
      logits: ``[B, ...]`` scores (the margin is on logits, not probabilities).
      targets: ``[B, ...]`` in {0, 1} (integer targets equal to ``ignore_index``
        are void).
      per_sample: one loss per image, averaged (smp's ``per_image=True``), or one
        over the whole batch.
      weight: ``[B]``, rescales each image's loss.
      where: boolean valid-pixel mask broadcastable to ``targets``.
      reduction, axis_name: as everywhere; with ``per_sample=False`` and
        ``axis_name`` the errors are gathered from every device for one global sort.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches segmentation_models_pytorch ``LovaszLoss(mode="binary")`` and Berman's
    reference ``lovasz_hinge``. Cost: a sort of each image's pixels.
    References: Berman et al. (2018), "The Lovász-Softmax loss".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[2.0, -2.0, 0.5, -0.5]])
      >>> targets = jnp.array([[1.0, 0.0, 0.0, 1.0]])
      >>> round(float(jaxloss.lovasz_hinge_loss(logits, targets)), 4)
      1.0
    """
    fn = "lovasz_hinge_loss"
    px = _pixels(
        fn,
        logits,
        targets,
        mode="binary",
        activation=None,
        where=where,
        ignore_index=ignore_index,
        output_name="logits",
    )
    errors = jax.nn.relu(1.0 - px.probs * (2.0 * px.targets - 1.0))
    loss = _lovasz_rows(errors, px.targets, px.mask, per_sample, axis_name)[:, 0]
    if not per_sample:
        loss = loss[0]
    return _per_image(
        fn,
        loss,
        px,
        per_sample=per_sample,
        weight=weight,
        reduction=reduction,
        axis_name=axis_name,
    )


def lovasz_softmax_loss(
    predictions: Array,
    targets: Array,
    *,
    from_logits: bool = True,
    class_weights: Array | None = None,
    include_background: bool = True,
    per_sample: bool = True,
    ignore_index: int = -100,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Lovász-softmax loss: a convex surrogate of the multi-class Jaccard loss.

    .. math::
        e_{ic} = |t_{ic} - p_{ic}|, \qquad
        \ell = \frac{1}{|\mathcal{C}|}\sum_{c \in \mathcal{C}} \sum_i e_{\pi_c(i) c}\,
        g_i(t_{\pi_c, c})

    over the classes :math:`\mathcal{C}` present in the image's valid pixels
    (``classes="present"``), each with its errors sorted in decreasing order.

    Args:
      predictions: ``[B, ..., C]`` logits (``from_logits=True``) or probabilities.
      targets: integer classes ``[B, ...]`` or one-hot/soft ``[B, ..., C]``.
      class_weights: ``[C]``, multiplies each class's loss before the mean.
      include_background: False leaves class 0 out.
      per_sample: one loss per image, averaged, or one over the whole batch.
      weight: ``[B]``, rescales each image's loss.
      where: boolean valid-pixel mask (``[B, ...]``).
      reduction, axis_name: as everywhere; images with no present class are left
        out of the mean. With ``per_sample=False`` and ``axis_name`` the errors are
        gathered from every device for one global sort.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches segmentation_models_pytorch ``LovaszLoss(mode="multiclass")`` and
    Berman's reference ``lovasz_softmax(classes="present")``.
    References: Berman et al. (2018), "The Lovász-Softmax loss".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> probs = jnp.array([[[0.8, 0.2], [0.3, 0.7]]])
      >>> labels = jnp.array([[0, 1]])
      >>> loss = jaxloss.lovasz_softmax_loss(probs, labels, from_logits=False)
      >>> round(float(loss), 4)
      0.275
    """
    fn = "lovasz_softmax_loss"
    activation = _activation(fn, "multiclass", from_logits)
    px = _pixels(
        fn,
        predictions,
        targets,
        mode="multiclass",
        activation=activation,
        where=where,
        ignore_index=ignore_index,
    )
    classes = px.probs.shape[-1]
    keep = _foreground(fn, "multiclass", include_background, classes)
    class_w = _class_weights(fn, class_weights, classes)
    t = _dense_targets(px)
    per_class = _lovasz_rows(jnp.abs(t - px.probs), t, px.mask, per_sample, axis_name)
    present = jnp.sum(t, axis=tuple(range(1, t.ndim - 1)))
    if not per_sample:
        present = psum(jnp.sum(present, axis=0), axis_name)[None]
    present = (present > 0)[..., keep]
    per_class = per_class[..., keep] * (1.0 if class_w is None else class_w[keep])
    count = jnp.sum(present, axis=-1)
    loss = jnp.sum(jnp.where(present, per_class, 0.0), axis=-1) / jnp.maximum(count, 1)
    if not per_sample:
        loss = loss[0]
    return _per_image(
        fn,
        loss,
        px,
        per_sample=per_sample,
        weight=weight,
        reduction=reduction,
        axis_name=axis_name,
        counts=count > 0,
    )


# ------------------------------------------------------------------ seed 000's combined losses


def _seed_terms(fn: str, logits: Array, targets: Array, where: Array | None, smooth, axis_name):
    """Seed 000's shared pieces: masked inputs, the valid-pixel count n (+ smooth),
    the number of images, and the per-image soft sums over valid pixels."""
    checks.check_rank(fn, "logits", jnp.asarray(logits), set(range(1, 33)))
    x, t, mask = prepare_pair(fn, "logits", logits, targets, where)
    m = jnp.ones_like(x) if mask is None else mask.astype(x.dtype)
    n = psum(jnp.sum(m), axis_name) + smooth
    images = psum(jnp.asarray(x.shape[0], x.dtype), axis_name)
    px = _Pixels((jax.nn.sigmoid(x) * m)[..., None], (t * m)[..., None], None, None, None)
    stats = _sums(px, per_sample=True, squared=False, axis_name=None)
    return x, t, m, n, images, tuple(s[:, 0] for s in stats)


def _pixel_share(pixel_loss: Array, m: Array, n: Array, images: Array) -> Array:
    """Each image's part of the seed's masked pixel mean sum(loss * m) / n, scaled
    by the number of images so that the mean over images is that pixel mean."""
    per_image = jnp.sum(pixel_loss * m, axis=tuple(range(1, m.ndim)))
    return images * per_image / jnp.where(n == 0, 1.0, n)


def bce_dice_loss(
    logits: Array,
    targets: Array,
    *,
    where: Array | None = None,
    smooth: float = 1e-5,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Seed 000's ``BCEDiceLoss``: masked pixel BCE plus the per-image Dice loss.

    .. math::
        \mathcal{L} = \frac{\sum_i m_i\,\mathrm{BCE}(x_i, y_i)}{\sum_i m_i + s}
        + \frac{1}{B}\sum_b \Big(1 - \frac{2 I_b + s}{P_b + T_b + s}\Big)

    with the Dice sums over each image's valid pixels (``p = sigmoid(x)``).

    Args:
      logits: ``[B, ...]`` binary logits.
      targets: ``[B, ...]`` in [0, 1].
      where: the seed's ``valid_mask`` (boolean, broadcastable to ``logits``).
      smooth: the seed's ``smooth``, in the pixel mean's denominator and the Dice.
      reduction: ``"mean"`` is the seed's value. ``"none"`` gives per-image terms
        ``[B]`` whose mean is that value (each image's pixel BCE sum times B / n
        plus its Dice loss); ``"sum"`` is their sum.
      axis_name: the valid-pixel count and the number of images are global.

    Exactly the seed's definition, including its treatment of void pixels: they
    leave the BCE sum and its count and every Dice sum, but an image whose pixels
    are all void still counts in the batch mean (with Dice loss 0), so masking an
    image out is not the same as dropping it. Void pixels may hold NaN.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[3.0, -3.0, 3.0, -3.0]])
      >>> targets = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> round(float(jaxloss.bce_dice_loss(logits, targets)), 4)
      0.096
    """
    fn = "bce_dice_loss"
    _check_smooth(fn, smooth)
    x, t, m, n, images, (inter, p_sum, t_sum) = _seed_terms(
        fn, logits, targets, where, smooth, axis_name
    )
    bce = binary_cross_entropy_with_logits(x, t, reduction="none")
    loss = _pixel_share(bce, m, n, images) + 1.0 - _dice_score(inter, p_sum, t_sum, smooth)
    return reduce_loss(loss, fn=fn, reduction=reduction, axis_name=axis_name)


def focal_and_tversky_loss(
    logits: Array,
    targets: Array,
    *,
    where: Array | None = None,
    focal_alpha: float = 0.25,
    focal_gamma: float = 2.0,
    tversky_alpha: float = 0.3,
    tversky_beta: float = 0.7,
    smooth: float = 1e-5,
    tversky_weight: float = 1.0,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Seed 000's ``FocalTverskyLoss``: masked pixel focal loss plus the Tversky loss.

    .. math::
        \mathcal{L} = \frac{\sum_i m_i\,\alpha_t (1 - p_t)^{\gamma}\,\mathrm{BCE}_i}
                           {\sum_i m_i + s}
        + \lambda\,\frac{1}{B}\sum_b \Big(1 - \frac{I_b + s}
            {I_b + \alpha_T \mathrm{FP}_b + \beta_T \mathrm{FN}_b + s}\Big)

    with :math:`p_t = e^{-\mathrm{BCE}_i}`, :math:`\alpha_t = \alpha y + (1 - \alpha)(1 - y)`
    and the Tversky sums over each image's valid pixels. Seed 000 uses it for
    flood mapping with about 1% positive pixels: the focal term finds the rare
    hard pixels, the Tversky term (beta > alpha) pays for recall.

    Args:
      logits: ``[B, ...]`` binary logits.
      targets: ``[B, ...]`` in [0, 1].
      where: the seed's ``valid_mask`` (boolean, broadcastable to ``logits``).
      focal_alpha, focal_gamma: the focal term's class balance and focusing.
      tversky_alpha, tversky_beta: prices of false positives and false negatives.
      smooth: in the pixel mean's denominator and the Tversky index.
      tversky_weight: :math:`\lambda`.
      reduction: ``"mean"`` is the seed's value; ``"none"`` gives per-image terms
        ``[B]`` whose mean is that value; ``"sum"`` is their sum.
      axis_name: the valid-pixel count and the number of images are global.

    Exactly the seed's definition, void pixels included (see :func:`bce_dice_loss`);
    ``1 - p_t`` is computed as ``-expm1(-BCE)``, which equals the seed's to rounding.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.array([[3.0, -3.0, 3.0, -3.0]])
      >>> targets = jnp.array([[1.0, 0.0, 1.0, 0.0]])
      >>> round(float(jaxloss.focal_and_tversky_loss(logits, targets)), 4)
      0.0475
    """
    fn = "focal_and_tversky_loss"
    _check_tversky(fn, tversky_alpha, tversky_beta, smooth)
    checks.check_range(fn, "focal_gamma", focal_gamma, low=0.0)
    x, t, m, n, images, (inter, p_sum, t_sum) = _seed_terms(
        fn, logits, targets, where, smooth, axis_name
    )
    bce = binary_cross_entropy_with_logits(x, t, reduction="none")
    alpha_t = focal_alpha * t + (1.0 - focal_alpha) * (1.0 - t)
    focal = alpha_t * power(-jnp.expm1(-bce), focal_gamma) * bce
    index = _tversky_index(inter, p_sum, t_sum, tversky_alpha, tversky_beta, smooth)
    loss = _pixel_share(focal, m, n, images) + tversky_weight * (1.0 - index)
    return reduce_loss(loss, fn=fn, reduction=reduction, axis_name=axis_name)


# ------------------------------------------------------------------ registry entries


def _segmentation_example(
    key: Array,
    batch: int,
    extreme: bool = False,
    *,
    layout: str = "binary",
    ignore: bool = False,
    **kwargs,
):
    """Binary ``[batch, 16, 16]`` logits with ~10% positive pixels, or ``[batch, 8, 8, 4]``
    logits with class indices (``layout="multiclass"``; 10% void pixels with
    ``ignore``) or 0/1 targets (``"multilabel"``). Extreme logits are ±1e4, ±30 and
    0, with an image whose target is empty, one whose target and prediction are
    both empty and one whose target is full."""
    kx, kt, ki = jax.random.split(key, 3)
    shape = (batch, 16, 16) if layout == "binary" else (batch, 8, 8, 4)
    if extreme:
        x = jnp.resize(jnp.array([1e4, -1e4, 30.0, -30.0, 0.0]), shape)
    else:
        x = 3.0 * jax.random.normal(kx, shape)
    if layout == "multiclass":
        y = jax.random.randint(kt, shape[:-1], 0, shape[-1])
        if ignore:  # the first pixel stays valid, so every image counts
            void = jax.random.bernoulli(ki, 0.1, y.shape).at[:, 0, 0].set(False)
            y = jnp.where(void, -100, y)
        if extreme:
            y = y.at[0].set(0).at[1].set(shape[-1] - 1)
        return Example((x, y), kwargs)
    y = jax.random.bernoulli(kt, 0.1 if layout == "binary" else 0.3, shape).astype(jnp.float32)
    if extreme:
        y = y.at[0].set(0.0).at[1].set(0.0).at[2].set(1.0)
        x = x.at[1].set(-1e4)
    return Example((x, y), kwargs)


def _register(fn, example, matches, tasks=(), weight_kind="elementwise", **fields):
    register(
        LossSpec(
            name=fn.__name__,
            fn=fn,
            family="segmentation",
            tasks=("segmentation", *tasks),
            input_kind=next(iter(fn.__annotations__)) + ", targets",
            example=example,
            matches=matches,
            weight_kind=weight_kind,
            where_like=1,
            **fields,
        )
    )


_multiclass = functools.partial(_segmentation_example, layout="multiclass", ignore=True)
_register(dice_loss, _segmentation_example, "MONAI DiceLoss, optax dice_loss", ("imbalance",))
_register(
    tversky_loss,
    functools.partial(_segmentation_example, layout="multilabel", mode="multilabel"),
    "MONAI TverskyLoss, optax dice_loss(alpha, beta)",
    ("imbalance", "recall"),
)
_register(
    focal_tversky_loss,
    functools.partial(_multiclass, mode="multiclass"),
    "Abraham & Khan (2019)",
    ("imbalance", "recall"),
)
_register(
    jaccard_loss,
    functools.partial(_multiclass, mode="multiclass", include_background=False),
    "smp JaccardLoss",
)
_register(generalized_dice_loss, _multiclass, "MONAI GeneralizedDiceLoss", ("imbalance",))
_register(lovasz_hinge_loss, _segmentation_example, "smp LovaszLoss (binary)", ("boundaries",))
_register(lovasz_softmax_loss, _multiclass, "smp LovaszLoss (multiclass)", ("boundaries",))
for _seed_loss in (bce_dice_loss, focal_and_tversky_loss):
    _register(
        _seed_loss,
        _segmentation_example,
        f"seed 000 {'BCEDiceLoss' if _seed_loss is bce_dice_loss else 'FocalTverskyLoss'}",
        ("imbalance",),
        weight_kind="none",
        where_drops_rows=False,
    )
