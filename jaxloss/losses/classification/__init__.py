"""Classification losses, split by what the model outputs:

* :mod:`.binary`: one sigmoid decision per element (binary and multi-label).
* :mod:`.margin`: scores compared with a margin, binary or multi-class (SVM hinges).
* :mod:`.multiclass`: a softmax over the class axis (cross-entropy and its variants).

The class-axis mechanics they share live in :mod:`jaxloss._core.classes`.
"""

from jaxloss.losses.classification.binary import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    multilabel_soft_margin_loss,
    sigmoid_focal_loss,
    soft_margin_loss,
)
from jaxloss.losses.classification.margin import (
    hinge_embedding_loss,
    hinge_loss,
    multi_margin_loss,
    multiclass_hinge_loss,
    squared_hinge_loss,
)
from jaxloss.losses.classification.multiclass import (
    cross_entropy,
    nll_loss,
    poly1_cross_entropy,
    smooth_labels,
    softmax_focal_loss,
)

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_embedding_loss",
    "hinge_loss",
    "multi_margin_loss",
    "multiclass_hinge_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poly1_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "soft_margin_loss",
    "softmax_focal_loss",
    "squared_hinge_loss",
]
