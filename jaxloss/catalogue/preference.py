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
    kl_penalty,
    ppo_policy_loss,
    ppo_value_loss,
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
