"""Group-relative policy optimisation: PPO's clipped objective with advantages
normalised within each group of completions sampled for the same prompt, and a
k3 KL penalty to a reference model, as TRL's ``GRPOTrainer`` computes it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import safe_div, safe_sqrt, upcast
from jaxloss._core.reduce import (
    examples_interact,
    fill_masked,
    mask_of,
    mask_weights,
    reduce_loss,
)
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["grpo_loss"]

ADVANTAGE_EPS = 1e-4  # TRL's offset on the group standard deviation
_LOG_RATIO_CLIP = 50.0  # as ppo_policy_loss and kl_penalty: exp stays finite


def group_advantages(rewards: Array, group_size: int, valid: Array) -> Array:
    """(r - group mean) / (group std + 1e-4) over each group's ``valid``
    completions, the std with Bessel's correction as TRL's ``nanstd``; 0 for a
    completion alone in its group and for the invalid ones (TRL's unscorable
    completions, whose NaN reward its nan-aware statistics skip)."""
    r = jnp.where(valid, rewards, 0.0).reshape(-1, group_size)
    keep = valid.reshape(-1, group_size).astype(r.dtype)
    n = jnp.sum(keep, axis=1, keepdims=True)
    mean = safe_div(jnp.sum(r * keep, axis=1, keepdims=True), n)
    centred = (r - mean) * keep
    variance = safe_div(jnp.sum(jnp.square(centred), axis=1, keepdims=True), n - 1.0)
    std = jnp.where(n > 1, safe_sqrt(jnp.where(n > 1, variance, 0.0)), 0.0)
    return (centred / (std + ADVANTAGE_EPS)).reshape(rewards.shape)


def _token_arrays(
    fn: str, log_probs: ArrayLike, old_log_probs: ArrayLike, ref_log_probs: ArrayLike | None
) -> list[Array]:
    names = ["log_probs", "old_log_probs"] + ([] if ref_log_probs is None else ["ref_log_probs"])
    given = [jnp.asarray(a) for a in (log_probs, old_log_probs, ref_log_probs) if a is not None]
    for name, a in zip(names, given, strict=True):
        checks.check_floating(fn, name, a)
    checks.check_rank(fn, "log_probs", given[0], 2)
    for name, a in zip(names[1:], given[1:], strict=True):
        checks.check_same_shape(fn, "log_probs", given[0], name, a)
    return list(upcast(*given))


@examples_interact
def grpo_loss(
    log_probs: ArrayLike,
    old_log_probs: ArrayLike,
    rewards: ArrayLike,
    *,
    group_size: int,
    ref_log_probs: ArrayLike | None = None,
    clip_eps: float = 0.2,
    beta: float = 0.04,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""GRPO: PPO's clipped objective with group-normalised advantages and a k3 KL
    penalty, averaged over each completion's tokens, then over completions.

    With :math:`G` = ``group_size`` consecutive completions per prompt, advantages
    :math:`A_i = (r_i - \bar r_g) / (s_g + 10^{-4})` (group mean and std, Bessel's
    correction), per-token ratios :math:`\rho_t = e^{\log\pi_t - \log\pi_{old,t}}`
    and :math:`\delta_t = \log\pi_{ref,t} - \log\pi_t`:

    .. math::
        \ell_{i,t} = -\min\big(\rho_t A_i,\ \mathrm{clip}(\rho_t, 1-\epsilon, 1+\epsilon) A_i\big)
        + \beta\,(e^{\delta_t} - \delta_t - 1), \qquad
        \ell_i = \frac{\sum_t m_{i,t}\,\ell_{i,t}}{\sum_t m_{i,t}}

    Args:
      log_probs: ``[B, T]`` per-token log-probabilities of the sampled completions
        under the policy being trained; ``B`` = groups x ``group_size``, the
        completions of a group consecutive.
      old_log_probs: ``[B, T]``, the same under the policy that sampled them (no
        gradient is meant to flow here: pass ``stop_gradient`` of ``log_probs`` for
        a single update per batch).
      rewards: ``[B]`` scalar rewards, one per completion. They only shape the
        advantages, which get no gradient.
      group_size: G >= 1, completions per prompt (TRL's ``num_generations``); a
        completion alone in its group has advantage 0.
      ref_log_probs: optional ``[B, T]`` per-token log-probabilities under the
        reference model; without it (or with ``beta=0``) there is no KL term.
      clip_eps: epsilon > 0, the clip range of the ratio (a traced value <= 0 gives NaN).
      beta: >= 0, the weight of the KL penalty (a traced value < 0 gives NaN).
      weight: aligned with the leading axes of ``[B]``; rescales each completion's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``);
        rescales each example's loss without changing the mean's denominator.
      where: boolean ``[B, T]`` (the completion mask: False on padding) or ``[B]``,
        aligned with the leading axes of ``[B, T]``. A completion without any
        unmasked token is left out entirely: of its group's reward statistics (as
        TRL skips an unscorable completion's NaN reward) and of the mean over
        completions. Its reward may then hold anything.
      reduction: ``"mean"`` (over completions), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``. Groups
        are never split across devices: each device's ``B`` must be a multiple of
        ``group_size`` (checked), its completions forming whole groups, and the
        result equals the single-device one.

    Returns:
      A scalar, or ``[B]`` (each completion's token mean) for ``reduction="none"``.

    Matches TRL's ``GRPOTrainer`` with ``loss_type="grpo"``,
    ``scale_rewards="group"`` and ``epsilon_high = epsilon``, up to one deliberate
    difference: TRL counts a completion without tokens in its group's statistics and
    as 0 in the mean over completions, jaxloss leaves it out of both (the two agree
    whenever every completion has a token). Log-ratios are clipped to [-50, 50]
    before ``exp``, as in :func:`jaxloss.ppo_policy_loss` and
    :func:`jaxloss.kl_penalty`, so log-ratios of +-1e4 stay finite.
    References: Shao et al. (2024), "DeepSeekMath" (GRPO); huggingface/trl
    ``trl/trainer/grpo_trainer.py`` at commit f2cd577
    (``_generate_and_score_completions`` for the advantages, ``_compute_loss`` for
    the loss).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> lp, old = jnp.log(jnp.full((2, 3), 0.5)), jnp.log(jnp.full((2, 3), 0.25))
      >>> rewards = jnp.array([1.0, 0.0])  # one group of two: advantages +-0.707
      >>> round(float(jaxloss.grpo_loss(lp, old, rewards, group_size=2)), 4)
      0.2828
    """
    fn = "grpo_loss"
    checks.check_integer(fn, "group_size", group_size)
    if group_size < 1:
        checks.fail(fn, f"group_size must be >= 1; got {group_size}")
    clip_ok = checks.option_in_range(fn, "clip_eps", clip_eps, low=0.0, low_open=True)
    beta_ok = checks.option_in_range(fn, "beta", beta, low=0.0)
    arrays = _token_arrays(fn, log_probs, old_log_probs, ref_log_probs)
    lp, old = arrays[0], arrays[1]
    batch = lp.shape[0]
    if batch % group_size:
        checks.fail(
            fn,
            f"log_probs has {batch} completions, not a multiple of group_size={group_size}: "
            "each group's completions must be consecutive and, under axis_name, on one device",
        )
    r = checks.row_values(fn, "rewards", rewards, (batch,))
    (r,) = upcast(r.astype(lp.dtype))
    mask = mask_of(fn, where, lp.shape)
    lp, old = fill_masked(mask, lp, 0.0), fill_masked(mask, old, 0.0)
    tokens = mask_weights(mask, lp.shape, lp.dtype)
    count = jnp.sum(tokens, axis=1)
    advantages = jax.lax.stop_gradient(group_advantages(r, group_size, count > 0))[:, None]
    ratio = jnp.exp(jnp.clip(lp - old, -_LOG_RATIO_CLIP, _LOG_RATIO_CLIP))
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    per_token = -jnp.minimum(ratio * advantages, clipped * advantages)
    per_token = checks.nan_unless(clip_ok, per_token)
    if ref_log_probs is not None and checks.may_be_nonzero(beta):
        delta = fill_masked(mask, arrays[2], 0.0) - lp
        kl = jnp.expm1(jnp.minimum(delta, _LOG_RATIO_CLIP)) - delta
        per_token = per_token + checks.nan_unless(beta_ok, beta * kl)
    loss = safe_div(jnp.sum(jnp.where(tokens > 0, per_token, 0.0), axis=1), count)
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=count > 0,
        axis_name=axis_name,
    )
