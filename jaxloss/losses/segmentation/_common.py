"""What every segmentation loss shares: validated pixels, their soft sums I, P, T
(see :mod:`jaxloss.losses.segmentation`), class selection, the reduction over
images, and the driver of the overlap losses."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import score_ratio, upcast
from jaxloss._core.reduce import fill_masked, mask_of, reduce_loss
from jaxloss._core.sharding import psum
from jaxloss._core.types import Array, ArrayLike, AxisName

MODES = ("binary", "multiclass", "multilabel")

# ------------------------------------------------------------------ pixels and sums


class Pixels(NamedTuple):
    """A batch of pixels ready for the sums. Void pixels are already zero in
    ``probs`` and in float ``targets``, and -1 in class indices."""

    probs: Array  # [B, ..., K] probabilities (K = 1 in binary mode), 0 at void pixels
    # [B, ..., K] in [0, 1], 0 at void pixels; with ``indices``, class indices
    # [B, ...] that are -1 at void pixels
    targets: Array
    indices: bool  # ``targets`` holds class indices (multi-class integer targets)
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


def pixels(
    fn: str,
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    mode: str,
    activation: str | None,
    where: ArrayLike | None,
    ignore_index: int,
    output_name: str = "predictions",
) -> Pixels:
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
    valid = mask = mask_of(fn, where, x.shape[:-1] if multiclass else x.shape)
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
        mask, valid = (None if m is None else m[..., None] for m in (mask, valid))
    # only ``where`` promises that masked inputs may hold NaN; the logits of ignored
    # labels are not rewritten (as in cross_entropy)
    probs = _masked_activation(fill_masked(valid, x, 0.0), mask, activation)
    if multiclass and labels:
        return Pixels(probs, y, True, mask, invalid)
    return Pixels(probs, fill_masked(mask, y.astype(x.dtype), 0.0), False, mask, invalid)


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


def activation(fn: str, mode: str, from_logits: bool) -> str | None:
    """The activation that turns ``mode``'s logits into probabilities, or None."""
    checks.check_bool_option(fn, "from_logits", from_logits)
    if not from_logits:
        return None
    return "softmax" if mode == "multiclass" else "sigmoid"


def sums(
    px: Pixels, *, per_sample: bool, squared: bool, axis_name: AxisName
) -> tuple[Array, Array, Array]:
    """(I, P, T) per image and class ``[B, K]``, or per class over the batch ``[K]``."""
    p, t = px.probs, px.targets
    # XLA:CPU reduces [B, ..., 1] about 4x slower than [B, ...]: binary sums drop it
    single = p.shape[-1] == 1 and not px.indices
    if single:
        p, t = p[..., 0], t[..., 0]
    axes = tuple(range(1, p.ndim - (0 if single else 1)))
    p_sum = jnp.sum(p * p if squared else p, axes)
    if px.indices:  # one-hot targets: t^2 = t
        inter, t_sum = _label_sums(p, t)
    else:
        inter, t_sum = jnp.sum(p * t, axes), jnp.sum(t * t if squared else t, axes)
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


def dense_targets(px: Pixels) -> Array:
    """Targets ``[B, ..., K]``, one-hot for class indices (void pixels all zero)."""
    if not px.indices:
        return px.targets
    return (px.targets[..., None] == jnp.arange(px.probs.shape[-1])).astype(px.probs.dtype)


# ------------------------------------------------------------------ scores


def check_smooth(fn: str, smooth: float) -> None:
    checks.check_range(fn, "smooth", smooth, low=0.0)


def check_tversky(fn: str, alpha: float, beta: float, smooth: float) -> None:
    checks.check_range(fn, "alpha", alpha, low=0.0)
    checks.check_range(fn, "beta", beta, low=0.0)
    check_smooth(fn, smooth)


def dice_score(inter: Array, p_sum: Array, t_sum: Array, smooth: float) -> Array:
    return score_ratio(2.0 * inter + smooth, p_sum + t_sum + smooth)


def class_mean(loss: Array, class_w: Array | None) -> Array:
    """Mean over the class axis of the (class-weighted) loss, as MONAI and optax do."""
    return jnp.mean(loss if class_w is None else loss * class_w, axis=-1)


def tversky_index(
    inter: Array, p_sum: Array, t_sum: Array, alpha: float, beta: float, smooth: float
) -> Array:
    fp, fn = p_sum - inter, t_sum - inter
    return score_ratio(inter + smooth, inter + alpha * fp + beta * fn + smooth)


# ------------------------------------------------------------------ classes and images


def foreground(fn: str, mode: str, include_background: bool, classes: int) -> slice:
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


def per_image(
    fn: str,
    loss: Array,
    px: Pixels,
    *,
    per_sample: bool,
    weight: ArrayLike | None,
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


# ------------------------------------------------------------------ the overlap driver

# maps the foreground classes' sums (I, P, T) ``[..., K']`` and their class
# weights ``[K']`` (or None) to the loss per image ``[...]``
Score = Callable[[Array, Array, Array, Array | None], Array]


def overlap_loss(
    fn: str,
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    score: Score,
    mode: str,
    from_logits: bool,
    squared: bool,
    class_weights: ArrayLike | None,
    include_background: bool,
    per_sample: bool,
    ignore_index: int,
    weight: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
) -> Array:
    """The mechanics every overlap loss shares: pixels, sums, class selection,
    then ``score`` and the reduction over images."""
    checks.check_reduction(fn, reduction)
    checks.check_bool_option(fn, "squared", squared)
    act = activation(fn, mode, from_logits)
    px = pixels(
        fn,
        predictions,
        targets,
        mode=mode,
        activation=act,
        where=where,
        ignore_index=ignore_index,
    )
    if act is None:
        p = px.probs
        checks.require(fn, "predictions", (p >= 0) & (p <= 1), p, "probabilities in [0, 1]")
    classes = px.probs.shape[-1]
    keep = foreground(fn, mode, include_background, classes)
    class_w = checks.class_weights(fn, class_weights, classes, name="class_weights")
    inter, p_sum, t_sum = sums(px, per_sample=per_sample, squared=squared, axis_name=axis_name)
    loss = score(
        inter[..., keep],
        p_sum[..., keep],
        t_sum[..., keep],
        None if class_w is None else class_w[keep],
    )
    return per_image(
        fn,
        loss,
        px,
        per_sample=per_sample,
        weight=weight,
        reduction=reduction,
        axis_name=axis_name,
    )
