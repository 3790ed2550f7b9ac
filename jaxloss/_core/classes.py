"""The class axis: integer and probability targets against ``[..., C]`` outputs.

Shared by every loss that reads a class axis (classification, language, and any
family that scores tokens or pixels). The class axis is last (a loss with an
``axis=`` option moves it there first, :func:`move_class_axis`); integer targets
equal to ``ignore_index`` are left out, and a label that is neither a class nor
``ignore_index`` gives NaN for its row (:func:`jaxloss.checked` names it) rather
than being read as some class. Every function takes ``fn``, the public loss
built on it, so that its errors name that loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.backend import by_platform
from jaxloss._core.numerics import shifted_logsumexp, upcast
from jaxloss._core.reduce import fill_masked, mask_of, prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = [
    "Rows",
    "axis_hint",
    "class_axis_pair",
    "finite_or_zero",
    "integer_cross_entropy",
    "logits_and_labels",
    "move_class_axis",
    "pick",
    "probability_rows",
    "probability_targets",
    "reduce_classwise",
    "signed_targets",
    "smoothing_rows",
    "soft_cross_entropy",
    "softmax_cross_entropy_rows",
]


class Rows(NamedTuple):
    """Integer targets made safe to index with, and which rows count or are invalid.

    ``labels [...]``: the targets, with every row that does not count (or holds an
    invalid label) set to class 0. ``counted [...]``: rows neither ignored nor
    masked by ``where``. ``bad [...]``: counted rows whose label is not a class.
    """

    labels: Array
    counted: Array
    bad: Array


def axis_hint(
    output_name: str, output_shape: tuple[int, ...], target_shape: tuple[int, ...]
) -> str:
    """The fix to suggest when integer targets do not fit ``output [..., C]``."""
    for axis in range(len(output_shape) - 1):
        if output_shape[:axis] + output_shape[axis + 1 :] == tuple(target_shape):
            return (
                f"; they fit with the class axis at {axis} (PyTorch's channel-first layout "
                f"for axis=1): pass axis={axis}, or move it with "
                f"jnp.moveaxis({output_name}, {axis}, -1)"
            )
    return ""


def move_class_axis(
    fn: str, axis: int, output: ArrayLike, *same_layout: ArrayLike
) -> tuple[Array, ...]:
    """``output`` (and arrays laid out like it, such as probability targets) with
    the class axis ``axis`` moved last, where every loss computes with it.

    ``axis=1`` takes PyTorch's ``[N, C, ...]`` layout. Integer targets have no class
    axis and are not passed here.
    """
    checks.check_integer(fn, "axis", axis)
    output = jnp.asarray(output)
    if not -output.ndim <= axis < max(output.ndim, 1):
        checks.fail(
            fn, f"axis={axis} is out of range for {output.ndim}-d input of shape {output.shape}"
        )
    arrays = (output, *(jnp.asarray(a) for a in same_layout))
    if axis % max(output.ndim, 1) == output.ndim - 1:
        return arrays
    return tuple(jnp.moveaxis(a, axis, -1) if a.shape == output.shape else a for a in arrays)


def logits_and_labels(
    fn: str,
    output_name: str,
    output: ArrayLike,
    targets: ArrayLike,
    where: ArrayLike | None,
    ignore_index: int | None,
    *,
    targets_name: str = "targets",
) -> tuple[Array, Rows]:
    """Validates an ``output [..., C]`` with integer ``targets [...]``.

    Args:
      fn: the public loss, named by every error.
      output_name: the output's argument name (``logits``, ``log_probs``, ``scores``).
      output: ``[..., C]`` floating point.
      targets: integer class ids ``[...]``.
      where: boolean, aligned with the leading axes of ``[...]``; False rows may
        hold anything.
      ignore_index: the id of rows to leave out (an integer), or None for none.
      targets_name: the targets' argument name (``tokens`` for the losses that
        shift them), named by the run-time check of their values.

    Returns:
      The output upcast to the compute dtype (rows masked by ``where`` zeroed) and
      its :class:`Rows`.
    """
    if ignore_index is not None:
        checks.check_integer(fn, "ignore_index", ignore_index)
    output, targets = jnp.asarray(output), jnp.asarray(targets)
    checks.check_floating(fn, output_name, output)
    if output.ndim < 1:
        checks.fail(fn, f"{output_name} must have a class axis [..., C]; got shape {output.shape}")
    if not jnp.issubdtype(targets.dtype, jnp.integer):
        checks.fail(
            fn,
            f"{targets_name} must be integer class indices; got dtype {targets.dtype} "
            "(float targets are probabilities, accepted only where documented)",
            TypeError,
        )
    if targets.shape != output.shape[:-1]:
        checks.fail(
            fn,
            f"targets has shape {targets.shape} but {output_name} has shape {output.shape}; "
            f"integer targets must have shape {output.shape[:-1]} with the class axis last"
            + axis_hint(output_name, output.shape, targets.shape),
        )
    num_classes = output.shape[-1]
    ignored = jnp.zeros(targets.shape, bool) if ignore_index is None else targets == ignore_index
    in_range = (targets >= 0) & (targets < num_classes)
    bad = ~ignored & ~in_range
    counted = ~ignored
    user_mask = mask_of(fn, where, targets.shape)
    if user_mask is not None:
        counted = counted & user_mask
    checks.require(
        fn,
        targets_name,
        ~bad if user_mask is None else ~bad | ~user_mask,
        targets,
        f"a class index in [0, {num_classes}) or ignore_index",
    )
    (x,) = upcast(output)
    if user_mask is not None:
        # rows masked by `where` may hold anything (padding); ignored rows are only
        # left out, so their logits must be finite, as in torch
        x = fill_masked(user_mask[..., None], x, 0.0)
    labels = jnp.where(in_range & counted, targets, 0)
    return x, Rows(labels, counted, bad & counted)


def class_axis_pair(
    fn: str, output_name: str, output: ArrayLike, targets: ArrayLike, where: ArrayLike | None
) -> tuple[Array, Array, Array | None]:
    """Validates an ``output [..., C]`` with same-shape float ``targets``.

    Returns both upcast, with the rows that ``where [...]`` masks out zeroed, and
    that mask broadcast to ``[...]`` (None without ``where``).
    """
    x, t, _ = prepare_pair(fn, output_name, jnp.asarray(output), jnp.asarray(targets), None)
    if x.ndim < 1:
        checks.fail(fn, f"{output_name} must have a class axis [..., C]; got shape {x.shape}")
    mask = mask_of(fn, where, x.shape[:-1])
    if mask is not None:
        x, t = fill_masked(mask[..., None], x, 0.0), fill_masked(mask[..., None], t, 0.0)
    return x, t, mask


def probability_targets(
    fn: str, output_name: str, output: ArrayLike, targets: ArrayLike, where: ArrayLike | None
) -> tuple[Array, Array, Array | None]:
    """:func:`class_axis_pair` for losses that take integer or probability targets:
    a shape mismatch names both forms."""
    output_shape, target_shape = jnp.shape(output), jnp.shape(targets)
    if target_shape != output_shape:
        checks.fail(
            fn,
            f"targets has shape {target_shape} but {output_name} has shape {output_shape}; "
            f"probability targets must have shape {output_shape} "
            f"(or integer class indices of shape {output_shape[:-1]})",
        )
    return class_axis_pair(fn, output_name, output, targets, where)


def probability_rows(fn: str, name: str, probs: Array) -> Array:
    """Which rows of ``probs [..., C]`` hold probabilities (every entry in [0, 1]);
    the others are reported by :func:`jaxloss.checked`, naming ``name``, and the
    loss gives NaN for them. Rows masked out beforehand hold zeros, so pass."""
    ok = (probs >= 0) & (probs <= 1)
    checks.require(fn, name, ok, probs, "probabilities in [0, 1]")
    return jnp.all(ok, axis=-1)


def pick(x: Array, labels: Array) -> Array:
    """``x[..., labels]``: each row's entry at its label, ``[..., C]`` to ``[...]``.

    A gather on the CPU; on accelerators a select against the class index summed
    over the row (:func:`pick_forms`), which fuses with the row's other reductions
    and whose gradient is a select too, where a gather's is a scatter into a
    zeroed ``[..., C]`` array."""
    cpu, accelerator = pick_forms()
    return by_platform(x, labels, cpu=cpu, accelerator=accelerator)


def pick_forms() -> tuple[Callable[[Array, Array], Array], Callable[[Array, Array], Array]]:
    """The CPU form (a gather) and the accelerator form (a one-hot select summed
    over the row) of :func:`pick`, as functions of ``(x, labels)``."""

    def gather(x: Array, labels: Array) -> Array:
        return jnp.take_along_axis(x, labels[..., None], axis=-1)[..., 0]

    def select(x: Array, labels: Array) -> Array:
        hit = jax.lax.broadcasted_iota(labels.dtype, x.shape, x.ndim - 1) == labels[..., None]
        return jnp.sum(jnp.where(hit, x, 0.0), axis=-1)

    return gather, select


def reduce_classwise(
    loss: Array,
    rows: Rows,
    *,
    fn: str,
    reduction: str,
    axis_name: AxisName,
    class_weights: Array | None = None,
    sample_weights: ArrayLike | None = None,
) -> Array:
    """Reduces a per-row loss ``[...]`` over the counted rows.

    Rows with an invalid label give NaN. With ``class_weights [C]`` the mean
    divides by the weights of the counted labels (torch's weighted mean), not by
    their count.
    """
    loss = jnp.where(rows.bad, jnp.nan, loss)
    normalizer = None
    if class_weights is not None:
        normalizer = jnp.sum(jnp.where(rows.counted, class_weights[rows.labels], 0.0))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        sample_weights=sample_weights,
        where=rows.counted,
        axis_name=axis_name,
        normalizer=normalizer,
    )


def target_class_weight(class_weights: Array, targets: Array) -> Array:
    r"""Each example's weight under ``class_weights [C]``: :math:`w_{y_i}` for integer
    class ``targets [...]``, and the target-weighted average :math:`\sum_c q_{ic} w_c`
    for probability targets ``[..., C]`` (the same for one-hot rows)."""
    if jnp.issubdtype(targets.dtype, jnp.integer):
        return class_weights[targets]
    return targets @ class_weights.astype(targets.dtype)


def weigh_by_target_class(loss: Array, class_weights: Array | None, targets: Array) -> Array:
    """``loss [...]`` times each example's :func:`target_class_weight` (``loss``
    itself without class weights), in the loss's dtype."""
    if class_weights is None:
        return loss
    return target_class_weight(class_weights, targets).astype(loss.dtype) * loss


