"""Likelihoods: Poisson and Gaussian negative log-likelihoods."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.reduce import fill_masked, prepare_pair, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["gaussian_nll_loss", "poisson_nll_loss"]


def poisson_nll_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Negative log-likelihood of counts under a Poisson distribution.

    .. math::
        \ell_i = \begin{cases} e^{\hat y_i} - y_i \hat y_i & \text{log\_input} \\
                 \hat y_i - y_i \log(\hat y_i + \epsilon) & \text{otherwise} \end{cases}
        \; [+\; y_i \log y_i - y_i + \tfrac12\log(2\pi y_i) \text{ if full and } y_i > 1]

    Args:
      predictions: ``[...]`` log-rates if ``log_input`` (the stable choice), else
        rates >= 0.
      targets: observed counts, same shape.
      log_input: whether ``predictions`` are log-rates.
      full: add the Stirling approximation of :math:`\log(y!)`.
      eps: added to rates before the log when ``log_input=False``.
      weight: broadcastable to ``[...]``; rescales each element's loss.
      where: boolean, broadcastable to ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches ``torch.nn.functional.poisson_nll_loss``. A negative rate with
    ``log_input=False`` gives NaN for that element; :func:`jaxloss.checked` reports it.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.poisson_nll_loss(jnp.array([0.0]), jnp.array([2.0])))
      1.0
    """
    fn = "poisson_nll_loss"
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    checks.require(fn, "targets", t >= 0, t, "non-negative counts")
    if log_input:
        loss = jnp.exp(p) - t * p
    else:
        checks.require(fn, "predictions", p >= 0, p, "non-negative rates (log_input=False)")
        loss = p - t * jnp.log(p + eps)
    if full:
        # Stirling's log(y!) for y > 1, else 0; written with max and a 0/1 factor
        # rather than selects so that XLA fuses it into the reduction
        safe_t = jnp.maximum(t, 1.0)
        log_t = jnp.log(safe_t)
        stirling = safe_t * log_t - safe_t + 0.5 * (math.log(2 * math.pi) + log_t)
        loss = loss + stirling * (t > 1).astype(t.dtype)
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=where, axis_name=axis_name
    )


def _variance_like(fn: str, var: ArrayLike, shape: tuple[int, ...]) -> Array:
    """Shapes ``var`` as torch's ``gaussian_nll_loss`` accepts it, or raises."""
    var = jnp.asarray(var)
    checks.check_floating(fn, "var", var)
    if var.ndim == 0 or var.shape == shape:
        return var
    if var.shape == shape[:-1]:
        return var[..., None]
    mismatched = [(a, b) for a, b in zip(shape, var.shape, strict=False) if a != b]
    if var.ndim == len(shape) and len(mismatched) == 1 and mismatched[0][1] == 1:
        return var
    checks.fail(
        fn,
        f"var has shape {var.shape}; expected predictions' shape {shape}, that shape "
        f"without its last axis {shape[:-1]}, or it with one axis of size 1",
    )


def gaussian_nll_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    var: ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    weight: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Negative log-likelihood of targets under :math:`\mathcal N(\hat y, \sigma^2)`.

    .. math::
        \ell_i = \tfrac12\Big(\log\max(\sigma_i^2, \epsilon)
                 + \frac{(\hat y_i - y_i)^2}{\max(\sigma_i^2, \epsilon)}\Big)
                 \;[+\; \tfrac12 \log 2\pi \text{ if full}]

    Args:
      predictions: ``[...]`` predicted means.
      targets: same shape.
      var: predicted variances: same shape, ``[...]`` without the last axis
        (one variance shared over it), that shape with one axis of size 1, or a scalar.
      full: include the constant.
      eps: variances are clamped to at least ``eps``; as in torch, the clamp passes
        the gradient straight through.
      weight: broadcastable to ``[...]``; rescales each element's loss.
      where: boolean, broadcastable to ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches ``torch.nn.functional.gaussian_nll_loss``. Where torch raises on a
    negative variance, jaxloss gives NaN for that element and
    :func:`jaxloss.checked` reports it. References: Nix & Weigend (1994),
    "Estimating the Mean and Variance of the Target Probability Distribution".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.gaussian_nll_loss(jnp.array([0.0]), jnp.array([2.0]), jnp.array([1.0])))
      2.0
    """
    fn = "gaussian_nll_loss"
    p, t, mask = prepare_pair(fn, "predictions", predictions, targets, where)
    v = fill_masked(mask, _variance_like(fn, var, p.shape).astype(p.dtype), 1.0)
    checks.require(fn, "var", v >= 0, v, "non-negative")
    # torch's clamp: the value is max(var, eps), the gradient that of var itself
    clamped = v + jax.lax.stop_gradient(jnp.maximum(v, eps) - v)
    loss = 0.5 * (jnp.log(clamped) + jnp.square(p - t) / clamped)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    loss = jnp.where(v < 0, jnp.nan, loss)
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=where, axis_name=axis_name
    )
