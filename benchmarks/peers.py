"""The peer implementations each jaxloss function is timed against.

``optax_peer(name)`` returns a JAX function taking the same positional arrays and
keyword options as the jaxloss function and returning the mean loss, or None.
``torch_peer(name)`` returns a ``torch.nn.functional`` callable with the same
argument order and option names (or, for torchvision's box losses, their formulas
transcribed in torch), or None. Both are imported lazily: jaxloss never
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
        "kl_divergence": lambda p, q: jnp.mean(optax.losses.kl_divergence(jnp.log(q), p)),
        "kl_divergence_with_logits": lambda p, q: jnp.mean(
            optax.losses.kl_divergence_with_log_targets(
                jax.nn.log_softmax(q, -1), jax.nn.log_softmax(p, -1)
            )
        ),
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
    "kl_div": "kl_div",
}


TORCH_FUNCTIONAL.update(
    {
        "triplet_margin_loss": "triplet_margin_loss",
        "triplet_margin_with_distance_loss": "triplet_margin_with_distance_loss",
        "cosine_embedding_loss": "cosine_embedding_loss",
        "margin_ranking_loss": "margin_ranking_loss",
    }
)


# where torch.compile is the peer a user would reach for (fused elementwise
# kernels): timed on accelerators too, the others only on the CPU
TORCH_COMPILE_PEERS = frozenset(
    {
        "mse_loss",
        "l1_loss",
        "huber_loss",
        "smooth_l1_loss",
        "binary_cross_entropy_with_logits",
        "cross_entropy",
        "kl_div",
        "generalized_box_iou_loss",
        "complete_box_iou_loss",
    }
)


def _torchvision_box_loss(kind: str) -> Callable:
    """torchvision 0.29's box losses, transcribed (torchvision has no build for the
    pinned torch here); mean reduction like jaxloss."""
    import math

    import torch

    def loss(boxes1, boxes2):
        x1, y1, x2, y2 = boxes1.unbind(-1)
        x1g, y1g, x2g, y2g = boxes2.unbind(-1)
        iw = torch.min(x2, x2g) - torch.max(x1, x1g)
        ih = torch.min(y2, y2g) - torch.max(y1, y1g)
        inter = torch.where((iw > 0) & (ih > 0), iw * ih, torch.zeros_like(iw))
        union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
        iou = inter / (union + 1e-7)
        if kind == "iou":
            return (1 - iou).mean()
        cw = torch.max(x2, x2g) - torch.min(x1, x1g)
        ch = torch.max(y2, y2g) - torch.min(y1, y1g)
        if kind == "giou":
            area_c = cw * ch
            return (1 - iou + (area_c - union) / (area_c + 1e-7)).mean()
        centers = ((x1 + x2 - x1g - x2g) / 2) ** 2 + ((y1 + y2 - y1g - y2g) / 2) ** 2
        diou = 1 - iou + centers / (cw**2 + ch**2 + 1e-7)
        if kind == "diou":
            return diou.mean()
        v = (4 / math.pi**2) * (
            torch.atan((x2g - x1g) / (y2g - y1g)) - torch.atan((x2 - x1) / (y2 - y1))
        ) ** 2
        with torch.no_grad():
            alpha = v / (1 - iou + v + 1e-7)
        return (diou + alpha * v).mean()

    return loss


_TORCH_CUSTOM = {
    "box_iou_loss": lambda: _torchvision_box_loss("iou"),
    "generalized_box_iou_loss": lambda: _torchvision_box_loss("giou"),
    "distance_box_iou_loss": lambda: _torchvision_box_loss("diou"),
    "complete_box_iou_loss": lambda: _torchvision_box_loss("ciou"),
}


def torch_peer(name: str) -> Callable | None:
    if name in _TORCH_CUSTOM:
        return _TORCH_CUSTOM[name]()
    if name not in TORCH_FUNCTIONAL:
        return None
    import torch.nn.functional as F

    return getattr(F, TORCH_FUNCTIONAL[name])
