"""The peer implementations each jaxloss function is timed against.

``optax_peer(name)`` returns a JAX function taking the same positional arrays and
keyword options as the jaxloss function and returning the mean loss, or None.
``torch_peer(name)`` returns a ``torch.nn.functional`` callable with the same
argument order and option names, or None. Both are imported lazily: jaxloss never
imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp


def _mean_of(elementwise: Callable) -> Callable:
    def peer(*args, **kwargs):
        return jnp.mean(elementwise(*args, **kwargs))

    return peer


def _optax_cross_entropy(logits, labels, label_smoothing=0.0):
    """What an optax user writes for torch's cross_entropy: smoothing and ignore_index."""
    import optax

    keep = labels >= 0
    targets = jax.nn.one_hot(jnp.where(keep, labels, 0), logits.shape[-1])
    per_row = optax.softmax_cross_entropy(logits, optax.smooth_labels(targets, label_smoothing))
    return jnp.sum(jnp.where(keep, per_row, 0.0)) / jnp.maximum(jnp.sum(keep), 1)


def optax_peer(name: str) -> Callable | None:
    import optax

    table = {
        "mse_loss": _mean_of(optax.losses.squared_error),
        "huber_loss": _mean_of(optax.losses.huber_loss),
        "log_cosh_loss": _mean_of(optax.losses.log_cosh),
        "binary_cross_entropy_with_logits": _mean_of(optax.losses.sigmoid_binary_cross_entropy),
        "sigmoid_focal_loss": _mean_of(optax.losses.sigmoid_focal_loss),
        "cross_entropy": _optax_cross_entropy,
        "multiclass_hinge_loss": _mean_of(optax.losses.multiclass_hinge_loss),
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
    "binary_cross_entropy": "binary_cross_entropy",
    "binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
    "soft_margin_loss": "soft_margin_loss",
    "multilabel_soft_margin_loss": "multilabel_soft_margin_loss",
    "hinge_embedding_loss": "hinge_embedding_loss",
    # the registry's multi-class examples are [B, C], so torch's class axis 1 is the last
    "cross_entropy": "cross_entropy",
    "nll_loss": "nll_loss",
    "multi_margin_loss": "multi_margin_loss",
}


def torch_peer(name: str) -> Callable | None:
    if name not in TORCH_FUNCTIONAL:
        return None
    import torch.nn.functional as F

    return getattr(F, TORCH_FUNCTIONAL[name])
