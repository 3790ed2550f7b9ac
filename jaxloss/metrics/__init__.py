"""Evaluation metrics: calibration, accuracy, confusion counts, precision/recall/F1
and overlap scores. They are jit-able and shard-safe (``axis_name`` sums counts
across devices), but not meant for ``grad``: their inputs are hard decisions.

An empty bin, class or mask gives 0, never NaN (scikit-learn's
``zero_division=0``). Invalid input that ``where`` does not mask out (a NaN score
or probability, a probability outside [0, 1], a target or predicted id that is not
a class) never becomes a finite metric: the result is NaN (every class's counts,
for the confusion counts and the scores built on them), and
:func:`jaxloss.checked` names the argument, the value and its index.

Where a metric reads a class axis (scores or probabilities ``[..., C]``), ``axis``
says which one it is: ``axis=1`` takes PyTorch's channel-first ``[N, C, ...]``.
"""

from jaxloss.metrics.calibration import (
    ReliabilityDiagram,
    expected_calibration_error,
    reliability_diagram,
)
from jaxloss.metrics.classification import (
    ConfusionCounts,
    accuracy,
    confusion_counts,
    dice_score,
    iou_score,
    precision_recall_f1,
)

__all__ = [
    "ConfusionCounts",
    "ReliabilityDiagram",
    "accuracy",
    "confusion_counts",
    "dice_score",
    "expected_calibration_error",
    "iou_score",
    "precision_recall_f1",
    "reliability_diagram",
]
