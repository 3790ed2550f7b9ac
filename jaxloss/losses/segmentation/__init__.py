"""Segmentation losses: region overlap (Dice, Tversky, Jaccard), Lovász, and the
combined pixel + region losses.

Every overlap loss reads three soft sums per class, taken over the pixels of each
image (``per_sample=True``) or of the whole batch (``per_sample=False``):

.. math::
    I = \\sum_i m_i p_i t_i, \\qquad P = \\sum_i m_i p_i, \\qquad T = \\sum_i m_i t_i

so TP = I, FP = P - I and FN = T - I, with ``p`` the predicted probabilities, ``t``
the targets and ``m`` the valid-pixel mask. ``squared=True`` uses
:math:`\\sum m p^2` and :math:`\\sum m t^2` for P and T (the V-Net denominator).

Modes (the class axis is last, or at ``axis``: ``axis=1`` takes PyTorch's
channel-first ``[B, C, H, W]``, for the predictions and float targets alike):

- ``"binary"``: ``predictions [B, ...]`` and ``targets [B, ...]`` in [0, 1]
  (sigmoid of logits);
- ``"multiclass"``: ``predictions [B, ..., C]`` (softmax of logits) with integer
  class indices ``[B, ...]`` or one-hot/soft targets ``[B, ..., C]``;
- ``"multilabel"``: ``predictions [B, ..., C]`` and 0/1 or soft targets
  ``[B, ..., C]`` (sigmoid per class).

``where`` marks valid pixels (a ``valid_mask``). It aligns with the
leading axes of the pixels ``[B, ...]`` (a ``[B]`` mask masks whole images; a
mask of the trailing axes alone is refused), and in multi-label mode may also
have the predictions' full rank to mask single classes. Targets equal to
``ignore_index``, integer or float, are void too. Void pixels enter no sum, value
or gradient, and an image with no valid pixel is left out of the batch mean.
Any other target outside its range (a class, 0 or 1, or [0, 1] for floats), and
a probability outside [0, 1] with ``from_logits=False``, makes its image's loss
NaN (the global loss with ``per_sample=False``); :func:`jaxloss.checked` names
the argument and the value.

``reduction="none"`` returns one loss per image ``[B]`` (the class-averaged loss),
or ``[B, K]`` per image and class with ``per_class=True`` (MONAI's unreduced
output, for logging). ``smooth_nr`` / ``smooth_dr`` set the numerator and
denominator smoothing apart (MONAI's names; ``smooth`` sets both), and
``soft_label=True`` takes MONAI's form that is exact for soft targets.
With ``per_sample=False`` the loss is one global statistic (a scalar for every
reduction); with ``axis_name`` its sums are taken across devices.

The modules: :mod:`.overlap` (Dice, Jaccard, generalized Dice), :mod:`.tversky`
(Tversky, focal Tversky), :mod:`.lovasz` (Lovász hinge and softmax),
:mod:`.combined` (BCE + Dice and focal + Tversky), :mod:`.boundary`
(boundary loss on distance maps, soft clDice); the shared
mechanics are in :mod:`._common`.
"""

from jaxloss.losses.segmentation.boundary import boundary_loss, cldice_loss
from jaxloss.losses.segmentation.combined import bce_dice_loss, focal_and_tversky_loss
from jaxloss.losses.segmentation.lovasz import lovasz_hinge_loss, lovasz_softmax_loss
from jaxloss.losses.segmentation.overlap import dice_loss, generalized_dice_loss, jaccard_loss
from jaxloss.losses.segmentation.tversky import focal_tversky_loss, tversky_loss

__all__ = [
    "bce_dice_loss",
    "boundary_loss",
    "cldice_loss",
    "dice_loss",
    "focal_and_tversky_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "jaccard_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "tversky_loss",
]
