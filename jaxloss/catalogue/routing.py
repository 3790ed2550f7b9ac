"""Example inputs and registrations of the mixture-of-experts router losses."""

from __future__ import annotations

import jax

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.routing import load_balancing_loss, router_z_loss

NUM_EXPERTS = 8


def router_example(key: Array, batch: int, extreme: bool = False, *, top_k: int = 0) -> Example:
    """``[batch, 8]`` router logits (+-1e4 when extreme) and, with ``top_k``, the
    ``[batch, top_k]`` experts each token was routed to (the logits' top-k)."""
    scale = 1e4 if extreme else 2.0
    logits = jax.random.normal(key, (batch, NUM_EXPERTS)) * scale
    if not top_k:
        return Example((logits,))
    _, indices = jax.lax.top_k(logits, top_k)
    return Example((logits, indices), {"num_experts": NUM_EXPERTS})


register(
    load_balancing_loss,
    family="routing",
    tasks=("mixture of experts", "auxiliary"),
    input_kind="router_logits [T, E], expert_indices [T, k]",
    # k = 1 (Switch): the contract tests shorten the last axis of expert_indices,
    # which must then be refused (no expert per token)
    example=lambda key, batch, extreme=False: router_example(key, batch, extreme, top_k=1),
    matches="transformers load_balancing_loss_func (Mixtral, Switch)",
    weight_kind="none",
    unreduced=False,
    batch_coupled=True,
    where_like=0,
)
register(
    router_z_loss,
    family="routing",
    tasks=("mixture of experts", "auxiliary"),
    input_kind="router_logits [T, E]",
    example=router_example,
    matches="transformers router_z_loss_func (Switch Transformers, ST-MoE)",
)
