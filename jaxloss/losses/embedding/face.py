"""Additive-margin softmax losses for face recognition: ArcFace and CosFace.

Each embedding ``[..., D]`` (rows ``[B, D]`` as a rule) is scored against every
class's learnable embedding ``[C, D]`` (a parameter shared by every row: with ``axis_name`` it is
replicated and only the per-row losses are summed over devices). Both sides are
L2-normalised inside, the target class's cosine gets a margin, and the scaled
cosines go through softmax cross-entropy. The ``[B, C]`` cosines are computed at
``jax.lax.Precision.HIGHEST`` (see :mod:`._common`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import logits_and_labels, pick, softmax_cross_entropy_rows
from jaxloss._core.numerics import safe_sqrt
from jaxloss._core.reduce import prepare_arrays, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName, Scalar
from jaxloss.losses.embedding._common import class_cosines, class_labels, class_matrix

__all__ = ["arcface_loss", "cosface_loss"]


def _arc_margin(margin: Scalar) -> Callable[[Array], Array]:
    """cos(theta + m) from cos and sin, whose gradient stays finite at cos = +-1
    (acos' is infinite there), with InsightFace's fallback where theta + m > pi."""

    def shift(target: Array) -> Array:
        c = jnp.clip(target, -1.0, 1.0)
        sin = safe_sqrt(jnp.maximum(1.0 - c * c, 0.0))
        cos_m, sin_m = jnp.cos(margin), jnp.sin(margin)
        return jnp.where(target > -cos_m, target * cos_m - sin * sin_m, target - margin * sin_m)

    return shift


def _margin_softmax(
    fn: str,
    embeddings: ArrayLike,
    labels: ArrayLike,
    class_embeddings: ArrayLike,
    *,
    scale: Scalar,
    shift: Callable[[Array], Array],
    weight: ArrayLike | None,
    sample_weights: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
) -> Array:
    checks.check_range(fn, "scale", scale, low=0.0, low_open=True)
    (x,), mask = prepare_arrays(fn, ("embeddings",), (embeddings,), where, mask_axes=-1)
    x, w = class_matrix(fn, "class_embeddings", class_embeddings, x)
    y = class_labels(fn, labels, x.shape[:-1])
    cos, rows = logits_and_labels(
        fn, "embeddings", class_cosines(x, w), y, mask, None, targets_name="labels"
    )
    target = pick(cos, rows.labels)
    shifted = shift(target)
    one_hot = jnp.arange(cos.shape[-1]) == rows.labels[..., None]
    logits = scale * jnp.where(one_hot, shifted[..., None], cos)
    loss = jnp.where(rows.bad, jnp.nan, softmax_cross_entropy_rows(logits, rows.labels))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
    )


def arcface_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    class_embeddings: ArrayLike,
    *,
    scale: Scalar = 64.0,
    margin: Scalar = 0.5,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""ArcFace (additive angular margin): softmax cross-entropy over scaled
    cosines, with the margin added to the angle of the true class.

    .. math::
        \ell_i = -\log \frac{e^{s\,\psi(\theta_{i y_i})}}
            {e^{s\,\psi(\theta_{i y_i})} + \sum_{c \ne y_i} e^{s \cos\theta_{ic}}},
        \qquad \psi(\theta) = \begin{cases} \cos(\theta + m) & \theta + m \le \pi \\
                                     \cos\theta - m \sin m & \text{otherwise} \end{cases}

    with :math:`\cos\theta_{ic}` the cosine of embedding i and class embedding c.
    The fallback keeps :math:`\psi` decreasing in :math:`\theta` (InsightFace's
    ``easy_margin=False``). :math:`\cos(\theta + m)` is computed as
    :math:`\cos\theta\cos m - \sin\theta\sin m`, so the gradient is finite where
    the cosine is exactly +-1.

    Args:
      embeddings: ``[B, D]`` (or any ``[..., D]``).
      labels: ``[B]`` (``[...]``) integer class ids in ``[0, C)``; another value
        gives NaN for its row (:func:`jaxloss.checked` names it).
      class_embeddings: ``[C, D]``, the learnable class centres (InsightFace's
        ``[C, D]`` weight; PML's ``W`` is its transpose).
      scale: s > 0. margin: m in radians (PML takes degrees: ``margin=28.6``
        there is ``np.radians(28.6)`` = 0.499 here).
      weight, where: ``[B]`` (aligned with the leading axes of ``labels``).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.
      axis_name: the mean over every device's rows; ``class_embeddings`` is
        replicated.

    Returns:
      A scalar, or ``[B]`` (``labels``' shape) for ``reduction="none"``.

    Matches InsightFace's ``ArcFace`` head with cross-entropy and
    pytorch-metric-learning ``ArcFaceLoss`` (without its weight regulariser).
    References: Deng et al. (2019), "ArcFace: Additive Angular Margin Loss for
    Deep Face Recognition"; https://github.com/deepinsight/insightface
    (``recognition/arcface_torch/losses.py``);
    https://github.com/KevinMusgrave/pytorch-metric-learning
    (``src/pytorch_metric_learning/losses/arcface_loss.py``).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0]])
      >>> w = jnp.eye(2)
      >>> loss = jaxloss.arcface_loss(x, jnp.array([0]), w, scale=1.0, margin=0.5)
      >>> round(float(loss), 4)
      0.3477
    """
    return _margin_softmax(
        "arcface_loss",
        embeddings,
        labels,
        class_embeddings,
        scale=scale,
        shift=_arc_margin(_margin("arcface_loss", margin, angle=True)),
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def cosface_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    class_embeddings: ArrayLike,
    *,
    scale: Scalar = 64.0,
    margin: Scalar = 0.35,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""CosFace (large margin cosine loss): softmax cross-entropy over scaled
    cosines, with the margin subtracted from the true class's cosine.

    .. math::
        \ell_i = -\log \frac{e^{s(\cos\theta_{i y_i} - m)}}
            {e^{s(\cos\theta_{i y_i} - m)} + \sum_{c \ne y_i} e^{s \cos\theta_{ic}}}

    Args:
      embeddings: ``[B, D]`` (or any ``[..., D]``).
      labels: ``[B]`` (``[...]``) integer class ids in ``[0, C)``; another value
        gives NaN for its row.
      class_embeddings: ``[C, D]``, the learnable class centres.
      scale: s > 0. margin: m >= 0 (PML's default 0.35; InsightFace uses 0.4).
      weight, where: ``[B]`` (aligned with the leading axes of ``labels``).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.
      axis_name: the mean over every device's rows; ``class_embeddings`` is
        replicated.

    Returns:
      A scalar, or ``[B]`` (``labels``' shape) for ``reduction="none"``.

    Matches pytorch-metric-learning ``CosFaceLoss`` (without its weight
    regulariser) and InsightFace's ``CosFace`` head with cross-entropy.
    References: Wang et al. (2018), "CosFace: Large Margin Cosine Loss for Deep
    Face Recognition"; https://github.com/KevinMusgrave/pytorch-metric-learning
    (``src/pytorch_metric_learning/losses/cosface_loss.py``).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0]])
      >>> loss = jaxloss.cosface_loss(x, jnp.array([0]), jnp.eye(2), scale=1.0, margin=0.5)
      >>> round(float(loss), 4)
      0.4741
    """
    m = _margin("cosface_loss", margin, angle=False)
    return _margin_softmax(
        "cosface_loss",
        embeddings,
        labels,
        class_embeddings,
        scale=scale,
        shift=lambda target: target - m,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def _margin(fn: str, margin: Scalar, *, angle: bool) -> Scalar:
    """``margin`` checked: >= 0, and below pi for an angle."""
    checks.check_range(
        fn, "margin", margin, low=0.0, high=float(jnp.pi) if angle else None, high_open=True
    )
    return margin
