"""Classification losses, split by what the model outputs:

* :mod:`.binary`: one sigmoid decision per element (binary and multi-label).
* :mod:`.long_tail`: long-tailed and multi-label (ASL, LDAM, class-balanced weights).
* :mod:`.margin`: scores compared with a margin, binary or multi-class (SVM hinges).
* :mod:`.multiclass`: a softmax over the class axis (cross-entropy and its variants).
* :mod:`.noise_robust`: losses robust to noisy labels (generalized cross-entropy).
* :mod:`.perceptron`: the perceptron losses, binary and multi-class.
* :mod:`.sparsemax`: sparsemax and Fenchel-Young losses.

The class-axis mechanics they share live in :mod:`jaxloss._core.classes`.
"""

from jaxloss.losses.classification.binary import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    multilabel_soft_margin_loss,
    sigmoid_focal_loss,
    soft_margin_loss,
)
from jaxloss.losses.classification.long_tail import (
    asymmetric_loss,
    class_balanced_weights,
    ldam_loss,
)
from jaxloss.losses.classification.margin import (
    hinge_embedding_loss,
    hinge_loss,
    multi_margin_loss,
    multiclass_hinge_loss,
    multilabel_margin_loss,
    squared_hinge_loss,
)
from jaxloss.losses.classification.multiclass import (
    cross_entropy,
    nll_loss,
    poly1_cross_entropy,
    smooth_labels,
    softmax_focal_loss,
)
from jaxloss.losses.classification.noise_robust import generalized_cross_entropy
from jaxloss.losses.classification.perceptron import multiclass_perceptron_loss, perceptron_loss
from jaxloss.losses.classification.sparsemax import (
    binary_sparsemax_loss,
    make_fenchel_young_loss,
    sparsemax_loss,
)

__all__ = [
    "asymmetric_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "binary_sparsemax_loss",
    "class_balanced_weights",
    "cross_entropy",
    "generalized_cross_entropy",
    "hinge_embedding_loss",
    "hinge_loss",
    "ldam_loss",
    "make_fenchel_young_loss",
    "multi_margin_loss",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "perceptron_loss",
    "poly1_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "soft_margin_loss",
    "softmax_focal_loss",
    "sparsemax_loss",
    "squared_hinge_loss",
]
