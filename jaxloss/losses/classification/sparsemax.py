"""Sparsemax and Fenchel-Young losses: the sparsemax projection (a softmax whose
output has exact zeros), its multi-class and binary losses, and the factory of
Fenchel-Young losses built on any max function.

The projection is written once (sorting-based, shift-invariant, finite for logits
of any size and for ``-inf`` classes); the losses' gradient is
:math:`\\mathrm{sparsemax}(z) - q`, exact at tied logits.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import (
    logits_and_labels,
    move_class_axis,
    probability_rows,
    probability_targets,
    weigh_by_target_class,
)
from jaxloss._core.reduce import prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["binary_sparsemax_loss", "make_fenchel_young_loss", "sparsemax", "sparsemax_loss"]


@jax.custom_jvp
def sparsemax(logits: Array) -> Array:
    r"""The Euclidean projection of ``logits [..., C]`` onto the probability simplex.

    .. math:: \mathrm{sparsemax}(z) = \arg\min_{p \in \Delta} \|p - z\|^2
              = \max(z - \tau(z), 0)

    with :math:`\tau` found from the sorted logits. Shift-invariant; ``-inf``
    logits get probability 0. The Jacobian on the support S is
    :math:`\mathrm{diag}(s) - s s^\top / |S|`, exact at tied logits.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxloss.losses.classification.sparsemax import sparsemax
      >>> sparsemax(jnp.array([1.0, 1.0, 0.0])).tolist()
      [0.5, 0.5, 0.0]
    """
    z = logits - jnp.max(logits, axis=-1, keepdims=True)
    ordered = -jnp.sort(-z, axis=-1)
    k = jnp.arange(1, z.shape[-1] + 1, dtype=z.dtype)
    cumulative = jnp.cumsum(ordered, axis=-1)
    # the support is a prefix of the sorted logits: it always holds the largest one
    size = jnp.sum(1.0 + k * ordered > cumulative, axis=-1, keepdims=True)
    size = jnp.maximum(size, 1)
    tau = (jnp.take_along_axis(cumulative, size - 1, axis=-1) - 1.0) / size.astype(z.dtype)
    return jnp.maximum(z - tau, 0.0)


@sparsemax.defjvp
def _sparsemax_jvp(primals, tangents):
    (z,), (dz,) = primals, tangents
    p = sparsemax(z)
    support = (p > 0).astype(p.dtype)
    mean = jnp.sum(support * dz, axis=-1, keepdims=True) / jnp.sum(support, -1, keepdims=True)
    return p, support * (dz - mean)


def _dot_nonzero(q: Array, z: Array) -> Array:
    """:math:`\\sum_c q_c z_c` over the classes where q is not 0, so a ``-inf``
    logit without target mass contributes 0 (with zero gradients)."""
    zero = q == 0
    return jnp.sum(jnp.where(zero, 0.0, q * jnp.where(zero, 0.0, z)), axis=-1)


def _scores_and_targets(
    fn: str,
    output_name: str,
    output: ArrayLike,
    targets: ArrayLike,
    where: ArrayLike | None,
    axis: int,
    *,
    probabilities: bool,
) -> tuple[Array, Array, Array, ArrayLike | None, Array]:
    """``output [..., C]`` (class axis moved last, upcast) with its targets as rows
    ``q [..., C]``: integer class ids become one-hot rows; float targets are taken
    as they are (checked to lie in [0, 1] when ``probabilities``).

    Returns the output, ``q``, where each row is valid (invalid rows give NaN), the
    mask to reduce with, and the targets to weigh classes by (the labels, or ``q``
    for float targets; see :func:`weigh_by_target_class`).
    """
    targets = jnp.asarray(targets)
    if jnp.issubdtype(targets.dtype, jnp.floating):
        output, targets = move_class_axis(fn, axis, output, targets)
        x, q, mask = probability_targets(fn, output_name, output, targets, where)
        if probabilities:
            return x, q, probability_rows(fn, "targets", q), mask, q
        return x, q, jnp.ones(x.shape[:-1], bool), mask, q
    (output,) = move_class_axis(fn, axis, output)
    x, rows = logits_and_labels(fn, output_name, output, targets, where, None)
    q = jax.nn.one_hot(rows.labels, x.shape[-1], dtype=x.dtype)
    return x, q, ~rows.bad, rows.counted, rows.labels


def sparsemax_loss(
    logits: ArrayLike,
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
    r"""Multi-class sparsemax loss, the Fenchel-Young loss of sparsemax.

    .. math::
        \ell(z, q) = \langle p^\star, z\rangle - \tfrac12\|p^\star\|^2
                     - \langle q, z\rangle + \tfrac12\|q\|^2,
        \qquad p^\star = \mathrm{sparsemax}(z)

    Non-negative, zero exactly when :math:`\mathrm{sparsemax}(z) = q`, with
    gradient :math:`p^\star - q` in the logits.

    Args:
      logits: ``[..., C]`` (class axis ``axis``).
      targets: integer class ids ``[...]`` in [0, C) (others give NaN), or
        probabilities ``[..., C]`` whose rows are distributions (entries outside
        [0, 1] give NaN for their row; rows are not renormalised).
      axis: the class axis; ``axis=1`` takes PyTorch's ``[N, C, ...]`` layout.
      weight: aligned with the leading axes of ``[...]``; rescales each row.
      class_weights: ``[C]``, one weight per class; rescales each example's loss by its
        target class's weight (:math:`\sum_c q_c w_c` for probability targets).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False rows are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches optax ``multiclass_sparsemax_loss`` (integer targets; optax takes
    ``[B, C]`` only). Computed from logits shifted by their row maximum, so an
    offset of 1e8 or logits of +-1e4 stay exact; a ``-inf`` logit is a class
    with probability 0 (target mass there gives ``inf``).
    References: Martins & Astudillo (2016), "From Softmax to Sparsemax: A Sparse
    Model of Attention and Multi-Label Classification"; optax
    ``optax/losses/_classification.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.sparsemax_loss(jnp.array([[1.0, 0.0, -1.0]]), jnp.array([1])))
      1.0
    """
    fn = "sparsemax_loss"
    x, q, valid, mask, classes = _scores_and_targets(
        fn, "logits", logits, targets, where, axis, probabilities=True
    )
    class_w = checks.class_weights_of(fn, class_weights, x.shape[-1], "class_weights")
    z = x - jax.lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))
    p = sparsemax(z)
    # <p, z> - |p|^2 / 2 over the support; the gradient in z is p - q
    cumulant = _dot_nonzero(p, z - 0.5 * p)
    loss = cumulant - _dot_nonzero(q, z) + 0.5 * jnp.sum(q * q, axis=-1)
    loss = weigh_by_target_class(loss, class_w, classes)
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
    )


def _sparse_plus(x: Array) -> Array:
    """0 for x <= -1, (x + 1)^2 / 4 on (-1, 1), x for x >= 1 (``jax.nn.sparse_plus``)."""
    inner = jnp.clip(x, -1.0, 1.0)
    return jnp.where(x >= 1.0, x, 0.25 * jnp.square(inner + 1.0))


def binary_sparsemax_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Binary sparsemax loss: the Fenchel-Young loss of the sparse sigmoid.

    .. math::
        \ell(x, t) = (1 - t)\,\mathrm{sparseplus}(x) + t\,\mathrm{sparseplus}(-x) - t(1 - t)

    with :math:`\mathrm{sparseplus}(x) = 0, \tfrac14(x + 1)^2, x` for
    :math:`x \le -1`, :math:`|x| < 1`, :math:`x \ge 1`; for t in {0, 1} it is
    :math:`\mathrm{sparseplus}(\mp x)`, zero exactly when
    :math:`\mathrm{clip}((x + 1)/2, 0, 1) = t`.

    Args:
      logits: ``[...]``.
      targets: same shape, in [0, 1] (labels 0 and 1, or soft labels); other
        values give NaN.
      weight: aligned with the leading axes of ``[...]``; rescales each element.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches optax ``sparsemax_loss`` (its labels 0 and 1; optax reads any
    non-zero label as 1, where jaxloss gives NaN outside [0, 1]).
    References: Blondel, Martins & Niculae (2020), "Learning with Fenchel-Young
    Losses", Sec. 4.4; optax ``optax/losses/_classification.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.binary_sparsemax_loss(jnp.array([0.0, 3.0]), jnp.array([1, 0])))
      1.625
    """
    fn = "binary_sparsemax_loss"
    x, t, _ = prepare_pair(fn, "logits", logits, targets, where)
    valid = (t >= 0) & (t <= 1)
    checks.require(fn, "targets", valid, t, "in [0, 1]")
    loss = (1.0 - t) * _sparse_plus(x) + t * _sparse_plus(-x) - t * (1.0 - t)
    return reduce_loss(
        jnp.where(valid, loss, jnp.nan),
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def make_fenchel_young_loss(max_fn: Callable[[Array], ArrayLike]) -> Callable[..., Array]:
    r"""Builds the Fenchel-Young loss of a max function (a regularised max).

    .. math:: \ell(s, q) = \Omega^*(s) - \langle q, s\rangle

    where :math:`\Omega^*` is ``max_fn`` (``jax.nn.logsumexp`` gives the softmax
    cross-entropy up to the targets' entropy). Add :math:`\Omega(q)` yourself for a
    loss that is 0 at its minimum.

    Args:
      max_fn: maps one score vector ``[C]`` to a scalar; it is vectorised over
        the leading axes, as in optax.

    Returns:
      ``fenchel_young_loss(scores, targets, *, weight=None, sample_weights=None,
      where=None, reduction="mean", axis_name=None)``: ``scores [..., C]`` (class
      axis last), ``targets`` float ``[..., C]`` or integer class ids ``[...]``
      (one-hot; others give NaN); ``weight`` and ``where`` align with ``[...]``;
      ``sample_weights``, a leading prefix of ``[...]`` (``[B]``), rescales each
      example's loss without changing the mean's denominator; ``"none"`` gives
      ``[...]``.

    Matches optax ``make_fenchel_young_loss`` (whose loss takes no reduction).
    References: Blondel, Martins & Niculae (2020), "Learning with Fenchel-Young
    Losses"; optax ``optax/losses/_fenchel_young.py``.

    Example:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.make_fenchel_young_loss(jax.nn.logsumexp)
      >>> round(float(loss(jnp.zeros((1, 4)), jnp.array([2]))), 4)
      1.3863
    """
    if not callable(max_fn):
        checks.fail(
            "make_fenchel_young_loss",
            f"max_fn must be a function of a score vector; got {max_fn!r}",
            TypeError,
        )
    row_max = jnp.vectorize(max_fn, signature="(n)->()")

    def fenchel_young_loss(
        scores: ArrayLike,
        targets: ArrayLike,
        *,
        weight: ArrayLike | None = None,
        sample_weights: ArrayLike | None = None,
        where: ArrayLike | None = None,
        reduction: str = "mean",
        axis_name: AxisName = None,
    ) -> Array:
        fn = "fenchel_young_loss"
        checks.check_reduction(fn, reduction)
        x, q, valid, mask, _ = _scores_and_targets(
            fn, "scores", scores, targets, where, -1, probabilities=False
        )
        loss = jnp.asarray(row_max(x), x.dtype) - _dot_nonzero(q, x)
        return reduce_loss(
            jnp.where(valid, loss, jnp.nan),
            fn=fn,
            reduction=reduction,
            weight=weight,
            sample_weights=sample_weights,
            where=mask,
            axis_name=axis_name,
        )

    fenchel_young_loss.__doc__ = (
        f"The Fenchel-Young loss of ``{getattr(max_fn, '__name__', 'max_fn')}``, built by "
        ":func:`jaxloss.make_fenchel_young_loss`."
    )
    return fenchel_young_loss
