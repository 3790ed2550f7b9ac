"""Language-model losses, split by whether the logits are materialised:

* :mod:`.lm`: next-token and masked-token cross-entropy and per-sequence
  log-probabilities on ``[..., T, V]`` logits.
* :mod:`.fused`: the fused linear cross-entropy, which never holds the logits.
* :mod:`.ctc`: connectionist temporal classification over ``[B, T, C]`` frames.

Token arrays are ``[..., T]`` and logits ``[..., T, V]``; integer targets equal
to ``ignore_index`` (padding) count nowhere.
"""

from jaxloss.losses.language.ctc import ctc_loss
from jaxloss.losses.language.fused import fused_linear_cross_entropy
from jaxloss.losses.language.lm import causal_lm_loss, masked_lm_loss, sequence_log_probs

__all__ = [
    "causal_lm_loss",
    "ctc_loss",
    "fused_linear_cross_entropy",
    "masked_lm_loss",
    "sequence_log_probs",
]
