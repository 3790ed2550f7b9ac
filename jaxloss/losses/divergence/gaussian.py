"""The closed-form KL divergence of diagonal Gaussians (the VAE prior term)."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.reduce import reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.divergence._common import distributions

__all__ = ["gaussian_kl", "gaussian_kl_rows"]


def gaussian_kl_rows(
    fn: str,
    mean: ArrayLike,
    logvar: ArrayLike,
    mean2: ArrayLike | None,
    logvar2: ArrayLike | None,
    axis: int,
    where: ArrayLike | None,
) -> Array:
    """:func:`gaussian_kl`'s unreduced ``[...]`` (masked rows 0 before reduction),
    for losses built on it: every error names ``fn``."""
    if (mean2 is None) != (logvar2 is None):
        checks.fail(fn, "mean2 and logvar2 go together: pass both or neither")
    if mean2 is None or logvar2 is None:
        names: tuple[str, ...] = ("mean", "logvar")
        mu, lv = distributions(fn, names, (mean, logvar), axis, where)
        terms = jnp.expm1(lv) - lv + mu * mu
    else:
        names = ("mean", "logvar", "mean2", "logvar2")
        arrays = (mean, logvar, mean2, logvar2)
        mu, lv, mu2, lv2 = distributions(fn, names, arrays, axis, where)
        d = mu - mu2
        terms = lv2 - lv + (jnp.exp(lv) + d * d) * jnp.exp(-lv2) - 1.0
    return 0.5 * jnp.sum(terms, axis=-1)


def gaussian_kl(
    mean: ArrayLike,
    logvar: ArrayLike,
    *,
    mean2: ArrayLike | None = None,
    logvar2: ArrayLike | None = None,
    axis: int = -1,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Closed-form KL of diagonal Gaussians, summed over the latent axis.

    .. math::
        D_{KL}\big(\mathcal N(\mu_1, e^{v_1}) \,\|\, \mathcal N(\mu_2, e^{v_2})\big)
        = \tfrac12\sum_k \Big(v_2 - v_1 + \frac{e^{v_1} + (\mu_1 - \mu_2)^2}{e^{v_2}} - 1\Big)

    with :math:`\mu_2 = 0, v_2 = 0` (the VAE prior N(0, I)) by default.

    Args:
      mean, logvar: ``[..., L]`` of the first Gaussian (the encoder's output).
      mean2, logvar2: optional ``[..., L]`` of the second.
      axis: the latent axis summed over (``axis=1`` for ``[N, L, ...]``).
      weight, where: aligned with the leading axes of ``[...]`` (one value per sample).
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar (the mean over samples of each sample's KL), or ``[...]`` (the axes
      other than ``axis``) for ``reduction="none"``.

    Finite for log-variances of +-30 and beyond (no variance is ever divided by);
    a NaN input gives NaN.
    References: Kingma & Welling (2014), "Auto-Encoding Variational Bayes".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.gaussian_kl(jnp.zeros((1, 4)), jnp.zeros((1, 4))))
      0.0
    """
    fn = "gaussian_kl"
    loss = gaussian_kl_rows(fn, mean, logvar, mean2, logvar2, axis, where)
    return reduce_loss(
        fn=fn,
        loss=loss,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )
