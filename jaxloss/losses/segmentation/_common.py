"""What every segmentation loss shares: validated pixels, their soft sums I, P, T
(see :mod:`jaxloss.losses.segmentation`), class selection, the reduction over
images, and the driver of the overlap losses."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.backend import by_platform
from jaxloss._core.classes import axis_hint
from jaxloss._core.numerics import abs_, score_ratio, upcast
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
    invalid: Array | None  # [B] bool: the image holds a target that is neither valid nor void


def check_options(fn: str, *, ignore_index: int, axis: int, **switches: bool) -> None:
    """The static options every segmentation loss shares, checked before any use:
    ``ignore_index`` and ``axis`` are integers, ``switches`` are True or False."""
    for name, value in switches.items():
        checks.check_bool_option(fn, name, value)
    checks.check_integer(fn, "ignore_index", ignore_index)
    checks.check_integer(fn, "axis", axis)


def _class_axis(fn: str, mode: str, axis: int, x: Array) -> int:
    """``axis`` as a non-negative index of ``x``'s class axis (-1 in binary mode)."""
    checks.check_integer(fn, "axis", axis)
    if mode == "binary":
        if axis != -1:
            checks.fail(
                fn,
                f"axis={axis} has no meaning in mode='binary', whose predictions have no "
                "class axis; leave axis at -1, or use mode='multiclass' or 'multilabel'",
            )
        return -1
    if not -x.ndim <= axis < max(x.ndim, 1):
        checks.fail(fn, f"axis={axis} is out of range for {x.ndim}-d input of shape {x.shape}")
    return axis % max(x.ndim, 1)


def _targets_fit(fn: str, output_name: str, x: Array, y: Array, mode: str, axis: int) -> bool:
    """Checks the (predictions, targets) shapes fit ``mode`` with the class axis at
    ``axis``; True for integer targets."""
    integer = not jnp.issubdtype(y.dtype, jnp.floating)
    hint = ""
    if mode == "multiclass":
        checks.check_rank(fn, output_name, x, set(range(2, 33)))
        pixel_shape = x.shape[:axis] + x.shape[axis + 1 :]
        if (integer and y.shape == pixel_shape) or (not integer and y.shape == x.shape):
            return integer
        expected = (
            f"integer class indices of shape {pixel_shape} or float (one-hot or soft) "
            f"targets of shape {x.shape}"
        )
        if integer and axis == x.ndim - 1:
            hint = axis_hint(output_name, x.shape, y.shape)
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
        f"mode={mode!r} expects {expected}{hint}",
    )


def pixels(
    fn: str,
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    mode: str,
    activation: str,
    where: ArrayLike | None,
    ignore_index: int,
    axis: int = -1,
    output_name: str = "predictions",
    hard: bool = False,
) -> Pixels:
    """Validates inputs and returns probabilities, targets and the valid-pixel mask,
    all with a trailing class axis.

    ``activation``: "sigmoid" or "softmax" turn logits into probabilities;
    "probs" takes the predictions as probabilities (one outside [0, 1] is NaN);
    "scores" takes them as they are (Lovász hinge). ``axis``: the class axis of
    the predictions (and of float targets, and of a ``where`` of their rank).
    Targets equal to ``ignore_index`` (integer or float) are void; any other
    target outside [0, 1] (``hard``: not 0 or 1) or not a class poisons its image.
    """
    checks.check_option(fn, "mode", mode, MODES)
    checks.check_integer(fn, "ignore_index", ignore_index)
    x, y = jnp.asarray(predictions), jnp.asarray(targets)
    checks.check_floating(fn, output_name, x)
    checks.check_numeric(fn, "targets", y)
    axis = _class_axis(fn, mode, axis, x)
    labels = _targets_fit(fn, output_name, x, y, mode, axis)
    multiclass = mode == "multiclass"
    if mode != "binary" and axis != x.ndim - 1:  # compute with the class axis last
        if where is not None and mode == "multilabel" and jnp.ndim(where) == x.ndim:
            where = jnp.moveaxis(jnp.asarray(where), axis, -1)  # laid out like x
        if y.ndim == x.ndim:  # float (or multi-label) targets are laid out like x
            y = jnp.moveaxis(y, axis, -1)
        x = jnp.moveaxis(x, axis, -1)
    (x,) = upcast(x)
    valid = mask = mask_of(fn, where, x.shape[:-1] if multiclass else x.shape)
    void = y == ignore_index
    if multiclass and not labels:  # a float pixel is void when all its entries are
        void = jnp.all(void, axis=-1)
    mask = ~void if mask is None else mask & ~void
    ok, rule = _target_rule(y, labels, multiclass, hard, x.shape[-1], ignore_index)
    elementwise = mask[..., None] if ok.ndim > mask.ndim else mask
    checks.require(fn, "targets", ok | ~elementwise, y, rule)
    if ok.ndim > mask.ndim:
        ok = jnp.all(ok, axis=-1)
    invalid = jnp.any(mask & ~ok, axis=tuple(range(1, mask.ndim)))
    if multiclass and labels:
        y = jnp.where(ok & mask, y, -1)
    # from here on every array has a class axis: K classes, or 1 (binary; per-pixel masks)
    if mode == "binary":
        x, y = x[..., None], y[..., None]
    if mode != "multilabel":
        mask, valid = (None if m is None else m[..., None] for m in (mask, valid))
    # only ``where`` promises that masked inputs may hold NaN; the predictions at
    # ignored targets are not rewritten (as in cross_entropy)
    probs = _masked_activation(fill_masked(valid, x, 0.0), mask, activation)
    if activation == "probs":
        in_range = (probs >= 0) & (probs <= 1)
        checks.require(fn, output_name, in_range, probs, "probabilities in [0, 1]")
        probs = jnp.where(in_range, probs, jnp.nan)
    if multiclass and labels:
        return Pixels(probs, y, True, mask, invalid)
    return Pixels(probs, fill_masked(mask, y.astype(x.dtype), 0.0), False, mask, invalid)


def _target_rule(
    y: Array, labels: bool, multiclass: bool, hard: bool, classes: int, ignore_index: int
) -> tuple[Array, str]:
    """Where targets are valid (not counting void), and the rule in words."""
    if labels and multiclass:
        ok, values = (y >= 0) & (y < classes), f"a class in [0, {classes})"
    elif labels or hard:
        ok, values = (y == 0) | (y == 1), "0 or 1"
    else:
        ok, values = (y >= 0) & (y <= 1), "in [0, 1]"
    return ok, f"{values} or ignore_index ({ignore_index})"


def _masked_activation(x: Array, mask: Array | None, activation: str) -> Array:
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


def activation(fn: str, mode: str, from_logits: bool) -> str:
    """The activation that turns ``mode``'s predictions into probabilities
    (``"probs"``: they already are)."""
    checks.check_bool_option(fn, "from_logits", from_logits)
    if not from_logits:
        return "probs"
    return "softmax" if mode == "multiclass" else "sigmoid"


def sums(
    px: Pixels,
    *,
    per_sample: bool,
    squared: bool,
    axis_name: AxisName,
    soft_label: bool = False,
) -> tuple[Array, Array, Array]:
    """(I, P, T) per image and class ``[B, K]``, or per class over the batch ``[K]``.

    ``soft_label``: I is MONAI's soft-label intersection (P + T - D) / 2 with
    D = sum m |p - t|, which equals sum m p t for hard targets and keeps Dice
    exact for soft ones. With ``squared`` (or class-index targets, which are hard)
    the product is already exact and is kept.
    """
    p, t = px.probs, px.targets
    # XLA:CPU reduces [B, ..., 1] about 4x slower than [B, ...]: binary sums drop it
    single = p.shape[-1] == 1 and not px.indices
    if single:
        p, t = p[..., 0], t[..., 0]
    axes = tuple(range(1, p.ndim - (0 if single else 1)))
    p_sum = jnp.sum(p * p if squared else p, axes)
    if px.indices:  # one-hot targets: t^2 = t
        inter, t_sum = by_platform(p, t, cpu=label_sums_binned, accelerator=label_sums_one_hot)
    else:
        t_sum = jnp.sum(t * t if squared else t, axes)
        if soft_label and not squared:
            inter = 0.5 * (p_sum + t_sum - jnp.sum(abs_(p - t), axes))
        else:
            inter = jnp.sum(p * t, axes)
    if single:
        inter, p_sum, t_sum = inter[:, None], p_sum[:, None], t_sum[:, None]
    if per_sample:
        return inter, p_sum, t_sum
    return psum((jnp.sum(inter, 0), jnp.sum(p_sum, 0), jnp.sum(t_sum, 0)), axis_name)


def label_sums_binned(probs: Array, labels: Array) -> tuple[Array, Array]:
    """I and T ``[B, K]`` for class indices (-1 for void), without a one-hot.

    I gathers each pixel's probability of its own class and T counts the labels,
    both binned by (image, class); on XLA:CPU this is about 3x faster, value and
    gradient, than summing probabilities times a one-hot made from the labels.
    """
    batch, classes = probs.shape[0], probs.shape[-1]
    valid = labels >= 0
    index = jnp.where(valid, labels, 0)
    picked = jnp.where(valid, jnp.take_along_axis(probs, index[..., None], axis=-1)[..., 0], 0.0)
    image = jnp.arange(batch).reshape((batch,) + (1,) * (labels.ndim - 1))
    bins = (image * classes + index).ravel()
    inter = jax.ops.segment_sum(picked.ravel(), bins, batch * classes)
    t_sum = jax.ops.segment_sum(valid.ravel().astype(probs.dtype), bins, batch * classes)
    return inter.reshape(batch, classes), t_sum.reshape(batch, classes)


def label_sums_one_hot(probs: Array, labels: Array) -> tuple[Array, Array]:
    """The same I and T from a one-hot made on the fly: on accelerators the
    comparison fuses into the reductions, while scatters (``segment_sum``)
    serialise, about 2x slower on a GPU."""
    one_hot = labels[..., None] == jnp.arange(probs.shape[-1])  # void (-1) matches none
    axes = tuple(range(1, probs.ndim - 1))
    inter = jnp.sum(jnp.where(one_hot, probs, 0.0), axes)
    return inter, jnp.sum(one_hot.astype(probs.dtype), axes)


def dense_targets(px: Pixels) -> Array:
    """Targets ``[B, ..., K]``, one-hot for class indices (void pixels all zero)."""
    if not px.indices:
        return px.targets
    return (px.targets[..., None] == jnp.arange(px.probs.shape[-1])).astype(px.probs.dtype)


# ------------------------------------------------------------------ scores


def check_smooth(fn: str, smooth: float) -> None:
    checks.check_range(fn, "smooth", smooth, low=0.0)


def smoothing(
    fn: str, smooth: float, smooth_nr: float | None, smooth_dr: float | None
) -> tuple[float, float]:
    """The numerator and denominator smoothing, each ``smooth`` unless given (MONAI's
    ``smooth_nr`` and ``smooth_dr``); all >= 0."""
    check_smooth(fn, smooth)
    if smooth_nr is not None:
        checks.check_range(fn, "smooth_nr", smooth_nr, low=0.0)
    if smooth_dr is not None:
        checks.check_range(fn, "smooth_dr", smooth_dr, low=0.0)
    return (
        smooth if smooth_nr is None else smooth_nr,
        smooth if smooth_dr is None else smooth_dr,
    )


def check_tversky(
    fn: str, alpha: float, beta: float, smooth: float, names: tuple[str, str] = ("alpha", "beta")
) -> None:
    """Checks the Tversky prices (``names``: the arguments as the caller spells them)."""
    checks.check_range(fn, names[0], alpha, low=0.0)
    checks.check_range(fn, names[1], beta, low=0.0)
    check_smooth(fn, smooth)


def dice_score(
    inter: Array, p_sum: Array, t_sum: Array, smooth: float, smooth_dr: float | None = None
) -> Array:
    """(2 I + s_nr) / (P + T + s_dr), with ``smooth`` as s_nr (and s_dr unless given)."""
    dr = smooth if smooth_dr is None else smooth_dr
    return score_ratio(2.0 * inter + smooth, p_sum + t_sum + dr)


def class_mean(loss: Array, class_w: Array | None) -> Array:
    """Mean over the class axis of the (class-weighted) loss, as MONAI and optax do."""
    return jnp.mean(class_weighted(loss, class_w), axis=-1)


def class_weighted(loss: Array, class_w: Array | None) -> Array:
    """Each class's loss ``[..., K']`` times its class weight."""
    return loss if class_w is None else loss * class_w


def tversky_index(
    inter: Array,
    p_sum: Array,
    t_sum: Array,
    alpha: float,
    beta: float,
    smooth: float,
    smooth_dr: float | None = None,
) -> Array:
    """(I + s_nr) / (I + alpha FP + beta FN + s_dr), ``smooth`` as s_nr (and s_dr unless given)."""
    dr = smooth if smooth_dr is None else smooth_dr
    fp, fn = p_sum - inter, t_sum - inter
    return score_ratio(inter + smooth, inter + alpha * fp + beta * fn + dr)


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
    sample_weights: ArrayLike | None = None,
    counts: Array | None = None,
    per_class: bool = False,
) -> Array:
    """Reduces per-image losses ``[B]`` (``per_class``: ``[B, K]``, reduced over
    images class by class to ``[K]``); images with nothing to count (no valid
    pixel, or ``counts`` False) are left out of the mean, but an image with an
    invalid target is NaN and always counts. ``weight`` and ``sample_weights``
    rescale images (they multiply) and need ``per_sample``."""
    checks.check_bool_option(fn, "per_sample", per_sample)
    if px.invalid is not None:  # a bad target poisons its image (or the global loss)
        bad = px.invalid if per_sample else psum(jnp.sum(px.invalid), axis_name) > 0
        loss = jnp.where(bad[:, None] if per_class and per_sample else bad, jnp.nan, loss)
    if not per_sample:
        checks.check_reduction(fn, reduction)
        for name, given in (("weight", weight), ("sample_weights", sample_weights)):
            if given is not None:
                checks.fail(
                    fn,
                    f"{name} rescales per-image losses, but per_sample=False gives one "
                    "global loss; use class_weights, or per_sample=True",
                )
        return loss
    if counts is None and px.mask is not None:
        counts = jnp.any(px.mask, axis=tuple(range(1, px.mask.ndim)))
    if counts is not None and px.invalid is not None:
        counts = counts | px.invalid

    def reduce(images: Array, how: str, w: ArrayLike | None, s: ArrayLike | None) -> Array:
        return reduce_loss(
            images,
            fn=fn,
            reduction=how,
            weight=w,
            sample_weights=s,
            where=counts,
            axis_name=axis_name,
        )

    if per_class and reduction != "none":  # weigh [B, K] (by [B] or [B, K]), then each class
        loss = reduce(loss, "none", weight, sample_weights)
        return jax.vmap(lambda images: reduce(images, reduction, None, None), in_axes=1)(loss)
    return reduce(loss, reduction, weight, sample_weights)


# ------------------------------------------------------------------ the overlap driver

# maps the foreground classes' sums (I, P, T) ``[..., K']`` and their class
# weights ``[K']`` (or None) to the class-weighted loss per image and class
# ``[..., K']`` (``[..., 1]`` for a loss that pools its classes)
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
    axis: int,
    weight: ArrayLike | None,
    sample_weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
    per_class: bool = False,
    soft_label: bool = False,
) -> Array:
    """The mechanics every overlap loss shares: pixels, sums, class selection,
    then ``score``, the class mean (kept per class with ``per_class``) and the
    reduction over images."""
    checks.check_reduction(fn, reduction)
    check_options(
        fn,
        ignore_index=ignore_index,
        axis=axis,
        from_logits=from_logits,
        squared=squared,
        include_background=include_background,
        per_sample=per_sample,
        per_class=per_class,
        soft_label=soft_label,
    )
    act = activation(fn, mode, from_logits)
    px = pixels(
        fn,
        predictions,
        targets,
        mode=mode,
        activation=act,
        where=where,
        ignore_index=ignore_index,
        axis=axis,
    )
    classes = px.probs.shape[-1]
    keep = foreground(fn, mode, include_background, classes)
    class_w = checks.class_weights_of(fn, class_weights, classes, name="class_weights")
    inter, p_sum, t_sum = sums(
        px, per_sample=per_sample, squared=squared, axis_name=axis_name, soft_label=soft_label
    )
    loss = score(
        inter[..., keep],
        p_sum[..., keep],
        t_sum[..., keep],
        None if class_w is None else class_w[keep],
    )
    if not per_class:
        loss = jnp.mean(loss, axis=-1)
    return per_image(
        fn,
        loss,
        px,
        per_sample=per_sample,
        weight=weight,
        reduction=reduction,
        axis_name=axis_name,
        sample_weights=sample_weights,
        per_class=per_class,
    )
