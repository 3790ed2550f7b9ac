"""The peer implementations each jaxloss function is timed against.

``optax_peer(name)`` returns a JAX function taking the same positional arrays and
keyword options as the jaxloss function and returning the mean loss, or None.
``torch_peer(name)`` returns a ``torch.nn.functional`` callable with the same
argument order and option names, or None. Both are imported lazily: jaxloss never
imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp


def _mean_of(elementwise: Callable) -> Callable:
    def peer(*args, **kwargs):
        return jnp.mean(elementwise(*args, **kwargs))

    return peer


def optax_peer(name: str) -> Callable | None:
    import optax

    table = {
        "mse_loss": _mean_of(optax.losses.squared_error),
        "huber_loss": _mean_of(optax.losses.huber_loss),
        "log_cosh_loss": _mean_of(optax.losses.log_cosh),
    }
    return table.get(name)


# jaxloss name -> attribute of torch.nn.functional with the same arguments
TORCH_FUNCTIONAL = {
    "mse_loss": "mse_loss",
    "l1_loss": "l1_loss",
    "huber_loss": "huber_loss",
    "smooth_l1_loss": "smooth_l1_loss",
    "poisson_nll_loss": "poisson_nll_loss",
    "gaussian_nll_loss": "gaussian_nll_loss",
}


def torch_peer(name: str) -> Callable | None:
    if name not in TORCH_FUNCTIONAL:
        return None
    import torch.nn.functional as F

    return getattr(F, TORCH_FUNCTIONAL[name])
