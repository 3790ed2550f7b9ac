"""Detection losses.

* :mod:`.boxes`: bounding-box regression (IoU, GIoU, DIoU, CIoU).
* :mod:`.dense`: dense-detection classification and distribution losses
  (Varifocal, quality focal and distribution focal loss).
"""

from jaxloss.losses.detection.boxes import (
    box_iou_loss,
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
)
from jaxloss.losses.detection.dense import (
    distribution_focal_loss,
    quality_focal_loss,
    varifocal_loss,
)

__all__ = [
    "box_iou_loss",
    "complete_box_iou_loss",
    "distance_box_iou_loss",
    "distribution_focal_loss",
    "generalized_box_iou_loss",
    "quality_focal_loss",
    "varifocal_loss",
]
