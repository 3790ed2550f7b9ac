"""jaxloss: a functional loss toolkit for JAX.

Every loss is a pure function ``jaxloss.<name>(output, targets, *, options...)``
that works under ``jit``, ``vmap``, ``grad`` and sharding. See ``jaxloss.registry``
for the catalogue and ``python -m jaxloss list`` for a table.
"""

from jaxloss import registry
from jaxloss._checks import checked
from jaxloss.regression import (
    gaussian_nll_loss,
    huber_loss,
    l1_loss,
    log_cosh_loss,
    mae_loss,
    mape_loss,
    mse_loss,
    msle_loss,
    poisson_nll_loss,
    quantile_loss,
    rmse_loss,
    smooth_l1_loss,
)

__version__ = "0.1.0"

__all__ = [
    "checked",
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
    "registry",
    "rmse_loss",
    "smooth_l1_loss",
]
