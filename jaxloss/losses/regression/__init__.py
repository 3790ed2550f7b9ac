"""Regression losses: squared, absolute, robust, relative, quantile and likelihood.

Every function takes ``predictions`` and ``targets`` of the same shape (never
broadcast silently), computes in float32 or wider, and shares ``weight``,
``where``, ``reduction`` and ``axis_name`` through
:func:`jaxloss._core.reduce.reduce_loss`.
"""

from jaxloss.losses.regression.errors import l1_loss, l2_loss, mae_loss, mse_loss, rmse_loss
from jaxloss.losses.regression.likelihood import gaussian_nll_loss, poisson_nll_loss
from jaxloss.losses.regression.relative import mape_loss, msle_loss
from jaxloss.losses.regression.robust import (
    huber_loss,
    log_cosh_loss,
    quantile_loss,
    smooth_l1_loss,
)

__all__ = [
    "gaussian_nll_loss",
    "huber_loss",
    "l1_loss",
    "l2_loss",
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
