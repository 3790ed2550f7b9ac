"""Divergences between distributions: KL (torch's and the textbook form), JS, the
generalized KL of unnormalised measures, knowledge distillation, and the
closed-form KL of diagonal Gaussians used by VAEs.

* :mod:`.kl`: ``kl_div``, ``kl_divergence``, ``kl_divergence_with_logits``, ``js_divergence``.
* :mod:`.generalized`: ``generalized_kl_divergence`` (alias ``convex_kl_divergence``).
* :mod:`.distillation`: ``distillation_loss``.
* :mod:`.gaussian`: ``gaussian_kl``.

Distributions lie on the class axis ``axis`` (the last by default; ``axis=1`` takes
PyTorch's channel-first layout). Zeros in the first distribution contribute
exactly 0, with finite gradients; disjoint supports stay finite. A value outside
its documented range (a probability above 1, a positive log-probability) gives
NaN for its element or distribution, never a finite number, and
:func:`jaxloss.checked` names the argument; a NaN input stays NaN.
"""

from jaxloss.losses.divergence.distillation import distillation_loss
from jaxloss.losses.divergence.gaussian import gaussian_kl, gaussian_kl_rows
from jaxloss.losses.divergence.generalized import convex_kl_divergence, generalized_kl_divergence
from jaxloss.losses.divergence.kl import (
    js_divergence,
    kl_div,
    kl_divergence,
    kl_divergence_with_logits,
)

__all__ = [
    "convex_kl_divergence",
    "distillation_loss",
    "gaussian_kl",
    "gaussian_kl_rows",
    "generalized_kl_divergence",
    "js_divergence",
    "kl_div",
    "kl_divergence",
    "kl_divergence_with_logits",
]
