"""Example inputs and registrations of the ranking losses."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.ranking import (
    listmle_loss,
    pairwise_hinge_loss,
    pairwise_logistic_loss,
    ranking_softmax_loss,
)

__all__ = ["ranking_example"]

_LIST = 8


def ranking_example(
    key: Array, batch: int, extreme: bool = False, *, pairs: bool = False
) -> Example:
    """``[batch, 8]`` lists: scores and graded relevance in {0, 1, 2, 3} (ties
    included). Extreme: scores of +-1e4. With ``pairs``, the mean counts the
    ordered pairs of differing relevance."""
    k1, k2 = jax.random.split(key)
    scores = jax.random.normal(k1, (batch, _LIST)) * 2.0
    if extreme:
        scores = jnp.resize(jnp.array([1e4, -1e4, 0.0, 3e3, -7e3]), (batch, _LIST))
    relevance = jax.random.randint(k2, (batch, _LIST), 0, 4).astype(jnp.float32)
    counted = None
    if pairs:
        counted = int(jnp.sum(relevance[:, :, None] > relevance[:, None, :]))
    return Example((scores, relevance), counted=counted)


_COMMON = {
    "family": "ranking",
    "tasks": ("learning to rank", "retrieval", "recommendation"),
    "input_kind": "scores, relevance",
    # ``where`` masks list items, the elements of ``scores``
    "where_like": 0,
}

register(
    ranking_softmax_loss,
    example=ranking_example,
    matches="optax ranking_softmax_loss, rax softmax_loss",
    **_COMMON,
)
register(listmle_loss, example=ranking_example, matches="rax listmle_loss", **_COMMON)
register(
    pairwise_logistic_loss,
    example=functools.partial(ranking_example, pairs=True),
    matches="rax pairwise_logistic_loss",
    **_COMMON,
)
register(
    pairwise_hinge_loss,
    example=functools.partial(ranking_example, pairs=True),
    matches="rax pairwise_hinge_loss",
    **_COMMON,
)
