"""Token-level language-model losses on materialised logits ``[..., T, V]``:
next-token and masked-token cross-entropy, and per-sequence log-probabilities.

Integer targets equal to ``ignore_index`` (padding) count nowhere.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.classes import integer_cross_entropy, move_class_axis, target_class_weight
from jaxloss._core.reduce import mask_of, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["causal_lm_loss", "masked_lm_loss", "sequence_log_probs"]


def _shifted(
    fn: str, logits: ArrayLike, tokens: ArrayLike, where: ArrayLike | None, axis: int
) -> tuple[Array, Array, Array | None]:
    """Logits at positions 0..T-2 (the vocabulary axis moved last) and the tokens
    they predict (1..T-1), with the token mask shifted the same way."""
    (logits,), tokens = move_class_axis(fn, axis, logits), jnp.asarray(tokens)
    checks.check_floating(fn, "logits", logits)
    checks.check_rank(fn, "logits", logits, set(range(2, 33)))
    if tokens.shape != logits.shape[:-1]:
        checks.fail(
            fn,
            f"tokens has shape {tokens.shape}; expected {logits.shape[:-1]}, "
            "one per position of logits [..., T, V]",
        )
    if jnp.issubdtype(tokens.dtype, jnp.floating):
        checks.fail(fn, f"tokens must be integer token ids; got dtype {tokens.dtype}", TypeError)
    mask = mask_of(fn, where, tokens.shape)
    return logits[..., :-1, :], tokens[..., 1:], None if mask is None else mask[..., 1:]


def _reduce_tokens(
    fn: str,
    loss: Array,
    targets: Array,
    counted: Array,
    *,
    class_weights: ArrayLike | None,
    sample_weights: ArrayLike | None,
    reduction: str,
    axis_name: AxisName,
    num_classes: int,
) -> Array:
    """Reduces per-token losses over the ``counted`` tokens, each rescaled by its
    target's class weight and by its sample weight; the mean divides by the count
    of counted tokens, whatever the weights."""
    class_w = checks.class_weights_of(fn, class_weights, num_classes, "class_weights")
    weight = None
    if class_w is not None:
        # tokens that do not count (or hold no class) read class 0; reduce_loss
        # zeroes their weight before it multiplies anything
        in_range = counted & (targets >= 0) & (targets < num_classes)
        weight = target_class_weight(class_w, jnp.where(in_range, targets, 0))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=counted,
        axis_name=axis_name,
    )


def causal_lm_loss(
    logits: ArrayLike,
    tokens: ArrayLike,
    *,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    axis: int = -1,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Next-token cross-entropy, with the shift done for you.

    .. math::
        \ell_t = -\log p(x_{t+1} \mid x_{\le t}) + c\,\big(\log Z_t\big)^2

    over positions whose next token is not ``ignore_index`` (nor masked by
    ``where``); :math:`c` is ``z_loss`` (PaLM's auxiliary loss, e.g. 1e-4).

    Args:
      logits: ``[..., T, V]``, the model's output at every position.
      tokens: ``[..., T]`` the input ids (the targets are ``tokens[..., 1:]``).
      ignore_index: padding id in ``tokens`` to skip as a target; any other id
        outside [0, V) gives NaN for its position.
      label_smoothing: in [0, 1], as :func:`cross_entropy`.
      z_loss: coefficient >= 0 of :math:`\log^2 Z`, which keeps the softmax
        normaliser near 1.
      axis: the vocabulary axis of ``logits``; ``axis=1`` takes PyTorch's
        ``[B, V, T]``.
      class_weights: ``[V]``, one weight per class; rescales each example's loss
        by its target class's weight (each position's, z-loss and smoothing
        included; the mean still divides by the count of counted targets).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]`` or
        ``[B, T - 1]``, one per target); rescales each example's loss without
        changing the mean's denominator.
      where: ``[..., T]`` token mask (e.g. an attention mask); position t counts
        when token t + 1 is unmasked.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar (mean over counted targets), or ``[..., T - 1]`` for
      ``reduction="none"``.

    The GPT-style next-token objective; equals ``F.cross_entropy`` of the shifted
    logits and tokens. References: Chowdhery et al. (2022), "PaLM: Scaling
    Language Modeling with Pathways" (z-loss).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((1, 3, 4))
      >>> round(float(jaxloss.causal_lm_loss(logits, jnp.array([[0, 1, 2]]))), 4)
      1.3863
    """
    fn = "causal_lm_loss"
    checks.check_integer(fn, "ignore_index", ignore_index)
    z_ok = checks.option_in_range(fn, "z_loss", z_loss, low=0.0)
    smoothing_ok = checks.option_in_range(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    x, y, mask = _shifted(fn, logits, tokens, where, axis)
    loss = integer_cross_entropy(
        fn,
        x,
        y,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        where=mask,
        reduction="none",
        targets_name="tokens",
    )
    counted = y != ignore_index if mask is None else (y != ignore_index) & mask
    if checks.may_be_nonzero(z_loss):
        lse = jax.nn.logsumexp(jnp.where(counted[..., None], x, 0.0).astype(loss.dtype), axis=-1)
        loss = loss + z_loss * jnp.where(counted, lse * lse, 0.0)
    loss = checks.nan_unless(z_ok, checks.nan_unless(smoothing_ok, loss))
    return _reduce_tokens(
        fn,
        loss,
        y,
        counted,
        class_weights=class_weights,
        sample_weights=sample_weights,
        reduction=reduction,
        axis_name=axis_name,
        num_classes=x.shape[-1],
    )


def masked_lm_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    ignore_index: int = -100,
    axis: int = -1,
    class_weights: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""BERT-style masked-token loss: cross-entropy on the masked positions only.

    .. math:: \ell_t = -\log p(y_t \mid \tilde x) \quad \text{where } y_t \ne \text{ignore\_index}

    Args:
      logits: ``[..., T, V]``.
      targets: integer ``[..., T]``, the original token where a position was
        masked and ``ignore_index`` everywhere else (Hugging Face's ``labels``).
      ignore_index: the id of positions that are not scored; any other id
        outside [0, V) gives NaN for its position.
      axis: the vocabulary axis of ``logits``; ``axis=1`` takes PyTorch's
        ``[B, V, T]``.
      class_weights: ``[V]``, one weight per class; rescales each example's loss
        by its target class's weight (each position's; the mean still divides
        by the count of scored positions).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]`` or
        ``[B, T]``); rescales each example's loss without changing the mean's
        denominator.
      where: ``[..., T]``, aligned with the leading axes; extra positions to
        leave out.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axes the mean and sum run over.

    Returns:
      A scalar (mean over masked positions), or ``[..., T]``.

    Equals ``F.cross_entropy`` with ``ignore_index``, as Hugging Face's masked
    language models compute it. References: Devlin et al. (2019), "BERT:
    Pre-training of Deep Bidirectional Transformers for Language Understanding".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logits = jnp.zeros((1, 3, 4))
      >>> round(float(jaxloss.masked_lm_loss(logits, jnp.array([[-100, 2, -100]]))), 4)
      1.3863
    """
    fn = "masked_lm_loss"
    checks.check_integer(fn, "ignore_index", ignore_index)
    (logits,), targets = move_class_axis(fn, axis, logits), jnp.asarray(targets)
    if targets.shape != logits.shape[:-1]:
        checks.fail(
            fn,
            f"targets has shape {targets.shape}; expected {logits.shape[:-1]}, "
            "one per position of logits [..., T, V]",
        )
    loss = integer_cross_entropy(
        fn, logits, targets, ignore_index=ignore_index, where=where, reduction="none"
    )
    mask = mask_of(fn, where, targets.shape)
    counted = targets != ignore_index if mask is None else (targets != ignore_index) & mask
    return _reduce_tokens(
        fn,
        loss,
        targets,
        counted,
        class_weights=class_weights,
        sample_weights=sample_weights,
        reduction=reduction,
        axis_name=axis_name,
        num_classes=logits.shape[-1],
    )


def sequence_log_probs(
    logits: ArrayLike,
    tokens: ArrayLike,
    *,
    ignore_index: int = -100,
    axis: int = -1,
    where: ArrayLike | None = None,
) -> Array:
    r"""Summed log-probability of each sequence's tokens, for preference losses.

    .. math:: \log \pi(y \mid x) = \sum_{t} m_{t+1} \log p(x_{t+1} \mid x_{\le t})

    Args:
      logits: ``[..., T, V]``.
      tokens: ``[..., T]`` ids (the targets are ``tokens[..., 1:]``).
      ignore_index: padding id in ``tokens``; any other id outside [0, V) gives
        NaN for its sequence.
      axis: the vocabulary axis of ``logits``; ``axis=1`` takes PyTorch's
        ``[B, V, T]``.
      where: ``[..., T]`` mask of the tokens to score (e.g. the completion, not
        the prompt); ``ignore_index`` tokens are skipped as well.

    Returns:
      ``[...]`` summed log-probabilities (``[B]`` for ``[B, T, V]`` logits), the
      inputs of :func:`dpo_loss`.

    Matches the summed per-token log-probabilities that TRL's ``DPOTrainer``
    feeds its loss.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> logps = jaxloss.sequence_log_probs(jnp.zeros((1, 3, 4)), jnp.array([[0, 1, 2]]))
      >>> round(float(logps[0]), 4)
      -2.7726
    """
    fn = "sequence_log_probs"
    checks.check_integer(fn, "ignore_index", ignore_index)
    x, y, mask = _shifted(fn, logits, tokens, where, axis)
    per_token = -integer_cross_entropy(
        fn, x, y, ignore_index=ignore_index, where=mask, reduction="none", targets_name="tokens"
    )
    return jnp.sum(per_token, axis=-1)
