"""Lovász losses: convex surrogates of the Jaccard loss (Berman et al., 2018)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.sharding import gather_invariant, psum
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.segmentation._common import (
    activation,
    check_options,
    dense_targets,
    foreground,
    per_image,
    pixels,
)

__all__ = ["lovasz_hinge_loss", "lovasz_softmax_loss"]


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
    # the pixels of a row, spelt out: reshape(rows, -1, ...) cannot infer it when B = 0
    count = math.prod(errors.shape[1:-1]) * (1 if per_sample else batch)
    valid = jnp.broadcast_to(True if mask is None else mask, errors.shape)
    labels = jnp.broadcast_to(targets, errors.shape)  # 0 at void pixels

    def to_rows(a):  # [B, ..., K] -> [R, K, N]
        return jnp.moveaxis(a.reshape(rows, count, classes), -1, 1)

    # void pixels sort last by a key of +inf with error 0; an infinite (or NaN)
    # error of a valid pixel stays in the sum
    key = jnp.where(valid, -errors, jnp.inf)
    key, err, gt = (to_rows(a) for a in (key, jnp.where(valid, errors, 0.0), labels))
    if axis_name is not None and not per_sample:
        key, err, gt = (gather_invariant(a, axis_name, axis=-1) for a in (key, err, gt))
    _, err, gt = jax.lax.sort((key, err, gt), dimension=2, num_keys=1)
    total = jnp.sum(gt, axis=-1, keepdims=True)
    covered = jnp.cumsum(gt, axis=-1)
    jaccard = 1.0 - (total - covered) / (total + jnp.cumsum(1.0 - gt, axis=-1))
    grad = jnp.diff(jaccard, axis=-1, prepend=0.0)
    return jnp.sum(err * jax.lax.stop_gradient(grad), axis=-1)


def lovasz_hinge_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    per_sample: bool = True,
    ignore_index: int = -100,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
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
      targets: ``[B, ...]`` in {0, 1}; another value (NaN, a soft 0.5) gives
        NaN for its image (for the loss with ``per_sample=False``).
      per_sample: one loss per image, averaged (smp's ``per_image=True``), or one
        over the whole batch.
      ignore_index: targets equal to it, integer or float, are void pixels.
      weight: ``[B]``, rescales each image's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator. Needs
        ``per_sample=True``; multiplies with ``weight``.
      where: boolean valid-pixel mask aligned with the leading axes of
        ``targets`` (``[B]`` masks whole images).
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
    checks.check_reduction(fn, reduction)
    check_options(fn, ignore_index=ignore_index, axis=-1, per_sample=per_sample)
    px = pixels(
        fn,
        logits,
        targets,
        mode="binary",
        activation="scores",
        where=where,
        ignore_index=ignore_index,
        output_name="logits",
        hard=True,
    )
    errors = jax.nn.relu(1.0 - px.probs * (2.0 * px.targets - 1.0))
    loss = _lovasz_rows(errors, px.targets, px.mask, per_sample, axis_name)[:, 0]
    if not per_sample:
        loss = loss[0]
    return per_image(
        fn,
        loss,
        px,
        per_sample=per_sample,
        weight=weight,
        reduction=reduction,
        axis_name=axis_name,
        sample_weights=sample_weights,
    )


def lovasz_softmax_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    from_logits: bool = True,
    include_background: bool = True,
    per_sample: bool = True,
    ignore_index: int = -100,
    axis: int = -1,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
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
      predictions: ``[B, ..., C]`` logits (``from_logits=True``) or
        probabilities in [0, 1] (another value gives NaN for its image), the
        class axis at ``axis``.
      targets: integer classes ``[B, ...]`` or one-hot/soft ``[B, ..., C]`` in
        [0, 1]; another value, not void, gives NaN for its image (for the loss
        with ``per_sample=False``).
      from_logits: apply softmax to ``predictions``.
      include_background: False leaves class 0 out.
      per_sample: one loss per image, averaged, or one over the whole batch.
      ignore_index: targets equal to it are void pixels (a float target when all
        its entries are).
      axis: the class axis of ``predictions`` and of float targets laid out
        like them; ``axis=1`` takes PyTorch's ``[B, C, H, W]``.
      weight: ``[B]``, rescales each image's loss.
      class_weights: ``[C]``, one weight per class; multiplies each class's loss
        before the mean over the present classes.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator. Needs
        ``per_sample=True``; multiplies with ``weight``.
      where: boolean valid-pixel mask aligned with the leading pixel axes
        ``[B, ...]`` (``[B]`` masks whole images).
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
    checks.check_reduction(fn, reduction)
    check_options(
        fn,
        ignore_index=ignore_index,
        axis=axis,
        from_logits=from_logits,
        include_background=include_background,
        per_sample=per_sample,
    )
    act = activation(fn, "multiclass", from_logits)
    px = pixels(
        fn,
        predictions,
        targets,
        mode="multiclass",
        activation=act,
        where=where,
        ignore_index=ignore_index,
        axis=axis,
    )
    classes = px.probs.shape[-1]
    keep = foreground(fn, "multiclass", include_background, classes)
    class_w = checks.class_weights_of(fn, class_weights, classes, name="class_weights")
    t = dense_targets(px)
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
    return per_image(
        fn,
        loss,
        px,
        per_sample=per_sample,
        weight=weight,
        reduction=reduction,
        axis_name=axis_name,
        sample_weights=sample_weights,
        counts=count > 0,
    )