def signed_targets(fn: str, targets: Array) -> tuple[Array, Array]:
    """Maps {0, 1} or {-1, +1} targets to {-1, +1}.

    Returns the signs and where the targets were valid; other values are
    reported by :func:`jaxloss.checked`.
    """
    valid = (targets == 1) | (targets == -1) | (targets == 0)
    checks.require(fn, "targets", valid, targets, "in {-1, +1} or {0, 1}")
    return jnp.where(targets == 0, -1.0, targets), valid


def smoothing_rows(shifted: Array, lse: Array, class_weights: Array | None) -> Array:
    r"""Per row, :math:`\sum_c w_c (-\log p_c)` over the classes with finite logits.

    Args:
      shifted: ``[..., C]`` logits minus their row maximum.
      lse: ``[...]`` the log-normaliser of ``shifted``.
      class_weights: ``[C]`` or None (all 1).

    Written from the logits (no [N, C] log-probabilities kept). The masked sum is
    needed only where a row holds a -inf logit (a masked vocabulary); XLA:CPU fuses
    it far worse, so the CPU form switches to it with one ``lax.cond`` for the whole
    batch, while accelerators, where a ``cond`` costs a synchronisation and the
    select is free inside the fused reduction, always take it. Both forms give the
    same numbers (:func:`smoothing_forms`).
    """
    cpu, accelerator = smoothing_forms(class_weights)
    return by_platform(shifted, lse, cpu=cpu, accelerator=accelerator)


def smoothing_forms(
    class_weights: Array | None,
) -> tuple[Callable[[Array, Array], Array], Callable[[Array, Array], Array]]:
    """The CPU form (one ``lax.cond``) and the accelerator form (the masked sum,
    one pass) of :func:`smoothing_rows`, as functions of ``(shifted, lse)``."""

    def plain(shifted: Array, lse: Array) -> Array:
        if class_weights is None:
            return shifted.shape[-1] * lse - jnp.sum(shifted, axis=-1)
        return jnp.sum(class_weights) * lse - shifted @ class_weights

    def masked(shifted: Array, lse: Array) -> Array:
        finite = jnp.isfinite(shifted)
        w = jnp.ones(shifted.shape[-1], shifted.dtype) if class_weights is None else class_weights
        w_finite = jnp.where(finite, w, 0.0)
        return jnp.sum(w_finite, axis=-1) * lse - jnp.sum(jnp.where(finite, w * shifted, 0.0), -1)

    def cpu(shifted: Array, lse: Array) -> Array:
        rows = plain(shifted, lse)
        return jax.lax.cond(jnp.all(jnp.isfinite(rows)), lambda: rows, lambda: masked(shifted, lse))

    def accelerator(shifted: Array, lse: Array) -> Array:
        # one fused pass over the logits with a select per element: as cheap as
        # the plain form where the loss is bound by memory traffic
        return masked(shifted, lse)

    return cpu, accelerator


