"""The variational autoencoder's loss: reconstruction plus KL to the prior."""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.reduce import prepare_arrays, reduce_loss, sum_per_sample
from jaxloss._core.types import Array, ArrayLike, AxisName
from jaxloss.losses.classification import binary_cross_entropy_with_logits
from jaxloss.losses.divergence import gaussian_kl

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
      targets: ``[B, ...]`` the data, same shape as ``reconstruction``.
      mean, logvar: ``[B, L]`` encoder outputs.
      beta: weight of the KL term.
      recon_loss: ``"mse"`` or ``"bce_logits"``.
      weight, where: ``[B]``, one per sample.
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
        pointwise = binary_cross_entropy_with_logits(recon, data, reduction="none")
    mean, logvar = jnp.asarray(mean), jnp.asarray(logvar)
    if mean.shape[:1] != recon.shape[:1]:
        checks.fail(
            fn, f"mean has shape {mean.shape}; its batch axis must match targets' {recon.shape}"
        )
    kl = gaussian_kl(mean, logvar, where=where, reduction="none")
    return reduce_loss(
        sum_per_sample(pointwise) + beta * kl,
        fn=fn,
        weight=weight,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )
