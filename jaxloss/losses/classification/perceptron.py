"""Perceptron losses: the hinge at margin 0, binary on {-1, +1} (or {0, 1}) targets
and multi-class on ``[..., C]`` scores with integer targets.

Scores are not passed through a sigmoid or softmax; a target outside the accepted
values gives NaN (:func:`jaxloss.checked` names it).
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import (
    logits_and_labels,
    move_class_axis,
    pick,
    signed_targets,
    weigh_by_target_class,
)
from jaxloss._core.reduce import prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["multiclass_perceptron_loss", "perceptron_loss"]


def perceptron_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary perceptron loss, :math:`\ell_i = \max(0, -y_i s_i)` with :math:`y_i \in \{-1, +1\}`.

    Args:
      scores: ``[...]``.
      targets: same shape, in {-1, +1} or {0, 1} (0 is read as -1); any other
        value gives NaN.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches optax ``perceptron_loss`` (which takes {-1, +1} only).
    References: Rosenblatt (1958), "The Perceptron: A Probabilistic Model for
    Information Storage and Organization in the Brain"; optax
    ``optax/losses/_classification.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.perceptron_loss(jnp.array([0.5, 2.0]), jnp.array([1, 0])))
      1.0
    """
    fn = "perceptron_loss"
    s, t, _ = prepare_pair(fn, "scores", scores, targets, where, target_fill=1.0)
    signs, valid = signed_targets(fn, t)
    loss = jnp.maximum(0.0, -signs * s)
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def multiclass_perceptron_loss(
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Multi-class perceptron loss, :math:`\ell_i = \max_c s_{ic} - s_{i y_i}`.

    Args:
      scores: ``[..., C]``.
      targets: integer ``[...]`` in [0, C); others give NaN.
      axis: the class axis of ``scores``; ``axis=1`` is PyTorch's ``[N, C, d1, ...]``.
      weight: aligned with the leading axes of ``[...]``; rescales each row.
      class_weights: ``[C]``, one weight per class; rescales each example's loss by its
        target class's weight.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False rows are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches optax ``multiclass_perceptron_loss``; at tied maxima the gradient is
    shared between them, as ``jnp.max``'s.
    References: Collins (2002), "Discriminative Training Methods for Hidden
    Markov Models: Theory and Experiments with Perceptron Algorithms"; optax
    ``optax/losses/_classification.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.multiclass_perceptron_loss(jnp.array([[2.0, 0.5, 1.0]]), jnp.array([2])))
      1.0
    """
    fn = "multiclass_perceptron_loss"
    (scores,) = move_class_axis(fn, axis, scores)
    x, rows = logits_and_labels(fn, "scores", scores, targets, where, None)
    loss = jnp.max(x, axis=-1) - pick(x, rows.labels)
    class_w = checks.class_weights_of(fn, class_weights, x.shape[-1], "class_weights")
    loss = weigh_by_target_class(loss, class_w, rows.labels)
    return reduce_loss(
        jnp.where(rows.bad, jnp.nan, loss),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=rows.counted,
        axis_name=axis_name,
    )