def finite_or_zero(log_probs: Array) -> Array:
    """``log_probs`` with -inf (and NaN) entries set to 0."""
    # -inf log-probabilities are classes masked out of the vocabulary: smoothing
    # puts no mass on them rather than an infinite loss
    return jnp.where(jnp.isfinite(log_probs), log_probs, 0.0)


def soft_cross_entropy(
    logits: Array, probs: Array, class_weights: Array | None
) -> tuple[Array, Array]:
    r"""Per row :math:`-\sum_c w_c q_c \log p_c` and the log-probabilities ``[..., C]``.

    Only classes with no target mass are skipped (:math:`0 \log 0 = 0`, so a
    ``-inf`` logit there is a masked class); target mass on a ``-inf`` logit gives
    ``inf``, as torch and optax, and a NaN or ``+inf`` logit gives NaN.
    """
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    zero = probs == 0
    # a skipped class still carries a NaN row (NaN or +inf logits) through
    skipped = jnp.where(jnp.isnan(log_probs), jnp.nan, 0.0)
    terms = jnp.where(zero, skipped, probs * jnp.where(zero, 0.0, log_probs))
    if class_weights is not None:
        terms = class_weights * terms
    return -jnp.sum(terms, axis=-1), log_probs


def softmax_cross_entropy_rows(
    logits: Array,
    labels: Array,
    *,
    class_weights: Array | None = None,
    label_smoothing: float | Array = 0.0,
) -> Array:
    r"""Per-row softmax cross-entropy of integer ``labels [...]`` under ``logits [..., C]``.

    .. math::
        \ell_i = (1 - \varepsilon)\,w_{y_i}(-\log p_{i y_i})
                 + \frac{\varepsilon}{C}\sum_c w_c(-\log p_{ic})

    The labels must be valid classes (:attr:`Rows.labels`); nothing is reduced.
    """
    shifted, lse = shifted_logsumexp(logits)
    loss = lse - pick(shifted, labels)
    if class_weights is not None:
        loss = class_weights[labels] * loss
    if checks.may_be_nonzero(label_smoothing):
        smooth = smoothing_rows(shifted, lse, class_weights) / logits.shape[-1]
        loss = (1.0 - label_smoothing) * loss + label_smoothing * smooth
    return loss


def integer_cross_entropy(
    fn: str,
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    ignore_index: int,
    label_smoothing: float | Array = 0.0,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
    targets_name: str = "targets",
) -> Array:
    """Softmax cross-entropy of integer ``targets [...]`` under ``logits [..., C]``,
    validated and reduced: :func:`jaxloss.cross_entropy`'s integer form, whose
    errors name ``fn`` (and ``targets_name`` for the targets). The caller checks
    ``label_smoothing``'s range."""
    x, rows = logits_and_labels(
        fn, "logits", logits, targets, where, ignore_index, targets_name=targets_name
    )
    class_w = checks.class_weights_of(fn, class_weights, x.shape[-1], "class_weights")
    loss = softmax_cross_entropy_rows(
        x, rows.labels, class_weights=class_w, label_smoothing=label_smoothing
    )
    return reduce_classwise(
        loss,
        rows,
        fn=fn,
        reduction=reduction,
        axis_name=axis_name,
        class_weights=class_w,
        sample_weights=sample_weights,
    )
