"""Seed 000's combined losses against its two PyTorch classes as given."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import assert_close
from segmentation_inputs import jax_value_grad
from torch import nn

import jaxloss

# ----------------------------------------------------------------- seed 000, as given


class FocalTverskyLoss(nn.Module):
    """Seed 000's class, verbatim but for layout."""

    def __init__(self, focal_alpha=0.25, focal_gamma=2.0, tversky_alpha=0.3, tversky_beta=0.7,
                 smooth=1e-5, tversky_weight=1.0):  # fmt: skip
        super().__init__()
        self.focal_alpha, self.focal_gamma = focal_alpha, focal_gamma
        self.tversky_alpha, self.tversky_beta = tversky_alpha, tversky_beta
        self.smooth, self.tversky_weight = smooth, tversky_weight

    def forward(self, logits, targets, valid_mask=None):
        m = torch.ones_like(targets) if valid_mask is None else valid_mask.float()
        n = m.sum() + self.smooth
        bce_unweighted = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
        pt = torch.exp(-bce_unweighted)
        alpha_t = self.focal_alpha * targets + (1.0 - self.focal_alpha) * (1.0 - targets)
        focal_map = alpha_t * (1.0 - pt).pow(self.focal_gamma) * bce_unweighted
        focal = (focal_map * m).sum() / n
        p = (torch.sigmoid(logits) * m).flatten(1)
        t = (targets * m).flatten(1)
        tp = (p * t).sum(1)
        fp = (p * (1 - t)).sum(1)
        fn = ((1 - p) * t).sum(1)
        tversky = 1 - (tp + self.smooth) / (
            tp + self.tversky_alpha * fp + self.tversky_beta * fn + self.smooth
        )
        return focal + self.tversky_weight * tversky.mean()


class BCEDiceLoss(nn.Module):
    """Seed 000's class, verbatim but for layout."""

    def __init__(self, smooth: float = 1e-5):
        super().__init__()
        self.smooth = smooth
        self.bce = nn.BCEWithLogitsLoss(reduction="none")

    def forward(self, logits, targets, valid_mask=None):
        if valid_mask is None:
            valid_mask = torch.ones_like(targets)
        valid_mask = valid_mask.float()
        bce_map = self.bce(logits, targets)
        bce_loss = (bce_map * valid_mask).sum() / (valid_mask.sum() + self.smooth)
        probs = torch.sigmoid(logits)
        batch_size = probs.shape[0]
        p_flat = (probs * valid_mask).view(batch_size, -1)
        t_flat = (targets * valid_mask).view(batch_size, -1)
        inter = (p_flat * t_flat).sum(dim=1)
        p_sum = p_flat.sum(dim=1)
        t_sum = t_flat.sum(dim=1)
        dice_score = (2.0 * inter + self.smooth) / (p_sum + t_sum + self.smooth)
        dice_loss = (1.0 - dice_score).mean()
        return bce_loss + dice_loss


_SEED_CASES = [
    (jaxloss.focal_and_tversky_loss, FocalTverskyLoss, {}),
    (jaxloss.focal_and_tversky_loss, FocalTverskyLoss,
     {"focal_alpha": 0.6, "focal_gamma": 1.5, "tversky_alpha": 0.2, "tversky_beta": 0.8,
      "smooth": 1.0, "tversky_weight": 0.5}),
    (jaxloss.bce_dice_loss, BCEDiceLoss, {}),
    (jaxloss.bce_dice_loss, BCEDiceLoss, {"smooth": 1.0}),
]  # fmt: skip


@pytest.mark.parametrize("shape", [(4, 6, 5), (2, 9), (3, 2, 4, 4)])
@pytest.mark.parametrize("masked", (False, True))
@pytest.mark.parametrize(("ours", "seed_class", "opts"), _SEED_CASES)
def test_seed_000_losses_match_the_seed_classes(ours, seed_class, opts, shape, masked):
    rng = np.random.default_rng(len(shape) + 7 * masked)
    x = 4 * rng.standard_normal(shape)
    t = (rng.random(shape) < 0.05).astype(np.float64)
    t[0].flat[0] = 1.0
    t[1].flat[:] = 0.0  # an image with no positive pixel
    mask = rng.random(shape) < 0.7
    mask[-1] = False  # an image with no valid pixel still counts in the seed's batch mean
    xt = torch.tensor(x, requires_grad=True)
    expected = seed_class(**opts)(xt, torch.tensor(t), torch.tensor(mask) if masked else None)
    expected.backward()
    where = mask if masked else None
    value, grad = jax_value_grad(ours, x, jnp.asarray(t), where=where, **opts)
    assert_close(value, expected.item(), rtol=1e-5)
    assert_close(grad, xt.grad.numpy(), rtol=1e-4, atol=1e-8)
    per_image = ours(jnp.asarray(x), jnp.asarray(t), where=where, reduction="none", **opts)
    assert_close(jnp.mean(per_image), expected.item(), rtol=1e-5)
