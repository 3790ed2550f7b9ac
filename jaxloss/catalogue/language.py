"""Example inputs and registrations of the language losses."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.language import (
    causal_lm_loss,
    ctc_loss,
    fused_linear_cross_entropy,
    masked_lm_loss,
)

__all__ = ["ctc_example", "lm_example"]


def lm_example(key: Array, batch: int, extreme: bool = False, *, kind: str) -> Example:
    """``[batch, 12]`` token ids over a 48-word vocabulary, with padding (-100) at
    the end of some sequences.

    ``kind``: "causal" or "masked" (logits ``[batch, 12, 48]``), or "fused"
    (hidden states ``[batch, 12, 16]`` and a ``[16, 48]`` weight). Extreme:
    logits of 1e4.
    """
    ks = jax.random.split(key, 3)
    tokens = jax.random.randint(ks[0], (batch, 12), 0, 48)
    tokens = jnp.where(jnp.arange(12) >= 12 - (jnp.arange(batch) % 4)[:, None], -100, tokens)
    tokens = tokens.at[:, :2].set(jnp.abs(tokens[:, :2]))
    if kind == "fused":
        h = jax.random.normal(ks[1], (batch, 12, 16)) * (100.0 if extreme else 1.0)
        w = jax.random.normal(ks[2], (16, 48)) * 0.3
        counted = int(jnp.sum(tokens != -100))
        return Example(
            (h, w, tokens), {"chunk_size": 64, "z_loss": 1e-4}, diff_argnums=(0, 1), counted=counted
        )
    logits = jax.random.normal(ks[1], (batch, 12, 48)) * (1e4 if extreme else 2.0)
    if kind == "causal":
        counted = int(jnp.sum(tokens[:, 1:] != -100))
        return Example((logits, tokens), {"z_loss": 1e-4, "label_smoothing": 0.1}, counted=counted)
    return Example((logits, tokens), counted=int(jnp.sum(tokens != -100)))


register(
    causal_lm_loss,
    family="language",
    tasks=("language model", "tokens"),
    input_kind="logits, tokens",
    example=functools.partial(lm_example, kind="causal"),
    matches="torch F.cross_entropy on shifted logits",
    weight_kind="none",
    where_like=1,
    scores_classes=True,
)
register(
    masked_lm_loss,
    family="language",
    tasks=("language model", "tokens"),
    input_kind="logits, targets",
    example=functools.partial(lm_example, kind="masked"),
    matches="F.cross_entropy with ignore_index (BERT)",
    weight_kind="none",
    scores_classes=True,
)
register(
    fused_linear_cross_entropy,
    family="language",
    tasks=("language model", "tokens"),
    input_kind="hidden, weight, targets",
    example=functools.partial(lm_example, kind="fused"),
    matches="torch F.linear_cross_entropy",
    weight_kind="none",
    shared_args=(1,),  # the weight is not a row
    forward_mode=False,  # a custom_vjp differentiates in reverse only
)


def ctc_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Logits ``[batch, 12, 6]`` (class 0 the blank) and ``[batch, 4]`` labels in
    1..5, repeats included; every target fits its 12 frames. Extreme: logits of 1e4."""
    k1, k2 = jax.random.split(key)
    logits = jax.random.normal(k1, (batch, 12, 6)) * (1e4 if extreme else 2.0)
    targets = jax.random.randint(k2, (batch, 4), 1, 6)
    targets = targets.at[::3, 1].set(targets[::3, 0])  # a repeated label in every third
    return Example((logits, targets))


register(
    ctc_loss,
    family="language",
    tasks=("speech recognition", "OCR", "sequence alignment"),
    input_kind="logits, targets",
    example=ctc_example,
    matches="torch F.ctc_loss, optax ctc_loss",
    # "mean" divides each sequence's loss by its target length first (torch's)
    linear_reduction=False,
    forward_mode=False,  # the beta recursion is a custom_vjp: reverse mode only
    free_target_length=True,
)
