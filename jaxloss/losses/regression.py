"""Regression losses: squared, absolute, robust, relative, quantile and likelihood.

Every function takes ``predictions`` and ``targets`` of the same shape (never
broadcast silently), computes in float32 or wider, and shares ``weight``,
``where``, ``reduction`` and ``axis_name`` through :func:`jaxloss._reduce.reduce_loss`.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import abs_, log_cosh, safe_sqrt
from jaxloss._core.reduce import fill_masked, prepare_pair, reduce_loss
from jaxloss._core.types import Array, AxisName
from jaxloss.catalogue.registry import Example, LossSpec
from jaxloss.catalogue.registry import add_spec as register

__all__ = [
    "gaussian_nll_loss",
    "huber_loss",
    "l1_loss",
    "log_cosh_loss",
    "mae_loss",
    "mape_loss",
    "mse_loss",
    "msle_loss",
    "poisson_nll_loss",
    "quantile_loss",
    "rmse_loss",
    "smooth_l1_loss",
]


def _prepare(fn: str, predictions: Array, targets: Array, where: Array | None):
    return prepare_pair(fn, "predictions", predictions, targets, where)


def mse_loss(
    predictions: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Mean squared error, :math:`\ell_i = (\hat y_i - y_i)^2`.

    Args:
      predictions: ``[...]`` model outputs.
      targets: same shape as ``predictions``.
      weight: broadcastable to ``[...]``; rescales each element's loss.
      where: boolean, broadcastable to ``[...]``; False elements are left out.
      reduction: ``"mean"`` (over unmasked elements), ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"``; float32 or wider.

    Matches ``torch.nn.functional.mse_loss``. One deliberate difference: with a
    ``weight``, torch 2.13 divides the mean by ``weight.sum()``; jaxloss divides by
    the element count, as torch's ``huber_loss`` and ``binary_cross_entropy`` do.
    Use ``reduction="sum"`` and divide by ``weight.sum()`` for torch's form.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.mse_loss(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0])))
      2.0
    """
    p, t, _ = _prepare("mse_loss", predictions, targets, where)
    return reduce_loss(
        jnp.square(p - t),
        fn="mse_loss",
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def l1_loss(
    predictions: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Mean absolute error, :math:`\ell_i = |\hat y_i - y_i|`.

    Arguments and returns as :func:`mse_loss`. Matches ``torch.nn.functional.l1_loss``
    including its gradient 0 at zero error (``jnp.abs`` would give 1); the weighted
    mean divides by the element count (see :func:`mse_loss`). Alias: ``mae_loss``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.l1_loss(jnp.array([1.0, 2.0]), jnp.array([1.0, 5.0])))
      1.5
    """
    p, t, _ = _prepare("l1_loss", predictions, targets, where)
    return reduce_loss(
        abs_(p - t),
        fn="l1_loss",
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


mae_loss = l1_loss


def rmse_loss(
    predictions: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Root mean squared error: the square root of :func:`mse_loss`.

    .. math:: \text{RMSE} = \sqrt{\tfrac{1}{n}\textstyle\sum_i w_i (\hat y_i - y_i)^2}

    With ``reduction="sum"`` it is the Euclidean norm of the (weighted) error and
    with ``"none"`` the elementwise :math:`\sqrt{w_i}\,|\hat y_i - y_i|`. The gradient
    at zero error is 0, not the NaN of a plain ``sqrt``. Under ``axis_name`` the
    square root is taken of the global mean.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.rmse_loss(jnp.array([0.0, 0.0]), jnp.array([3.0, 4.0])))
      3.535533905029297
    """
    p, t, _ = _prepare("rmse_loss", predictions, targets, where)
    mean_squared = reduce_loss(
        jnp.square(p - t),
        fn="rmse_loss",
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )
    return safe_sqrt(mean_squared)


def huber_loss(
    predictions: Array,
    targets: Array,
    *,
    delta: float = 1.0,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Huber loss: quadratic for small errors, linear (slope ``delta``) for large ones.

    .. math::
        \ell_i = \begin{cases} \tfrac12 e_i^2 & |e_i| < \delta \\
                 \delta\,(|e_i| - \tfrac12\delta) & \text{otherwise} \end{cases},
        \quad e_i = \hat y_i - y_i

    Args:
      delta: the error size where the loss turns linear; must be > 0.
      Others as :func:`mse_loss`.

    Matches ``torch.nn.functional.huber_loss`` (with ``weight``) and
    ``optax.losses.huber_loss``. References: Huber (1964), "Robust Estimation of a
    Location Parameter".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.huber_loss(jnp.array([0.5, 3.0]), jnp.array([0.0, 0.0])))
      1.3125
    """
    checks.check_range("huber_loss", "delta", delta, low=0.0, low_open=True)
    p, t, _ = _prepare("huber_loss", predictions, targets, where)
    error = abs_(p - t)
    loss = jnp.where(error < delta, 0.5 * jnp.square(error), delta * (error - 0.5 * delta))
    return reduce_loss(
        loss,
        fn="huber_loss",
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def smooth_l1_loss(
    predictions: Array,
    targets: Array,
    *,
    beta: float = 1.0,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Smooth L1: Huber divided by ``beta``, so its linear part has slope 1.

    .. math::
        \ell_i = \begin{cases} \tfrac{1}{2\beta} e_i^2 & |e_i| < \beta \\
                 |e_i| - \tfrac12\beta & \text{otherwise} \end{cases}

    ``beta=0`` is exactly :func:`l1_loss`, with finite gradients at zero error.
    Matches ``torch.nn.functional.smooth_l1_loss`` (Fast R-CNN's box loss).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.smooth_l1_loss(jnp.array([0.5, 3.0]), jnp.array([0.0, 0.0])))
      1.3125
    """
    checks.check_range("smooth_l1_loss", "beta", beta, low=0.0)
    p, t, _ = _prepare("smooth_l1_loss", predictions, targets, where)
    error = abs_(p - t)
    quadratic = error < beta
    # beta = 0 never selects the quadratic branch; keep its division finite anyway
    safe_beta = jnp.where(quadratic, beta, 1.0)
    loss = jnp.where(quadratic, 0.5 * jnp.square(error) / safe_beta, error - 0.5 * beta)
    return reduce_loss(
        loss,
        fn="smooth_l1_loss",
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def log_cosh_loss(
    predictions: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Log-cosh loss, :math:`\ell_i = \log\cosh(\hat y_i - y_i)`.

    About :math:`e^2/2` for small errors and :math:`|e| - \log 2` for large ones;
    computed as ``logaddexp(e, -e) - log 2`` so errors of 1e4 do not overflow.
    Matches ``optax.losses.log_cosh`` and Keras ``LogCosh``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.log_cosh_loss(jnp.array([1e4]), jnp.array([0.0]))), 1)
      9999.3
    """
    p, t, _ = _prepare("log_cosh_loss", predictions, targets, where)
    return reduce_loss(
        log_cosh(p - t),
        fn="log_cosh_loss",
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def quantile_loss(
    predictions: Array,
    targets: Array,
    *,
    quantiles: float | Array = 0.5,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Pinball (quantile) loss for one quantile or a vector of quantiles.

    .. math:: \ell_i = \max\big(q\,(y_i - \hat y_i),\; (q - 1)(y_i - \hat y_i)\big)

    Args:
      predictions: ``[...]`` for a scalar ``quantiles``; ``[..., Q]`` for a vector
        of ``Q`` quantiles (one prediction per quantile on the last axis).
      targets: same shape as ``predictions``, or ``[...]`` (one target shared by
        the ``Q`` predicted quantiles) when ``quantiles`` is a vector.
      quantiles: in [0, 1]; scalar or ``[Q]``. 0.5 gives half the absolute error.

    Returns:
      A scalar, or ``predictions``' shape for ``"none"``.

    References: Koenker & Bassett (1978), "Regression Quantiles".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.quantile_loss(jnp.array([0.0]), jnp.array([2.0]), quantiles=0.9)), 4)
      1.8
    """
    fn = "quantile_loss"
    predictions, q = jnp.asarray(predictions), jnp.asarray(quantiles)
    if q.ndim > 1:
        checks.fail(fn, f"quantiles must be a scalar or a vector; got shape {q.shape}")
    if q.ndim == 1:
        if predictions.shape[-1:] != q.shape:
            checks.fail(
                fn,
                f"predictions must have the {q.shape[0]} quantiles on its last axis; "
                f"got shape {predictions.shape}",
            )
        if jnp.shape(targets) == predictions.shape[:-1]:
            targets = jnp.broadcast_to(jnp.expand_dims(targets, -1), predictions.shape)
    checks.check_range(fn, "quantiles", quantiles, low=0.0, high=1.0)
    p, t, _ = _prepare(fn, predictions, targets, where)
    error = t - p
    q = q.astype(p.dtype)
    loss = jnp.maximum(q * error, (q - 1.0) * error)
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=where, axis_name=axis_name
    )


def mape_loss(
    predictions: Array,
    targets: Array,
    *,
    eps: float = 1e-7,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Mean absolute percentage error, in percent.

    .. math:: \ell_i = 100\,\frac{|y_i - \hat y_i|}{\max(|y_i|, \epsilon)}

    ``eps`` keeps a zero target finite (the loss is then huge, as it should be).
    Matches Keras ``MeanAbsolutePercentageError`` (whose epsilon is 1e-7).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.mape_loss(jnp.array([110.0, 45.0]), jnp.array([100.0, 50.0])))
      10.0
    """
    checks.check_range("mape_loss", "eps", eps, low=0.0, low_open=True)
    p, t, _ = _prepare("mape_loss", predictions, targets, where)
    loss = 100.0 * abs_(t - p) / jnp.maximum(jnp.abs(t), eps)
    return reduce_loss(
        loss,
        fn="mape_loss",
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def msle_loss(
    predictions: Array,
    targets: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Mean squared logarithmic error.

    .. math:: \ell_i = \big(\log(1 + \max(\hat y_i, 0)) - \log(1 + \max(y_i, 0))\big)^2

    For non-negative quantities spanning orders of magnitude. Negative values are
    clamped to 0 as Keras ``MeanSquaredLogarithmicError`` does (it clamps at 1e-7,
    a difference below float32 resolution of the loss); :func:`jaxloss.checked`
    reports negative targets.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.msle_loss(jnp.array([0.0]), jnp.array([jnp.e - 1]))), 6)
      1.0
    """
    p, t, _ = _prepare("msle_loss", predictions, targets, where)
    checks.require("msle_loss", "targets", t >= 0, t, "non-negative")
    loss = jnp.square(jnp.log1p(jnp.maximum(p, 0.0)) - jnp.log1p(jnp.maximum(t, 0.0)))
    return reduce_loss(
        loss,
        fn="msle_loss",
        reduction=reduction,
        weight=weight,
        where=where,
        axis_name=axis_name,
    )


def poisson_nll_loss(
    predictions: Array,
    targets: Array,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Negative log-likelihood of counts under a Poisson distribution.

    .. math::
        \ell_i = \begin{cases} e^{\hat y_i} - y_i \hat y_i & \text{log\_input} \\
                 \hat y_i - y_i \log(\hat y_i + \epsilon) & \text{otherwise} \end{cases}
        \; [+\; y_i \log y_i - y_i + \tfrac12\log(2\pi y_i) \text{ if full and } y_i > 1]

    Args:
      predictions: log-rates if ``log_input`` (the stable choice), else rates >= 0.
      targets: observed counts, same shape.
      full: add the Stirling approximation of :math:`\log(y!)`.
      eps: added to rates before the log when ``log_input=False``.

    Matches ``torch.nn.functional.poisson_nll_loss``. A negative rate with
    ``log_input=False`` gives NaN for that element; :func:`jaxloss.checked` reports it.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.poisson_nll_loss(jnp.array([0.0]), jnp.array([2.0])))
      1.0
    """
    fn = "poisson_nll_loss"
    p, t, _ = _prepare(fn, predictions, targets, where)
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


def _variance_like(fn: str, var: Array | float, shape: tuple[int, ...]) -> Array:
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
    return var  # unreachable


def gaussian_nll_loss(
    predictions: Array,
    targets: Array,
    var: Array | float,
    *,
    full: bool = False,
    eps: float = 1e-6,
    weight: Array | None = None,
    where: Array | None = None,
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

    Matches ``torch.nn.functional.gaussian_nll_loss``. Where torch raises on a
    negative variance, jaxloss gives NaN for that element and
    :func:`jaxloss.checked` reports it.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.gaussian_nll_loss(jnp.array([0.0]), jnp.array([2.0]), jnp.array([1.0])))
      2.0
    """
    fn = "gaussian_nll_loss"
    p, t, mask = _prepare(fn, predictions, targets, where)
    v = fill_masked(mask, _variance_like(fn, var, p.shape).astype(p.dtype), 1.0)
    checks.require(fn, "var", v >= 0, v, "non-negative")
    clamped = v + jax.lax.stop_gradient(jnp.maximum(v, eps) - v)
    loss = 0.5 * (jnp.log(clamped) + jnp.square(p - t) / clamped)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    loss = jnp.where(v < 0, jnp.nan, loss)
    return reduce_loss(
        loss, fn=fn, reduction=reduction, weight=weight, where=where, axis_name=axis_name
    )


# ------------------------------------------------------------------ registry entries


def _tile(values: list[float], shape: tuple[int, ...]) -> Array:
    flat = jnp.resize(jnp.asarray(values, jnp.float32), math.prod(shape))
    return flat.reshape(shape)


def _pair_example(
    key: Array, batch: int, extreme: bool = False, *, positive: bool = False, features: int = 16
) -> Example:
    """Predictions and targets ``[batch, features]``; extreme ones mix zero errors
    with errors of 1e4 and values from 0 to 1e6."""
    kp, kt = jax.random.split(key)
    shape = (batch, features)
    if extreme:
        t = _tile([0.0, 1e4, -1e4, 1e-30, 3e2, 1e6, -1e6, 0.5], shape)
        p = t + _tile([0.0, 1e4, -1e4, 0.0, 3e2, 1e-3, 0.0, 1e4, 0.0], shape)
    else:
        p, t = 2.0 * jax.random.normal(kp, shape), 2.0 * jax.random.normal(kt, shape)
    if positive:
        p, t = (jnp.abs(p) if extreme else jnp.exp(p)), (jnp.abs(t) if extreme else jnp.exp(t))
    return Example((p, t), diff_argnums=(0, 1))


def _quantile_example(key: Array, batch: int, extreme: bool = False) -> Example:
    ex = _pair_example(key, batch, extreme, features=3)
    p, t = ex.args
    return Example((p, t[:, 0]), {"quantiles": jnp.array([0.1, 0.5, 0.9])}, (0, 1))


def _poisson_example(key: Array, batch: int, extreme: bool = False) -> Example:
    kp, kt = jax.random.split(key)
    shape = (batch, 16)
    if extreme:
        log_rate, counts = (
            _tile([-30.0, 30.0, 0.0, 20.0], shape),
            _tile([0.0, 1e4, 1.0, 2.0, 0.0], shape),
        )
        return Example((log_rate, counts), {"full": True})
    log_rate = jax.random.normal(kp, shape)
    counts = jax.random.poisson(kt, 3.0, shape).astype(jnp.float32)
    return Example((log_rate, counts), {"full": True})


def _gaussian_example(key: Array, batch: int, extreme: bool = False) -> Example:
    kp, kv = jax.random.split(key)
    p, t = _pair_example(kp, batch, extreme).args
    if extreme:
        var = _tile([0.0, 1e-30, 1e8, 1.0, 1e-3], p.shape)
    else:
        var = jnp.exp(jax.random.normal(kv, p.shape))
    return Example((p, t, var), {"full": True}, (0, 1, 2))


def _register(
    fn,
    example=_pair_example,
    matches: str = "",
    tasks=("regression",),
    input_kind: str = "predictions, targets",
    **kw,
) -> None:
    register(
        LossSpec(
            name=fn.__name__,
            fn=fn,
            family="regression",
            tasks=tasks,
            input_kind=input_kind,
            example=example,
            matches=matches,
            **kw,
        )
    )


_register(mse_loss, matches="torch F.mse_loss")
_register(
    l1_loss, matches="torch F.l1_loss", tasks=("regression", "outliers"), aliases=("mae_loss",)
)
_register(rmse_loss, linear_reduction=False, weight_kind="nonlinear")
_register(
    huber_loss, matches="torch F.huber_loss, optax huber_loss", tasks=("regression", "outliers")
)
_register(
    smooth_l1_loss, matches="torch F.smooth_l1_loss", tasks=("regression", "outliers", "detection")
)
_register(log_cosh_loss, matches="optax log_cosh", tasks=("regression", "outliers"))
_register(quantile_loss, _quantile_example, "pinball loss", ("regression", "quantile"))
_register(
    mape_loss,
    functools.partial(_pair_example, positive=True),
    "Keras MeanAbsolutePercentageError",
    ("regression", "relative-error"),
)
_register(
    msle_loss,
    functools.partial(_pair_example, positive=True),
    "Keras MeanSquaredLogarithmicError",
    ("regression", "relative-error"),
)
_register(
    poisson_nll_loss,
    _poisson_example,
    "torch F.poisson_nll_loss",
    ("regression", "counts"),
    input_kind="log-rates (or rates), counts",
)
_register(
    gaussian_nll_loss,
    _gaussian_example,
    "torch F.gaussian_nll_loss",
    ("regression", "uncertainty"),
    input_kind="means, targets, variances",
)
