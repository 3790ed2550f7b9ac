"""Style transfer and image-to-image losses: Gram matrices, style, content and
perceptual losses over feature maps, and total variation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import abs_, upcast
from jaxloss._core.reduce import (
    fill_masked,
    mask_of,
    mean_per_sample,
    prepare_arrays,
    reduce_loss,
    sum_per_sample,
)
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["content_loss", "gram_matrix", "perceptual_loss", "style_loss", "total_variation_loss"]

FeatureMaps = ArrayLike | Sequence[ArrayLike]


def gram_matrix(features: ArrayLike) -> Array:
    r"""Gram matrix of NHWC feature maps: :math:`G_{bcd} = \frac{1}{HW}\sum_{hw} F_{bhwc} F_{bhwd}`.

    Args:
      features: ``[B, H, W, C]`` (channels last, Flax's convention).

    Returns:
      ``[B, C, C]``, float32 or wider.

    References: Gatys et al. (2016), "Image Style Transfer Using Convolutional
    Neural Networks".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.gram_matrix(jnp.ones((1, 2, 2, 2)))[0]
      Array([[1., 1.],
             [1., 1.]], dtype=float32)
    """
    f = jnp.asarray(features)
    checks.check_floating("gram_matrix", "features", f)
    if f.ndim != 4:
        checks.fail(
            "gram_matrix",
            f"features must be NHWC feature maps [B, H, W, C]; got shape {f.shape}",
        )
    (f,) = upcast(f)
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return jnp.einsum("bnc,bnd->bcd", flat, flat) / (h * w)


def _layers(features: FeatureMaps) -> list[ArrayLike]:
    """One feature map or a list (or tuple) of them, as a list."""
    if isinstance(features, list | tuple):
        return list(features)
    return [cast(ArrayLike, features)]


def _layer_weights(fn: str, layer_weights: Sequence[float] | None, n: int) -> list[float]:
    """One weight >= 0 per feature map (a number or a scalar array, traced ones included)."""
    if layer_weights is None:
        return [1.0] * n
    if isinstance(layer_weights, str) or not hasattr(layer_weights, "__len__"):
        checks.fail(
            fn,
            f"layer_weights must be a sequence of numbers, one per feature map; "
            f"got {layer_weights!r}",
            TypeError,
        )
    if len(layer_weights) != n:
        checks.fail(fn, f"layer_weights has {len(layer_weights)} entries for {n} feature maps")
    weights = list(layer_weights)
    for w in weights:
        checks.check_range(fn, "layer_weights", w, low=0.0)
        if jnp.ndim(w) != 0:
            checks.fail(
                fn, f"layer_weights must hold scalars; got an entry of shape {jnp.shape(w)}"
            )
    return weights


def _feature_distance(
    fn: str,
    ours: list[ArrayLike],
    theirs: list[ArrayLike],
    layer_weights: Sequence[float] | None,
    criterion: str,
    where: ArrayLike | None,
) -> Array | float:
    """Per sample, the weighted sum over layers of the mean distance between maps."""
    total: Array | float = 0.0
    for w, a, b in zip(_layer_weights(fn, layer_weights, len(ours)), ours, theirs, strict=True):
        (a, b), _ = prepare_arrays(fn, ("features", "target_features"), (a, b), where, mask_axes=1)
        diff = a - b
        total = total + w * mean_per_sample(abs_(diff) if criterion == "l1" else diff * diff)
    return total


def style_loss(
    features: FeatureMaps,
    style_features: FeatureMaps,
    *,
    layer_weights: Sequence[float] | None = None,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Style loss: squared distance between Gram matrices, summed over layers.

    .. math:: \ell_b = \sum_l w_l \frac{1}{C_l^2}\sum_{cd} (G^l_{bcd} - A^l_{bcd})^2

    Args:
      features, style_features: an NHWC ``[B, H, W, C]`` feature map or a list of
        them (one per layer), of the generated and the style image.
      layer_weights: w_l >= 0, one per layer (default 1).
      weight, where: ``[B]``, one per image.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    References: Gatys et al. (2016), "Image Style Transfer Using Convolutional
    Neural Networks".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> f = jnp.ones((1, 2, 2, 3))
      >>> float(jaxloss.style_loss(f, 2 * f))
      9.0
    """
    fn = "style_loss"
    ours, theirs = _layers(features), _layers(style_features)
    if len(ours) != len(theirs):
        checks.fail(fn, f"{len(ours)} feature maps but {len(theirs)} style feature maps")
    total: Array | float = 0.0
    for w, a, b in zip(_layer_weights(fn, layer_weights, len(ours)), ours, theirs, strict=True):
        (a, b), _ = prepare_arrays(fn, ("features", "style_features"), (a, b), where, mask_axes=1)
        total = total + w * jnp.mean(jnp.square(gram_matrix(a) - gram_matrix(b)), axis=(1, 2))
    return reduce_loss(
        jnp.asarray(total),
        fn=fn,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def content_loss(
    features: FeatureMaps,
    target_features: FeatureMaps,
    *,
    layer_weights: Sequence[float] | None = None,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Content loss: mean squared distance between feature maps, summed over layers.

    .. math:: \ell_b = \sum_l w_l\,\mathrm{mean}\big((F^l_b - P^l_b)^2\big)

    Args:
      features, target_features: a ``[B, ...]`` feature map or a list of them.
      layer_weights: one weight >= 0 per layer (default 1).
      weight, where: ``[B]``, one per image.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    References: Gatys et al. (2016), "Image Style Transfer Using Convolutional
    Neural Networks".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.content_loss(jnp.ones((1, 4)), jnp.zeros((1, 4))))
      1.0
    """
    fn = "content_loss"
    ours, theirs = _layers(features), _layers(target_features)
    if len(ours) != len(theirs):
        checks.fail(fn, f"{len(ours)} feature maps but {len(theirs)} target feature maps")
    return reduce_loss(
        jnp.asarray(_feature_distance(fn, ours, theirs, layer_weights, "mse", where)),
        fn=fn,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def perceptual_loss(
    feature_fn: Callable[[Array], FeatureMaps],
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    layer_weights: Sequence[float] | None = None,
    criterion: str = "mse",
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Perceptual loss: distance between a network's features of the predictions
    and of the targets.

    .. math:: \ell_b = \sum_l w_l\,\mathrm{mean}\,\rho\big(\phi_l(\hat x_b) - \phi_l(x_b)\big)

    Args:
      feature_fn: any function or Flax module (e.g. a pretrained VGG, called as
        ``feature_fn(images)``) returning one feature map or a list of them; it
        must treat images independently (no batch statistics).
      predictions: ``[B, ...]`` generated images.
      targets: ``[B, ...]`` target images, same shape; their features carry no
        gradient.
      layer_weights: one weight >= 0 per feature map (default 1).
      criterion: ``"mse"`` (Johnson et al.) or ``"l1"`` (pix2pixHD).
      weight, where: ``[B]``, one per image; masked images reach ``feature_fn`` as
        zeros, so NaN padding there reaches no gradient.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    The images reach ``feature_fn`` in their own dtype; the distances are computed
    in float32 or wider.
    References: Johnson et al. (2016), "Perceptual Losses for Real-Time Style
    Transfer and Super-Resolution"; Wang et al. (2018), "pix2pixHD".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> features = lambda img: [img, 2 * img]
      >>> float(jaxloss.perceptual_loss(features, jnp.ones((1, 4)), jnp.zeros((1, 4))))
      5.0
    """
    fn = "perceptual_loss"
    checks.check_option(fn, "criterion", criterion, ("mse", "l1"))
    if not callable(feature_fn):
        checks.fail(
            fn,
            f"feature_fn must be a function of the images; got {feature_fn!r} "
            f"({type(feature_fn).__name__})",
            TypeError,
        )
    x, y = jnp.asarray(predictions), jnp.asarray(targets)
    checks.check_floating(fn, "predictions", x)
    checks.check_floating(fn, "targets", y)
    checks.check_same_shape(fn, "predictions", x, "targets", y)
    mask = mask_of(fn, where, x.shape[:1])
    if mask is not None:
        rows = mask.reshape(mask.shape + (1,) * (x.ndim - 1))
        x, y = fill_masked(rows, x, 0.0), fill_masked(rows, y, 0.0)
    ours = _layers(feature_fn(x))
    theirs = [jax.lax.stop_gradient(f) for f in _layers(feature_fn(y))]
    return reduce_loss(
        jnp.asarray(_feature_distance(fn, ours, theirs, layer_weights, criterion, where)),
        fn=fn,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def total_variation_loss(
    images: ArrayLike,
    *,
    squared: bool = False,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Total variation of NHWC images: differences between neighbouring pixels.

    .. math:: \ell_b = \sum_{h,w,c} |x_{b,h+1,w,c} - x_{bhwc}| + |x_{b,h,w+1,c} - x_{bhwc}|

    (squares instead of absolute values with ``squared=True``).

    Args:
      images: ``[B, H, W, C]``.
      squared: squared differences instead of absolute ones.
      weight, where: ``[B]``, one per image.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches ``tf.image.total_variation`` (anisotropic, summed). The gradient of
    :math:`|d|` at :math:`d = 0` is 0.
    References: Rudin, Osher & Fatemi (1992); Johnson et al. (2016).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> img = jnp.array([[[[0.0], [1.0]], [[0.0], [1.0]]]])
      >>> float(jaxloss.total_variation_loss(img))
      2.0
    """
    fn = "total_variation_loss"
    checks.check_bool_option(fn, "squared", squared)
    (x,), _ = prepare_arrays(fn, ("images",), (images,), where, mask_axes=1, rank=4)
    dh, dw = x[:, 1:] - x[:, :-1], x[:, :, 1:] - x[:, :, :-1]

    def cost(d: Array) -> Array:
        return sum_per_sample(d * d if squared else abs_(d))

    return reduce_loss(
        cost(dh) + cost(dw),
        fn=fn,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )
