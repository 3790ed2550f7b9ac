"""Margin losses on scores: binary hinges on {-1, +1} (or {0, 1}) targets, and the
multi-class SVM losses on ``[..., C]`` scores with integer targets.

Scores are not passed through a sigmoid or softmax; a target outside the accepted
values gives NaN (:func:`jaxloss.checked` names it).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import (
    logits_and_labels,
    move_class_axis,
    pick,
    reduce_classwise,
    signed_targets,
)
from jaxloss._core.reduce import prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = [
    "hinge_embedding_loss",
    "hinge_loss",
    "multi_margin_loss",
    "multiclass_hinge_loss",
    "squared_hinge_loss",
]


def hinge_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary hinge loss, :math:`\ell_i = \max(0, 1 - y_i s_i)` with :math:`y_i \in \{-1, +1\}`.

    Args:
      scores: ``[...]``.
      targets: same shape, in {-1, +1} or {0, 1} (0 is read as -1); any other
        value gives NaN.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches optax ``hinge_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.hinge_loss(jnp.array([0.5, -2.0]), jnp.array([1, 0])))
      0.25
    """
    return _hinge(
        "hinge_loss",
        scores,
        targets,
        exponent=1,
        weight=weight,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def squared_hinge_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Squared hinge loss, :math:`\ell_i = \max(0, 1 - y_i s_i)^2`.

    Args:
      scores: ``[...]``.
      targets: same shape, as :func:`hinge_loss`'s.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches Keras ``SquaredHinge``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.squared_hinge_loss(jnp.array([0.5, -2.0]), jnp.array([1, 0])))
      0.125
    """
    return _hinge(
        "squared_hinge_loss",
        scores,
        targets,
        exponent=2,
        weight=weight,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def _hinge(
    fn: str,
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    exponent: int,
    weight: ArrayLike | None,
    where: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
) -> Array:
    s, t, _ = prepare_pair(
        fn, "scores", jnp.asarray(scores), jnp.asarray(targets), where, target_fill=1.0
    )
    signs, valid = signed_targets(fn, t)
    loss = jnp.maximum(0.0, 1.0 - signs * s) ** exponent
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def hinge_embedding_loss(
    distances: ArrayLike,
    targets: ArrayLike,
    *,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Pulls similar pairs' distances down and pushes dissimilar ones past ``margin``.

    .. math:: \ell_i = \begin{cases} d_i & y_i = 1 \\ \max(0, m - d_i) & y_i = -1 \end{cases}

    Args:
      distances: ``[...]`` non-negative distances of pairs; a negative one gives NaN.
      targets: same shape, in {-1, +1}; other values give NaN.
      margin: m, a real number.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.hinge_embedding_loss`` on non-negative distances.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.hinge_embedding_loss(jnp.array([0.3, 0.4]), jnp.array([1, -1]))), 4)
      0.45
    """
    fn = "hinge_embedding_loss"
    checks.check_number(fn, "margin", margin)
    d, t, _ = prepare_pair(
        fn, "distances", jnp.asarray(distances), jnp.asarray(targets), where, target_fill=1.0
    )
    valid = (t == 1) | (t == -1)
    checks.require(fn, "targets", valid, t, "in {-1, +1}")
    # a negative distance (scores passed by mistake) would lower a similar pair's loss
    # below 0; NaN (not d < 0) lets a NaN distance through to the loss as NaN
    non_negative = ~(d < 0)
    checks.require(fn, "distances", non_negative, d, "non-negative")
    valid = valid & non_negative
    loss = jnp.where(t == 1, d, jnp.maximum(0.0, margin - d))
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def multi_margin_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    p: int = 1,
    margin: float = 1.0,
    axis: int = -1,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multi-class margin (Weston-Watkins SVM) loss.

    .. math:: \ell_i = \frac{1}{C}\sum_{j \ne y_i} w_{y_i} \max(0, m - s_{i y_i} + s_{ij})^p

    Args:
      scores: ``[..., C]``.
      targets: integer ``[...]`` in [0, C); others give NaN.
      p: 1 or 2 (a Python int).
      margin: m, a real number.
      axis: the class axis of ``scores``; ``axis=1`` is PyTorch's ``[N, C, d1, ...]``.
      weight: ``[C]`` class weights (the mean still divides by the row count, as torch).
      where: aligned with the leading axes of ``[...]``; False rows are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches ``torch.nn.functional.multi_margin_loss`` (``axis=1``).
    References: Weston and Watkins (1999), "Support Vector Machines for
    Multi-Class Pattern Recognition".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.multi_margin_loss(jnp.array([[0.1, 0.2, 0.4, 0.8]]), jnp.array([3])))
      0.32499998807907104
    """
    fn = "multi_margin_loss"
    checks.check_integer(fn, "p", p)
    checks.check_option(fn, "p", p, (1, 2))
    checks.check_number(fn, "margin", margin)
    (scores,) = move_class_axis(fn, axis, scores)
    x, rows = logits_and_labels(fn, "scores", scores, targets, where, None)
    labels = rows.labels
    class_w = checks.class_weights(fn, weight, x.shape[-1])
    target_score = pick(x, labels)
    hinge = jnp.maximum(0.0, margin - target_score[..., None] + x) ** p
    not_target = jnp.arange(x.shape[-1]) != labels[..., None]
    loss = jnp.sum(jnp.where(not_target, hinge, 0.0), axis=-1) / x.shape[-1]
    if class_w is not None:
        loss = class_w[labels] * loss
    return reduce_classwise(loss, rows, fn=fn, reduction=reduction, axis_name=axis_name)


def multiclass_hinge_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Crammer-Singer multi-class hinge loss.

    .. math:: \ell_i = \max_j\big(s_{ij} + 1 - [j = y_i]\big) - s_{i y_i}

    Args:
      scores: ``[..., C]``.
      targets: integer ``[...]`` in [0, C); others give NaN.
      axis: the class axis of ``scores``; ``axis=1`` is PyTorch's ``[N, C, d1, ...]``.
      where: aligned with the leading axes of ``[...]``; False rows are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches optax ``multiclass_hinge_loss``. References: Crammer and Singer
    (2001), "On the Algorithmic Implementation of Multiclass Kernel-based Vector
    Machines".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.multiclass_hinge_loss(jnp.array([[2.0, 1.5, 0.0]]), jnp.array([0])))
      0.5
    """
    fn = "multiclass_hinge_loss"
    (scores,) = move_class_axis(fn, axis, scores)
    x, rows = logits_and_labels(fn, "scores", scores, targets, where, None)
    labels = rows.labels
    one_hot = jax.nn.one_hot(labels, x.shape[-1], dtype=x.dtype)
    loss = jnp.max(x + 1.0 - one_hot, axis=-1) - pick(x, labels)
    return reduce_classwise(loss, rows, fn=fn, reduction=reduction, axis_name=axis_name)
