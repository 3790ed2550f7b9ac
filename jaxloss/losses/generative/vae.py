"""The variational autoencoder's loss: reconstruction plus KL to the prior."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import bce_logits
from jaxloss._core.reduce import prepare_arrays, reduce_loss, sum_per_sample
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.divergence import gaussian_kl_rows

__all__ = ["vae_loss"]


def vae_loss(
    reconstruction: ArrayLike,
    targets: ArrayLike,
    mean: ArrayLike,
    logvar: ArrayLike,
    *,
    beta: float = 1.0,
    recon_loss: str = "mse",
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""The negative ELBO of a Gaussian VAE (beta-VAE with ``beta != 1``).

    .. math::
        \ell_b = \sum_i r(\hat x_{bi}, x_{bi})
                 + \beta\,D_{KL}\big(\mathcal N(\mu_b, e^{v_b}) \,\|\, \mathcal N(0, I)\big)

    with :math:`r` the squared error (``recon_loss="mse"``) or BCE on logits
    (``"bce_logits"``, for data in [0, 1]), summed over every non-batch axis.

    Args:
      reconstruction: ``[B, ...]`` decoder output (logits for ``"bce_logits"``).
      targets: ``[B, ...]`` the data, same shape as ``reconstruction``; in [0, 1]
        for ``"bce_logits"`` (a sample holding a value outside gives NaN).
      mean, logvar: ``[B, ...]`` encoder outputs (``[B, L]``, or a latent map
        such as ``[B, H, W, C]``); the KL is summed over every non-batch axis.
      beta: weight of the KL term, >= 0.
      recon_loss: ``"mse"`` or ``"bce_logits"``.
      weight, where: ``[B]``, one per sample.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"`` (over samples), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar (mean over samples), or ``[B]`` for ``reduction="none"``.

    References: Kingma & Welling (2014), "Auto-Encoding Variational Bayes";
    Higgins et al. (2017), "beta-VAE".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.ones((2, 3))
      >>> float(jaxloss.vae_loss(x, x, jnp.zeros((2, 4)), jnp.zeros((2, 4))))
      0.0
    """
    fn = "vae_loss"
    checks.check_option(fn, "recon_loss", recon_loss, ("mse", "bce_logits"))
    checks.check_range(fn, "beta", beta, low=0.0)
    (recon, data), _ = prepare_arrays(
        fn, ("reconstruction", "targets"), (reconstruction, targets), where, mask_axes=1
    )
    if recon_loss == "mse":
        pointwise = jnp.square(recon - data)
    else:
        ok = (data >= 0) & (data <= 1)
        checks.require(fn, "targets", ok, data, "in [0, 1] (recon_loss='bce_logits')")
        pointwise = jnp.where(ok, bce_logits(recon, data), jnp.nan)
    mean, logvar = jnp.asarray(mean), jnp.asarray(logvar)
    for name, latent in (("mean", mean), ("logvar", logvar)):
        if latent.ndim < 2 or latent.shape[0] != recon.shape[0]:
            checks.fail(
                fn,
                f"{name} has shape {latent.shape}; expected [B, ...] with the batch axis "
                f"of reconstruction {recon.shape}, B = {recon.shape[0]}",
            )
    kl = gaussian_kl_rows(fn, mean, logvar, None, None, -1, where)
    return reduce_loss(
        sum_per_sample(pointwise) + beta * sum_per_sample(kl),
        fn=fn,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )
