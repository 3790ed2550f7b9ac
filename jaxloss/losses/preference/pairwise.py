"""Preference and RL losses for language models: DPO and its variants, the
Bradley-Terry reward-model loss, PPO's clipped policy and value losses and the
KL penalty estimators used in RLHF.

Inputs are per-sequence (or per-token) log-probabilities from
:func:`sequence_log_probs`; every loss is computed in log-space, so log-ratios of
+-1e4 stay finite.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxloss._core import checks
from jaxloss._core.numerics import log_sigmoid
from jaxloss._core.reduce import align_leading, prepare_arrays, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["bradley_terry_loss", "dpo_loss", "kl_penalty", "ppo_policy_loss", "ppo_value_loss"]

DPO_KINDS = ("sigmoid", "hinge", "ipo", "robust")
# per-sequence values [B], per-token values [B, T], or a single scalar
_ANY_RANK = set(range(33))


def dpo_loss(
    policy_chosen_logps: ArrayLike,
    policy_rejected_logps: ArrayLike,
    ref_chosen_logps: ArrayLike,
    ref_rejected_logps: ArrayLike,
    *,
    beta: float = 0.1,
    kind: str = "sigmoid",
    label_smoothing: float = 0.0,
    return_rewards: bool = False,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array | tuple[Array, Array, Array]:
    r"""Direct Preference Optimization and its variants, as TRL defines them.

    With :math:`x = (\pi_c - \pi_r) - (\rho_c - \rho_r)` (policy and reference
    log-probability margins) and :math:`\varepsilon` = ``label_smoothing``:

    - ``"sigmoid"``: :math:`-(1-\varepsilon)\log\sigma(\beta x) - \varepsilon\log\sigma(-\beta x)`
      (conservative DPO when :math:`\varepsilon > 0`);
    - ``"hinge"``: :math:`\max(0, 1 - \beta x)`;
    - ``"ipo"``: :math:`(x - 1/(2\beta))^2`;
    - ``"robust"``: :math:`\big(-(1-\varepsilon)\log\sigma(\beta x)
      + \varepsilon\log\sigma(-\beta x)\big)/(1 - 2\varepsilon)`.

    Args:
      policy_chosen_logps: ``[B]`` summed log-probabilities of the chosen
        completions under the policy.
      policy_rejected_logps: ``[B]``, the same for the rejected completions.
      ref_chosen_logps: ``[B]``, the chosen completions under the reference model.
      ref_rejected_logps: ``[B]``, the rejected completions under the reference model.
      beta: > 0, the strength of the implicit KL constraint (a traced ``beta`` <= 0
        gives NaN).
      kind: one of the above.
      label_smoothing: epsilon in [0, 0.5] (< 0.5 for ``"robust"``), the assumed
        rate of flipped preferences. A traced value outside gives NaN.
      return_rewards: also return the implicit rewards
        :math:`\beta(\pi_c - \rho_c)` and :math:`\beta(\pi_r - \rho_r)` (no gradient).
      weight: aligned with the leading axes of ``[B]``; rescales each pair's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``);
        rescales each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[B]``; False pairs are left out.
      reduction: ``"mean"`` (over unmasked pairs), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      The loss (a scalar, or ``[B]``), and with ``return_rewards`` the tuple
      ``(loss, chosen_rewards, rejected_rewards)``.

    Matches TRL's ``DPOTrainer`` loss for ``loss_type`` sigmoid, hinge, ipo and
    robust. References: Rafailov et al. (2023), "Direct Preference Optimization"; Azar
    et al. (2023) (IPO); Chowdhury et al. (2024) (robust DPO).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.zeros(2)
      >>> round(float(jaxloss.dpo_loss(z, z, z, z)), 4)
      0.6931
    """
    fn = "dpo_loss"
    checks.check_option(fn, "kind", kind, DPO_KINDS)
    beta_ok = checks.option_in_range(fn, "beta", beta, low=0.0, low_open=True)
    # kind='robust' divides by 1 - 2 label_smoothing: there it must be < 0.5, also
    # when traced (NaN rather than the Inf or wrong sign of a division by ~0)
    robust = kind == "robust"
    if robust and not checks.is_traced(label_smoothing) and np.any(np.equal(label_smoothing, 0.5)):
        checks.fail(
            fn, "kind='robust' divides by 1 - 2 label_smoothing: label_smoothing must be < 0.5"
        )
    smoothing_ok = checks.option_in_range(
        fn, "label_smoothing", label_smoothing, low=0.0, high=0.5, high_open=robust
    )
    checks.check_bool_option(fn, "return_rewards", return_rewards)
    names = (
        "policy_chosen_logps",
        "policy_rejected_logps",
        "ref_chosen_logps",
        "ref_rejected_logps",
    )
    (pc, pr, rc, rr), _ = prepare_arrays(
        fn,
        names,
        (policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps),
        where,
        rank=_ANY_RANK,
    )
    x = (pc - pr) - (rc - rr)
    eps = label_smoothing
    if kind == "sigmoid":
        loss = -(1.0 - eps) * log_sigmoid(beta * x) - eps * log_sigmoid(-beta * x)
    elif kind == "hinge":
        loss = jax.nn.relu(1.0 - beta * x)
    elif kind == "ipo":
        loss = jnp.square(x - 1.0 / (2.0 * beta))
    else:
        loss = (-(1.0 - eps) * log_sigmoid(beta * x) + eps * log_sigmoid(-beta * x)) / (
            1.0 - 2.0 * eps
        )
    loss = checks.nan_unless(beta_ok, checks.nan_unless(smoothing_ok, loss))
    loss = reduce_loss(
        fn=fn,
        loss=loss,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )
    if not return_rewards:
        return loss
    chosen, rejected = jax.lax.stop_gradient((beta * (pc - rc), beta * (pr - rr)))
    return loss, checks.nan_unless(beta_ok, chosen), checks.nan_unless(beta_ok, rejected)


def bradley_terry_loss(
    chosen_rewards: ArrayLike,
    rejected_rewards: ArrayLike,
    *,
    margin: ArrayLike | list[float] | tuple[float, ...] | None = None,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Reward-model loss: the chosen completion should out-score the rejected one.

    .. math:: \ell = -\log\sigma(r_c - r_r - m)

    Args:
      chosen_rewards: ``[B]`` scalar rewards of the chosen completions.
      rejected_rewards: ``[B]`` scalar rewards of the rejected completions.
      margin: optional, a number or an array aligned with the leading axes of
        ``[B]`` (as ``weight``): the required gap m (Llama 2's preference-strength
        margin).
      weight: aligned with the leading axes of ``[B]``; rescales each pair's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``);
        rescales each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[B]``; False pairs are left out.
      reduction: ``"mean"`` (over unmasked pairs), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches TRL's ``RewardTrainer`` loss.
    References: Bradley & Terry (1952); Ouyang et al. (2022), "InstructGPT".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.bradley_terry_loss(jnp.array([1.0]), jnp.array([1.0]))), 4)
      0.6931
    """
    fn = "bradley_terry_loss"
    (rc, rr), _ = prepare_arrays(
        fn,
        ("chosen_rewards", "rejected_rewards"),
        (chosen_rewards, rejected_rewards),
        where,
        rank=_ANY_RANK,
    )
    gap = rc - rr
    if margin is not None:
        if isinstance(margin, list | tuple):
            margin = np.asarray(margin)
        checks.check_number(fn, "margin", margin)
        # aligned like weight: a [B] margin on [B, T] rewards applies per row
        gap = gap - align_leading(fn, "margin", jnp.asarray(margin, gap.dtype), gap.shape)
    return reduce_loss(
        fn=fn,
        loss=-log_sigmoid(gap),
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def ppo_policy_loss(
    log_probs: ArrayLike,
    old_log_probs: ArrayLike,
    advantages: ArrayLike,
    *,
    clip_eps: float = 0.2,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""PPO's clipped surrogate objective (as a loss to minimise).

    .. math::
        \ell = -\min\big(\rho A,\ \mathrm{clip}(\rho, 1 - \epsilon, 1 + \epsilon) A\big),
        \qquad \rho = e^{\log\pi - \log\pi_{old}}

    Args:
      log_probs: ``[...]`` per-token (or per-action) log-probabilities under the
        current policy.
      old_log_probs: ``[...]``, the same under the policy that sampled.
      advantages: ``[...]``.
      clip_eps: epsilon > 0, the clip range of the ratio (a traced value <= 0
        gives NaN).
      weight: aligned with the leading axes of ``[...]``; rescales each token's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]`` or ``[B, T]``);
        rescales each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``, e.g. the response mask.
      reduction: ``"mean"`` (over unmasked tokens), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar (mean over unmasked tokens), or ``[...]``.

    Matches the ``pg_loss`` of TRL's PPO trainer. The ratio is formed from the
    log-ratio clipped to [-50, 50] before the exp, so log-ratios of +-1e4 stay finite.
    References: Schulman et al. (2017), "Proximal Policy Optimization Algorithms".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.ppo_policy_loss(jnp.log(jnp.array([2.0])), jnp.zeros(1), jnp.ones(1)))
      -1.2000000476837158
    """
    fn = "ppo_policy_loss"
    clip_ok = checks.option_in_range(fn, "clip_eps", clip_eps, low=0.0, low_open=True)
    (lp, old, adv), _ = prepare_arrays(
        fn,
        ("log_probs", "old_log_probs", "advantages"),
        (log_probs, old_log_probs, advantages),
        where,
        rank=_ANY_RANK,
    )
    ratio = jnp.exp(jnp.clip(lp - old, -50.0, 50.0))
    surrogate = jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * adv)
    surrogate = checks.nan_unless(clip_ok, surrogate)
    return reduce_loss(
        fn=fn,
        loss=-surrogate,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def ppo_value_loss(
    values: ArrayLike,
    old_values: ArrayLike,
    returns: ArrayLike,
    *,
    clip_eps: float | None = None,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""PPO's value loss, optionally clipped around the old values.

    .. math::
        \ell = \tfrac12\max\big((V - R)^2,\
               (V_{old} + \mathrm{clip}(V - V_{old}, -\epsilon, \epsilon) - R)^2\big)

    (:math:`\tfrac12 (V - R)^2` without ``clip_eps``).

    Args:
      values: ``[...]`` value predictions of the current critic.
      old_values: ``[...]`` value predictions when the samples were collected.
      returns: ``[...]`` the regression targets.
      clip_eps: epsilon > 0 (a traced value <= 0 gives NaN), or None for the
        unclipped loss.
      weight: aligned with the leading axes of ``[...]``; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]`` or ``[B, T]``);
        rescales each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``, e.g. the response mask.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    Matches the ``vf_loss`` of TRL's PPO trainer.
    References: Schulman et al. (2017), "Proximal Policy Optimization Algorithms".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.ppo_value_loss(jnp.array([2.0]), jnp.zeros(1), jnp.zeros(1)))
      2.0
    """
    fn = "ppo_value_loss"
    clip_ok = (
        None
        if clip_eps is None
        else checks.option_in_range(fn, "clip_eps", clip_eps, low=0.0, low_open=True)
    )
    (v, old, ret), _ = prepare_arrays(
        fn,
        ("values", "old_values", "returns"),
        (values, old_values, returns),
        where,
        rank=_ANY_RANK,
    )
    loss = jnp.square(v - ret)
    if clip_eps is not None:
        clipped = old + jnp.clip(v - old, -clip_eps, clip_eps)
        loss = checks.nan_unless(clip_ok, jnp.maximum(loss, jnp.square(clipped - ret)))
    return reduce_loss(
        fn=fn,
        loss=0.5 * loss,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def kl_penalty(
    log_probs: ArrayLike,
    ref_log_probs: ArrayLike,
    *,
    kind: str = "k3",
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Per-token estimators of KL(π‖π_ref) from samples of π (Schulman's k1, k2, k3).

    With :math:`r = \log\pi_{ref} - \log\pi`:
    k1 = :math:`-r` (unbiased, high variance), k2 = :math:`r^2/2` (biased, low
    variance), k3 = :math:`e^{r} - 1 - r` (unbiased, non-negative).

    Args:
      log_probs: ``[...]`` log-probabilities of the sampled tokens under the policy.
      ref_log_probs: ``[...]``, the same under the reference model.
      kind: ``"k1"``, ``"k2"`` or ``"k3"``.
      weight: aligned with the leading axes of ``[...]``; rescales each token's penalty.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]`` or ``[B, T]``);
        rescales each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``, e.g. the response mask.
      reduction: ``"mean"`` (over unmasked tokens), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``.

    TRL's ``kl_estimator`` ``"k1"`` and ``"k3"`` are the same estimators. k3's
    exponent is clipped at 50, so log-ratios of 1e4 stay finite.
    References: J. Schulman (2020), "Approximating KL Divergence".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.kl_penalty(jnp.zeros(3), jnp.zeros(3)))
      0.0
    """
    fn = "kl_penalty"
    checks.check_option(fn, "kind", kind, ("k1", "k2", "k3"))
    (lp, ref), _ = prepare_arrays(
        fn, ("log_probs", "ref_log_probs"), (log_probs, ref_log_probs), where, rank=_ANY_RANK
    )
    r = ref - lp
    if kind == "k1":
        loss = -r
    elif kind == "k2":
        loss = 0.5 * r * r
    else:
        loss = jnp.expm1(jnp.minimum(r, 50.0)) - r
    return reduce_loss(
        fn=fn,
        loss=loss,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )
