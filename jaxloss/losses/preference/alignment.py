"""Preference losses without a paired reference: ORPO and SimPO (reference-free,
on length-normalised log-probabilities) and KTO (unpaired desirable and
undesirable completions against a reference model).

Every loss is written in log-space from the log-probabilities, so log-ratios of
+-1e4 and log-probabilities of exactly 0 (probability 1) stay finite in value and
gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import LOG_CLAMP, log_sigmoid, softplus, upcast
from jaxloss._core.reduce import fill_masked, mask_of, prepare_arrays, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["kto_loss", "orpo_loss", "simpo_loss"]

# per-sequence values [B], per-token values [B, T], or a single scalar
_ANY_RANK = set(range(33))
_LN2 = 0.6931471805599453


def _log1mexp(x: Array) -> Array:
    """log(1 - e^x) for x <= 0, accurate at both ends (Maechler's two forms),
    floored at -100 as torch's binary cross-entropy floors its logs; NaN for x > 0."""
    raw = jnp.where(x < -_LN2, jnp.log1p(-jnp.exp(x)), jnp.log(-jnp.expm1(x)))
    return jnp.maximum(raw, LOG_CLAMP)


@jax.custom_jvp
def _odds_ratio_nll(chosen: Array, rejected: Array) -> Array:
    """-log sigma(log odds(chosen) - log odds(rejected)), odds(x) = e^x / (1 - e^x)."""
    log_odds = (chosen - _log1mexp(chosen)) - (rejected - _log1mexp(rejected))
    return softplus(-log_odds)


@_odds_ratio_nll.defjvp
def _odds_ratio_nll_jvp(primals, tangents):
    # d log odds(x) / dx = 1 / (1 - e^x), huge as x -> 0 while sigma(-log_odds) is
    # tiny: their product is formed in log-space, exp(log sigma(-lo) - log(1 - e^x)),
    # so it stays finite (its limit at x = 0 is the other side's odds)
    (c, r), (tc, tr) = primals, tangents
    lc, lr = _log1mexp(c), _log1mexp(r)
    log_odds = (c - lc) - (r - lr)
    log_tail = log_sigmoid(-log_odds)
    # where the floor holds, log(1 - e^x) is constant and the derivative is 1
    gc = jnp.where(lc > LOG_CLAMP, -lc, 0.0)
    gr = jnp.where(lr > LOG_CLAMP, -lr, 0.0)
    return softplus(-log_odds), -jnp.exp(log_tail + gc) * tc + jnp.exp(log_tail + gr) * tr


def _log_probs_at_most_zero(fn: str, names: tuple[str, ...], arrays: list[Array], mask) -> None:
    """Declares that (unmasked) log-probabilities are <= 0, for :func:`checked`."""
    for name, x in zip(names, arrays, strict=True):
        ok = x <= 0 if mask is None else (x <= 0) | ~mask
        checks.require(fn, name, ok, x, "a log-probability (<= 0)")


def orpo_loss(
    chosen_logps: ArrayLike,
    rejected_logps: ArrayLike,
    *,
    beta: float = 0.1,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""ORPO's odds-ratio term: the chosen completion's odds must beat the rejected one's.

    With average per-token log-probabilities :math:`c, r` and
    :math:`\operatorname{odds}(x) = e^x / (1 - e^x)`:

    .. math::
        \ell = -\beta \log\sigma\Big(\log\frac{\operatorname{odds}(c)}{\operatorname{odds}(r)}\Big),
        \qquad \log\operatorname{odds}(x) = x - \log(1 - e^x)

    This is the odds-ratio term only: ORPO's full objective adds the chosen
    completion's negative log-likelihood, e.g. ``jaxloss.causal_lm_loss`` on the
    chosen tokens plus this loss (by hand or with :func:`jaxloss.combine`).

    Args:
      chosen_logps: ``[B]`` average per-token log-probabilities (<= 0) of the
        chosen completions under the policy (``sequence_log_probs`` divided by
        the completion lengths).
      rejected_logps: ``[B]``, the same for the rejected completions.
      beta: lambda > 0 in the paper, the weight of the odds-ratio term (a traced
        value <= 0 gives NaN).
      weight: aligned with the leading axes of ``[B]``; rescales each pair's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``);
        rescales each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[B]``; False pairs are left out.
      reduction: ``"mean"`` (over unmasked pairs), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches TRL's ``ORPOTrainer.odds_ratio_loss`` (the loss is TRL's
    ``-losses.mean()``). :math:`\log(1 - e^x)` is computed with ``log1p``/``expm1``
    and floored at -100 as torch floors the logs of ``binary_cross_entropy``, so a
    log-probability of exactly 0 gives a finite loss, and the gradient is written in
    closed form in log-space: finite everywhere, where TRL's formula gives inf/NaN.
    A positive log-probability gives NaN.
    References: Hong et al. (2024), "ORPO: Monolithic Preference Optimization
    without Reference Model"; huggingface/trl ``trl/trainer/orpo_trainer.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> c, r = jnp.log(jnp.array([0.5])), jnp.log(jnp.array([0.5]))
      >>> round(float(jaxloss.orpo_loss(c, r, beta=1.0)), 4)
      0.6931
    """
    fn = "orpo_loss"
    beta_ok = checks.option_in_range(fn, "beta", beta, low=0.0, low_open=True)
    names = ("chosen_logps", "rejected_logps")
    (c, r), mask = prepare_arrays(fn, names, (chosen_logps, rejected_logps), where, rank=_ANY_RANK)
    _log_probs_at_most_zero(fn, names, [c, r], mask)
    loss = checks.nan_unless(beta_ok, beta * _odds_ratio_nll(c, r))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def simpo_loss(
    chosen_logps: ArrayLike,
    rejected_logps: ArrayLike,
    *,
    beta: float = 2.0,
    gamma: float = 0.5,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""SimPO: a reference-free DPO on length-normalised log-probabilities, with a
    target reward margin.

    .. math:: \ell = -\log\sigma\big(\beta (c - r) - \gamma\big)

    with :math:`c, r` the average per-token log-probabilities of the chosen and
    rejected completions.

    Args:
      chosen_logps: ``[B]`` average per-token log-probabilities of the chosen
        completions under the policy.
      rejected_logps: ``[B]``, the same for the rejected completions.
      beta: > 0, the reward scale (a traced value <= 0 gives NaN).
      gamma: the target reward margin (TRL's ``simpo_gamma``).
      weight: aligned with the leading axes of ``[B]``; rescales each pair's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``);
        rescales each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[B]``; False pairs are left out.
      reduction: ``"mean"`` (over unmasked pairs), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches TRL's ``CPOTrainer`` with ``loss_type="simpo"`` and
    ``label_smoothing=0``; TRL's default ``cpo_alpha=1.0`` also adds the chosen
    NLL, which SimPO itself leaves out (set ``cpo_alpha=0`` in TRL to compare).
    References: Meng et al. (2024), "SimPO: Simple Preference Optimization with a
    Reference-Free Reward"; huggingface/trl ``trl/trainer/cpo_trainer.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.zeros(1)
      >>> round(float(jaxloss.simpo_loss(z, z, gamma=0.0)), 4)
      0.6931
    """
    fn = "simpo_loss"
    beta_ok = checks.option_in_range(fn, "beta", beta, low=0.0, low_open=True)
    checks.check_range(fn, "gamma", gamma)
    (c, r), _ = prepare_arrays(
        fn,
        ("chosen_logps", "rejected_logps"),
        (chosen_logps, rejected_logps),
        where,
        rank=_ANY_RANK,
    )
    loss = checks.nan_unless(beta_ok, softplus(gamma - beta * (c - r)))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )


def _scalar_kl(fn: str, kl: ArrayLike, dtype) -> Array:
    """The batch KL estimate as a scalar of ``dtype``, held constant and clamped at 0."""
    value = jnp.asarray(kl)
    checks.check_floating(fn, "kl", value)
    if value.size != 1:
        checks.fail(fn, f"kl must be a scalar (the batch KL estimate); got shape {value.shape}")
    value = value.reshape(()).astype(dtype)
    return jnp.maximum(jax.lax.stop_gradient(value), 0.0)


def kto_loss(
    policy_chosen_logps: ArrayLike,
    policy_rejected_logps: ArrayLike,
    ref_chosen_logps: ArrayLike,
    ref_rejected_logps: ArrayLike,
    kl: ArrayLike,
    *,
    beta: float = 0.1,
    desirable_weight: float = 1.0,
    undesirable_weight: float = 1.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Kahneman-Tversky optimisation: unpaired desirable and undesirable completions,
    each judged against the policy's KL to the reference.

    With log-ratios :math:`x = \log\pi - \log\pi_{ref}` and :math:`z` = ``kl``
    (held constant, clamped at 0):

    .. math::
        \ell_{\text{chosen}} = \lambda_D \big(1 - \sigma(\beta (x - z))\big), \qquad
        \ell_{\text{rejected}} = \lambda_U \big(1 - \sigma(\beta (z - x))\big)

    Args:
      policy_chosen_logps: ``[Nc]`` summed log-probabilities of the desirable
        completions under the policy.
      policy_rejected_logps: ``[Nr]``, the same for the undesirable completions;
        ``Nr`` need not equal ``Nc`` (either may be 0).
      ref_chosen_logps: ``[Nc]``, the desirable completions under the reference model.
      ref_rejected_logps: ``[Nr]``, the undesirable completions under the reference model.
      kl: a scalar, the batch estimate of KL(policy || reference) (TRL: the mean of
        the log-ratios of mismatched prompt/completion pairs, averaged over
        devices). It gets no gradient and is clamped at 0.
      beta: > 0, the strength of the implicit KL constraint (a traced value <= 0
        gives NaN).
      desirable_weight: lambda_D >= 0, the weight of the desirable losses.
      undesirable_weight: lambda_U >= 0, the weight of the undesirable losses.
      weight: aligned with the leading axes of the concatenation ``[Nc + Nr]``
        (desirable first); rescales each completion's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[Nc + Nr]``);
        rescales each example's loss without changing the mean's denominator.
      where: boolean, aligned like ``weight``; False completions are left out.
      reduction: ``"mean"`` (over all unmasked completions, desirable and
        undesirable together), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or for ``reduction="none"`` the ``[Nc + Nr]`` concatenation of the
      desirable losses then the undesirable ones.

    Matches TRL's ``KTOTrainer`` (``loss_type="kto"``): its ``losses.nanmean()``
    over the concatenation. ``1 - sigma(t)`` is computed as ``sigma(-t)``, exact
    for log-ratios of +-1e4.
    References: Ethayarajh et al. (2024), "KTO: Model Alignment as Prospect
    Theoretic Optimization"; huggingface/trl ``trl/trainer/kto_trainer.py``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> z = jnp.zeros(2)
      >>> float(jaxloss.kto_loss(z, z[:1], z, z[:1], 0.0))
      0.5
    """
    fn = "kto_loss"
    beta_ok = checks.option_in_range(fn, "beta", beta, low=0.0, low_open=True)
    checks.check_range(fn, "desirable_weight", desirable_weight, low=0.0)
    checks.check_range(fn, "undesirable_weight", undesirable_weight, low=0.0)
    (pc, rc), _ = prepare_arrays(
        fn,
        ("policy_chosen_logps", "ref_chosen_logps"),
        (policy_chosen_logps, ref_chosen_logps),
        None,
        rank=1,
    )
    (pr, rr), _ = prepare_arrays(
        fn,
        ("policy_rejected_logps", "ref_rejected_logps"),
        (policy_rejected_logps, ref_rejected_logps),
        None,
        rank=1,
    )
    pc, rc, pr, rr = upcast(pc, rc, pr, rr)
    z = _scalar_kl(fn, kl, pc.dtype)
    x = jnp.concatenate([pc - rc, pr - rr])
    desirable = jnp.arange(x.shape[0]) < pc.shape[0]
    mask = mask_of(fn, where, x.shape)
    x = fill_masked(mask, x, 0.0)
    # 1 - sigma(t) = sigma(-t): exact where 1 - sigma(t) would round to 0
    t = jnp.where(desirable, z - x, x - z)
    scale = jnp.where(desirable, desirable_weight, undesirable_weight)
    loss = checks.nan_unless(beta_ok, scale * jax.nn.sigmoid(beta * t))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )
