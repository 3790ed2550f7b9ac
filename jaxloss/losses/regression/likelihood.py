"""Likelihoods: Poisson and Gaussian negative log-likelihoods."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import xlogy
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
    sample_weights: ArrayLike | None = None,
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
        rates >= 0 (a negative rate gives NaN for its element).
      targets: observed counts >= 0, same shape (a negative count gives NaN for
        its element).
      log_input: whether ``predictions`` are log-rates (a Python bool).
      full: add the Stirling approximation of :math:`\log(y!)` (a Python bool).
      eps: >= 0, added to rates before the log when ``log_input=False``.
      weight: aligned with the leading axes of ``[...]``; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches ``torch.nn.functional.poisson_nll_loss``, except that a zero rate with
    a zero count and ``eps=0`` gives 0 where torch gives NaN. A negative count, or a
    negative rate with ``log_input=False``, gives NaN for that element (torch
    computes a number) and :func:`jaxloss.checked` names the argument; so does a
    traced ``eps`` < 0.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.poisson_nll_loss(jnp.array([0.0]), jnp.array([2.0])))
      1.0
    """
    fn = "poisson_nll_loss"
    checks.check_bool_option(fn, "log_input", log_input)
    checks.check_bool_option(fn, "full", full)
    eps_ok = checks.option_in_range(fn, "eps", eps, low=0.0)
    p, t, _ = prepare_pair(fn, "predictions", predictions, targets, where)
    valid = t >= 0
    checks.require(fn, "targets", valid, t, "non-negative counts")
    if log_input:
        loss = jnp.exp(p) - t * p
    else:
        checks.require(fn, "predictions", p >= 0, p, "non-negative rates (log_input=False)")
        valid = valid & (p >= 0)
        loss = p - xlogy(t, p + eps)  # 0 log 0 = 0: a zero rate and count give 0
    if full:
        # Stirling's log(y!) for y > 1, else 0; written with max and a 0/1 factor
        # rather than selects so that XLA fuses it into the reduction
        safe_t = jnp.maximum(t, 1.0)
        log_t = jnp.log(safe_t)
        stirling = safe_t * log_t - safe_t + 0.5 * (math.log(2 * math.pi) + log_t)
        loss = loss + stirling * (t > 1).astype(t.dtype)
    # a negative count (or rate) has no likelihood: NaN, never a finite number
    loss = checks.nan_unless(eps_ok, jnp.where(valid, loss, jnp.nan))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
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
    sample_weights: ArrayLike | None = None,
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
        (one variance shared over it), that shape with one axis of size 1, or a
        scalar; >= 0 (a negative variance gives NaN for its element).
      full: include the constant (a Python bool).
      eps: > 0; variances are clamped to at least ``eps``; as in torch, the clamp
        passes the gradient straight through. A traced ``eps`` <= 0 gives NaN.
      weight: aligned with the leading axes of ``[...]``; rescales each element's loss.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      where: boolean, aligned with the leading axes of ``[...]``; False elements are left out.
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
    checks.check_bool_option(fn, "full", full)
    eps_ok = checks.option_in_range(fn, "eps", eps, low=0.0, low_open=True)
    p, t, mask = prepare_pair(fn, "predictions", predictions, targets, where)
    v = fill_masked(mask, _variance_like(fn, var, p.shape).astype(p.dtype), 1.0)
    checks.require(fn, "var", v >= 0, v, "non-negative")
    # torch's clamp: the value is max(var, eps), the gradient that of var itself
    clamped = v + jax.lax.stop_gradient(jnp.maximum(v, eps) - v)
    loss = 0.5 * (jnp.log(clamped) + jnp.square(p - t) / clamped)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    loss = checks.nan_unless(eps_ok, jnp.where(v < 0, jnp.nan, loss))
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        axis_name=axis_name,
    )
