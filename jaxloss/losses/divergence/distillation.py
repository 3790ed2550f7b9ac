"""Knowledge distillation: the temperature-scaled KL divergence from the teacher's
softened distribution to the student's."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.reduce import reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName, Scalar
from jaxloss.losses.divergence._common import distributions

__all__ = ["distillation_loss"]


def distillation_loss(
    student_logits: ArrayLike,
    teacher_logits: ArrayLike,
    *,
    temperature: Scalar = 2.0,
    axis: int = -1,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Hinton's distillation loss: :math:`T^2\,\mathrm{KL}(p_T \,\|\, q_T)` over the class axis.

    .. math::
        \ell = T^2 \sum_k p_k (\log p_k - \log q_k), \qquad
        p = \mathrm{softmax}(t / T), \quad q = \mathrm{softmax}(s / T)

    The :math:`T^2` keeps the gradient's scale independent of T.

    Args:
      student_logits: s, ``[..., C]``.
      teacher_logits: t, ``[..., C]``; a ``-inf`` logit is a class outside the
        teacher's support (it contributes 0).
      temperature: T > 0. May be traced (a schedule); a traced value <= 0 gives NaN.
      axis: the class axis (``axis=1`` takes PyTorch's ``[N, C, ...]``).
      weight, where: aligned with the leading axes of ``[...]`` (one value per row).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"`` (over rows), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` (the axes other than ``axis``) for ``reduction="none"``.

    Gradients flow to both inputs (the loss is a function of both); the PyTorch
    tutorial runs the teacher under ``torch.no_grad()``, which
    ``jax.lax.stop_gradient(teacher_logits)`` reproduces. For ``[B, C]`` inputs ``"mean"``
    equals torch's ``F.kl_div(log_softmax(s / T), log_softmax(t / T),
    log_target=True, reduction="batchmean") * T**2``. Finite for logits of
    +-1e4: the log-probabilities come from log-softmax.
    References: Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a
    Neural Network"; the PyTorch knowledge-distillation tutorial
    (pytorch/tutorials ``beginner_source/knowledge_distillation_tutorial.py``).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> s, t = jnp.array([[0.0, 0.0]]), jnp.array([[0.0, 2.0]])
      >>> round(float(jaxloss.distillation_loss(s, t, temperature=1.0)), 4)
      0.3278
    """
    fn = "distillation_loss"
    ok = checks.option_in_range(fn, "temperature", temperature, low=0.0, low_open=True)
    s, t = distributions(
        fn, ("student_logits", "teacher_logits"), (student_logits, teacher_logits), axis, where
    )
    temp = temperature if ok is None else jnp.where(ok, temperature, 1.0)
    log_p = jax.nn.log_softmax(t / temp, axis=-1)
    log_q = jax.nn.log_softmax(s / temp, axis=-1)
    absent = jnp.isneginf(log_p)
    terms = jnp.exp(log_p) * (jnp.where(absent, 0.0, log_p) - jnp.where(absent, 0.0, log_q))
    loss = jnp.square(temp) * jnp.sum(jnp.where(absent, 0.0, terms), axis=-1)
    return reduce_loss(
        checks.nan_unless(ok, loss),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )
