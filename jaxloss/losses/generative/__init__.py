"""Losses of generative models: VAE, GAN (five kinds and two gradient
penalties), diffusion with Min-SNR weighting, style transfer and image-to-image.

Per-sample losses (VAE, diffusion, penalties, style, content, perceptual, total
variation) reduce over every non-batch axis first, so ``reduction="none"`` gives
``[B]``.

- :mod:`.vae`: :func:`vae_loss`.
- :mod:`.adversarial`: GAN losses for both players, the WGAN-GP and R1 penalties.
- :mod:`.diffusion`: :func:`diffusion_loss`.
- :mod:`.perceptual`: Gram matrices, style, content, perceptual and total
  variation losses.
"""

from jaxloss.losses.generative.adversarial import (
    gan_discriminator_loss,
    gan_generator_loss,
    gradient_penalty,
    r1_penalty,
)
from jaxloss.losses.generative.diffusion import diffusion_loss
from jaxloss.losses.generative.perceptual import (
    content_loss,
    gram_matrix,
    perceptual_loss,
    style_loss,
    total_variation_loss,
)
from jaxloss.losses.generative.vae import vae_loss

__all__ = [
    "content_loss",
    "diffusion_loss",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "gradient_penalty",
    "gram_matrix",
    "perceptual_loss",
    "r1_penalty",
    "style_loss",
    "total_variation_loss",
    "vae_loss",
]
