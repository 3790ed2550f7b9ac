"""Example inputs and registrations of the long-tail and multi-label losses
(family "classification")."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.classification.long_tail import asymmetric_loss, ldam_loss

_HOSTILE = jnp.array([1e4, -1e4, 30.0, -30.0, 0.0, 17.0, -17.0])


def multilabel_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """``[batch, 12]`` logits with about 15% positive labels; row 0 is all
    negative and row 1 all positive. Extreme logits are +-1e4, +-30, +-17 and 0."""
    kx, ky = jax.random.split(key)
    shape = (batch, 12)
    x = 2.0 * jax.random.normal(kx, shape)
    if extreme:
        x = jnp.resize(_HOSTILE, shape)
    y = jax.random.bernoulli(ky, 0.15, shape).astype(jnp.float32)
    y = y.at[:1].set(0.0).at[1:2].set(1.0)
    return Example((x, y))


_COUNTS = jnp.array([5000, 1200, 300, 80, 20, 5])


def long_tail_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """``[batch, 6]`` cosine-like logits in [-1, 1], class ids drawn from a
    long-tailed distribution, and the ``[6]`` training counts (5000 down to 5),
    shared by every row. Extreme logits are +-1e4 and +-30."""
    kx, ky = jax.random.split(key)
    x = jnp.tanh(jax.random.normal(kx, (batch, 6)))
    if extreme:
        x = jnp.resize(jnp.array([1e4, -1e4, 30.0, -30.0, 0.0]), (batch, 6))
    y = jax.random.categorical(ky, jnp.log(_COUNTS.astype(jnp.float32)), shape=(batch,))
    return Example((x, y, _COUNTS))


register(
    asymmetric_loss,
    family="classification",
    tasks=("classification", "multi-label", "imbalance"),
    input_kind="logits, targets",
    example=multilabel_example,
    matches="official ASL AsymmetricLoss (sum: reduction='sum')",
    scores_classes=True,
)
register(
    ldam_loss,
    family="classification",
    tasks=("classification", "multi-class", "imbalance", "long-tail"),
    input_kind="logits, int targets, class_counts",
    example=long_tail_example,
    matches="official LDAM-DRW LDAMLoss",
    weight_kind="class",
    shared_args=(2,),
    scores_classes=True,
)
