"""Preference and RL losses for language models.

- :mod:`~jaxloss.losses.preference.pairwise`: DPO and its variants, the
  Bradley-Terry reward-model loss, PPO's clipped policy and value losses and the
  KL penalty estimators used in RLHF;
- :mod:`~jaxloss.losses.preference.alignment`: reference-free and unpaired
  preference losses (ORPO, SimPO, KTO);
- :mod:`~jaxloss.losses.preference.policy`: group-relative policy optimisation (GRPO).
"""

from jaxloss.losses.preference.alignment import kto_loss, orpo_loss, simpo_loss
from jaxloss.losses.preference.pairwise import (
    bradley_terry_loss,
    dpo_loss,
    kl_penalty,
    ppo_policy_loss,
    ppo_value_loss,
)
from jaxloss.losses.preference.policy import grpo_loss

__all__ = [
    "bradley_terry_loss",
    "dpo_loss",
    "grpo_loss",
    "kl_penalty",
    "kto_loss",
    "orpo_loss",
    "ppo_policy_loss",
    "ppo_value_loss",
    "simpo_loss",
]
