"""jaxloss: a functional loss toolkit for JAX.

Every loss is a pure function ``jaxloss.<name>(output, targets, *, options...)``
that works under ``jit``, ``vmap``, ``grad`` and sharding. See ``jaxloss.registry``
for the catalogue and ``python -m jaxloss list`` for a table.
"""

from jaxloss import registry
from jaxloss._checks import checked
from jaxloss.classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_embedding_loss,
    hinge_loss,
    multi_margin_loss,
    multiclass_hinge_loss,
    multilabel_soft_margin_loss,
    nll_loss,
    poly1_cross_entropy,
    sigmoid_focal_loss,
    smooth_labels,
    soft_margin_loss,
    softmax_focal_loss,
    squared_hinge_loss,
)
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
from jaxloss.segmentation import (
    bce_dice_loss,
    dice_loss,
    focal_and_tversky_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    jaccard_loss,
    lovasz_hinge_loss,
    lovasz_softmax_loss,
    tversky_loss,
)

__version__ = "0.1.0"

__all__ = [
    "bce_dice_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "checked",
    "cross_entropy",
    "dice_loss",
    "focal_and_tversky_loss",
    "focal_tversky_loss",
    "gaussian_nll_loss",
    "generalized_dice_loss",
    "hinge_embedding_loss",
    "hinge_loss",
    "huber_loss",
    "jaccard_loss",
    "l1_loss",
    "log_cosh_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "mae_loss",
    "mape_loss",
    "mse_loss",
    "msle_loss",
    "multi_margin_loss",
    "multiclass_hinge_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "poly1_cross_entropy",
    "quantile_loss",
    "registry",
    "rmse_loss",
    "sigmoid_focal_loss",
    "smooth_l1_loss",
    "smooth_labels",
    "soft_margin_loss",
    "softmax_focal_loss",
    "squared_hinge_loss",
    "tversky_loss",
]
