"""Classification losses robust to noisy labels: the generalized cross-entropy,
between cross-entropy (q -> 0) and the mean absolute error of the probabilities
(q = 1)."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import (
    logits_and_labels,
    move_class_axis,
    pick,
    weigh_by_target_class,
)
from jaxloss._core.numerics import shifted_logsumexp
from jaxloss._core.reduce import reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName, Scalar

__all__ = ["generalized_cross_entropy"]


def generalized_cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    q: Scalar = 0.5,
    axis: int = -1,
    weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Generalized cross-entropy, a noise-robust cross-entropy.

    .. math:: \ell_i = \frac{1 - p_{i y_i}^{\,q}}{q}, \qquad p_i = \mathrm{softmax}(z_i)

    computed as :math:`-\mathrm{expm1}(q \log p_{i y_i}) / q` from the
    log-softmax, so a vanishing :math:`p_{i y_i}` gives :math:`1/q` with a zero
    (not NaN) gradient.

    Args:
      logits: ``[..., C]`` (class axis ``axis``).
      targets: integer class ids ``[...]`` in [0, C); others give NaN.
      q: in (0, 1]; q -> 0 tends to cross-entropy, q = 1 is :math:`1 - p_y`. May
        be traced; a traced value outside (0, 1] gives NaN.
      axis: the class axis; ``axis=1`` takes PyTorch's ``[N, C, ...]`` layout.
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

    Keras ``CategoricalGeneralizedCrossEntropy`` takes probabilities, not
    logits: pass ``jnp.log(probs)`` as ``logits`` to reproduce it.
    References: Zhang & Sabuncu (2018), "Generalized Cross Entropy Loss for
    Training Deep Neural Networks with Noisy Labels"; Keras
    ``keras/src/losses/losses.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.log(jnp.array([[0.25, 0.75]]))
      >>> float(jaxloss.generalized_cross_entropy(logits, jnp.array([0])))
      1.0
    """
    fn = "generalized_cross_entropy"
    q_ok = checks.option_in_range(fn, "q", q, low=0.0, high=1.0, low_open=True)
    (logits,) = move_class_axis(fn, axis, logits)
    x, rows = logits_and_labels(fn, "logits", logits, targets, where, None)
    shifted, lse = shifted_logsumexp(x)
    log_p = pick(shifted, rows.labels) - lse
    q_safe = q if q_ok is None else jnp.where(q_ok, q, 1.0)
    loss = -jnp.expm1(q_safe * log_p) / q_safe
    class_w = checks.class_weights_of(fn, class_weights, x.shape[-1], "class_weights")
    loss = weigh_by_target_class(loss, class_w, rows.labels)
    return reduce_loss(
        checks.nan_unless(q_ok, jnp.where(rows.bad, jnp.nan, loss)),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=rows.counted,
        axis_name=axis_name,
    )
