"""Example inputs and registrations of the preference and RL losses."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.preference import (
    bradley_terry_loss,
    dpo_loss,
    grpo_loss,
    kl_penalty,
    kto_loss,
    orpo_loss,
    ppo_policy_loss,
    ppo_value_loss,
    simpo_loss,
)


def preference_example(
    key: Array, batch: int, extreme: bool = False, *, num_arrays: int, **options: Any
) -> Example:
    """``num_arrays`` arrays of ``[batch]`` log-probabilities (or rewards,
    advantages), with the loss's keyword ``options``; extreme ones differ by +-1e4."""
    keys = jax.random.split(key, num_arrays)
    scale = 1e4 if extreme else 3.0
    arrays = tuple(-jnp.abs(jax.random.normal(k, (batch,))) * scale for k in keys)
    return Example(arrays, options, diff_argnums=(0, 1))


def average_logps_example(key: Array, batch: int, extreme: bool = False, **options: Any) -> Example:
    """Chosen and rejected ``[batch]`` average per-token log-probabilities (<= 0);
    extreme ones span -1e4 to exactly 0 (a completion of probability 1)."""
    keys = jax.random.split(key)
    scale = 1e4 if extreme else 1.0
    arrays = tuple(-jnp.abs(jax.random.normal(k, (batch,))) * scale for k in keys)
    if extreme:
        arrays = tuple(a.at[i::4].set(0.0) for i, a in enumerate(arrays))
    return Example(arrays, options, diff_argnums=(0, 1))


def kto_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Unpaired completions for KTO: ``batch - batch // 2`` desirable and
    ``batch // 2`` undesirable ones (policy and reference log-probabilities, as
    :func:`preference_example`), and the batch KL estimate, a scalar shared by every
    row; extreme ones differ by +-1e4, with a KL of order 1e4."""
    keys = jax.random.split(key, 5)
    scale = 1e4 if extreme else 3.0
    sizes = (batch - batch // 2, batch // 2, batch - batch // 2, batch // 2)
    arrays = tuple(
        -jnp.abs(jax.random.normal(k, (n,))) * scale for k, n in zip(keys[:4], sizes, strict=True)
    )
    kl = jnp.abs(jax.random.normal(keys[4], ())) * (1e4 if extreme else 0.5)
    return Example((*arrays, kl), diff_argnums=(0, 1))


def grpo_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """``[batch, 5]`` per-token log-probabilities under the policy and the sampling
    policy, and ``[batch]`` integer rewards, in groups of 2 completions; extreme
    ones are log-probabilities of -1e4 and 0 with log-ratios of +-1e4."""
    k1, k2, k3 = jax.random.split(key, 3)
    scale = 1e4 if extreme else 1.0
    log_probs = -jnp.abs(jax.random.normal(k1, (batch, 5))) * scale
    old = log_probs + jax.random.normal(k2, (batch, 5)) * (scale if extreme else 0.3)
    rewards = jax.random.randint(k3, (batch,), 0, 3).astype(jnp.float32)
    return Example((log_probs, old, rewards), {"group_size": 2}, diff_argnums=(0, 1))


register(
    dpo_loss,
    family="preference",
    tasks=("rlhf", "preference"),
    input_kind="policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps",
    example=functools.partial(preference_example, num_arrays=4, label_smoothing=0.1),
    matches="TRL DPOTrainer",
)
register(
    bradley_terry_loss,
    family="preference",
    tasks=("rlhf", "preference"),
    input_kind="chosen_rewards, rejected_rewards",
    example=functools.partial(preference_example, num_arrays=2),
    matches="TRL RewardTrainer",
)
register(
    ppo_policy_loss,
    family="preference",
    tasks=("rlhf", "preference"),
    input_kind="log_probs, old_log_probs, advantages",
    example=functools.partial(preference_example, num_arrays=3),
    matches="PPO clipped objective",
)
register(
    ppo_value_loss,
    family="preference",
    tasks=("rlhf", "preference"),
    input_kind="values, old_values, returns",
    example=functools.partial(preference_example, num_arrays=3, clip_eps=0.2),
    matches="PPO value loss",
)
register(
    kl_penalty,
    family="preference",
    tasks=("rlhf", "preference"),
    input_kind="log_probs, ref_log_probs",
    example=functools.partial(preference_example, num_arrays=2),
    matches="k3 KL estimator",
)
register(
    orpo_loss,
    family="preference",
    tasks=("rlhf", "preference", "reference-free"),
    input_kind="chosen_logps, rejected_logps (average per-token)",
    example=average_logps_example,
    matches="TRL ORPOTrainer.odds_ratio_loss",
)
register(
    simpo_loss,
    family="preference",
    tasks=("rlhf", "preference", "reference-free"),
    input_kind="chosen_logps, rejected_logps (average per-token)",
    example=average_logps_example,
    matches="TRL CPOTrainer(loss_type='simpo')",
)
register(
    kto_loss,
    family="preference",
    tasks=("rlhf", "preference", "unpaired"),
    input_kind="policy/ref chosen logps [Nc], policy/ref rejected logps [Nr], kl",
    example=kto_example,
    matches="TRL KTOTrainer(loss_type='kto')",
    shared_args=(4,),  # the batch KL estimate is not a row
    row_blocks=((0, 2), (1, 3)),  # "none" is [Nc + Nr]: desirable rows, then undesirable
)

register(
    grpo_loss,
    family="preference",
    tasks=("rlhf", "preference", "verifiable rewards"),
    input_kind="log_probs, old_log_probs [B, T], rewards [B]",
    example=grpo_example,
    matches="TRL GRPOTrainer(loss_type='grpo')",
    batch_coupled=True,
    row_group=2,
)
