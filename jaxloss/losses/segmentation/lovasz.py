"""Lovász losses: convex surrogates of the Jaccard loss (Berman et al., 2018)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.sharding import gather_invariant, psum
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.segmentation._common import (
    activation,
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
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    per_sample: bool = True,
    ignore_index: int = -100,
    weight: ArrayLike | None = None,
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
    px = pixels(
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
    return per_image(
        fn,
        loss,
        px,
        per_sample=per_sample,
        weight=weight,
        reduction=reduction,
        axis_name=axis_name,
    )


def lovasz_softmax_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    from_logits: bool = True,
    class_weights: ArrayLike | None = None,
    include_background: bool = True,
    per_sample: bool = True,
    ignore_index: int = -100,
    weight: ArrayLike | None = None,
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
    act = activation(fn, "multiclass", from_logits)
    px = pixels(
        fn,
        predictions,
        targets,
        mode="multiclass",
        activation=act,
        where=where,
        ignore_index=ignore_index,
    )
    classes = px.probs.shape[-1]
    keep = foreground(fn, "multiclass", include_background, classes)
    class_w = checks.class_weights(fn, class_weights, classes, name="class_weights")
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
        counts=count > 0,
    )
