"""The denoising diffusion loss, with Min-SNR weighting."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.reduce import mean_per_sample, prepare_arrays, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["diffusion_loss"]

PARAMETERIZATIONS = ("epsilon", "v", "x0")


def diffusion_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    snr: ArrayLike | None = None,
    min_snr_gamma: float | None = None,
    parameterization: str = "epsilon",
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Denoising diffusion loss: per-sample MSE, optionally Min-SNR weighted.

    .. math::
        \ell_b = w(\mathrm{snr}_b)\,\frac{1}{N}\sum_i (\hat y_{bi} - y_{bi})^2, \qquad
        w = \begin{cases} \min(\mathrm{snr}, \gamma)/\mathrm{snr} & \text{epsilon} \\
                          \min(\mathrm{snr}, \gamma)/(\mathrm{snr} + 1) & \text{v} \\
                          \min(\mathrm{snr}, \gamma) & \text{x0} \end{cases}

    Args:
      predictions: ``[B, ...]`` the network's output.
      targets: ``[B, ...]`` the noise (epsilon), the velocity (v) or the clean
        sample (x0), matching ``parameterization``.
      snr: ``[B]`` signal-to-noise ratio alpha_t^2 / sigma_t^2 >= 0 of each
        sample's timestep (a negative one gives NaN for its sample); needed with
        ``min_snr_gamma``, and not read without it.
      min_snr_gamma: gamma > 0 of Min-SNR weighting (5 in the paper); None: w = 1.
      parameterization: ``"epsilon"``, ``"v"`` or ``"x0"``.
      weight, where: ``[B]``, one per sample.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    At snr = 0 the epsilon weight is its limit 1, not 0 / 0. The weight carries no
    gradient.
    References: Ho et al. (2020), "Denoising Diffusion Probabilistic Models";
    Hang et al. (2023), "Efficient Diffusion Training via Min-SNR Weighting
    Strategy".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.ones((2, 4)), jnp.zeros((2, 4))
      >>> jaxloss.diffusion_loss(p, t, snr=jnp.array([1.0, 10.0]), min_snr_gamma=5.0,
      ...                        reduction="none")
      Array([1. , 0.5], dtype=float32)
    """
    fn = "diffusion_loss"
    checks.check_option(fn, "parameterization", parameterization, PARAMETERIZATIONS)
    if min_snr_gamma is not None:
        checks.check_range(fn, "min_snr_gamma", min_snr_gamma, low=0.0, low_open=True)
    (pred, tgt), mask = prepare_arrays(
        fn, ("predictions", "targets"), (predictions, targets), where, mask_axes=1
    )
    loss = mean_per_sample(jnp.square(pred - tgt))
    if min_snr_gamma is not None:
        if snr is None:
            checks.fail(fn, "min_snr_gamma needs snr, the [B] signal-to-noise ratios")
        s = jnp.asarray(snr)
        checks.check_floating(fn, "snr", s)
        if s.shape != loss.shape:
            checks.fail(fn, f"snr has shape {s.shape}; expected {loss.shape}, one per sample")
        s = s.astype(loss.dtype)
        if mask is not None:  # a masked sample's snr may hold anything (padding)
            s = jnp.where(mask, s, 1.0)
        # a negative ratio would give a finite but meaningless weight: NaN instead
        valid = s >= 0
        checks.require(fn, "snr", valid, s, "non-negative signal-to-noise ratios")
        loss = jnp.where(valid, loss, jnp.nan)
        clipped = jnp.minimum(s, min_snr_gamma)
        if parameterization == "epsilon":
            w = jnp.where(s <= min_snr_gamma, 1.0, min_snr_gamma / jnp.maximum(s, min_snr_gamma))
        elif parameterization == "v":
            w = clipped / (s + 1.0)
        else:
            w = clipped
        loss = jax.lax.stop_gradient(w) * loss
    return reduce_loss(
        loss,
        fn=fn,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )
