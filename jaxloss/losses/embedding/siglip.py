"""SigLIP: a sigmoid loss over every image-text pair of the batch.

With ``axis_name`` the text embeddings of every device are gathered, so each
device scores its images against the global batch and the loss equals the
single-device one (big_vision exchanges text chunks by ``ppermute`` instead; the
result is the same). The ``[B, N]`` cosines are computed at
``jax.lax.Precision.HIGHEST`` (see :mod:`._common`).
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import log_sigmoid
from jaxloss._core.reduce import examples_interact, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName, Scalar
from jaxloss.losses.embedding._common import batch_rows, cosine_matrix, empty_batch

__all__ = ["siglip_loss"]


@examples_interact
def siglip_loss(
    image_embeddings: ArrayLike,
    text_embeddings: ArrayLike,
    *,
    logit_scale: Scalar = 10.0,
    logit_bias: Scalar = -10.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""SigLIP's pairwise sigmoid loss: every image-text pair of the batch is a
    binary classification, matching pairs positive and the rest negative.

    .. math::
        \mathcal{L} = -\frac{1}{B}\sum_{i=1}^{B}\sum_{j=1}^{B}
            \log\sigma\big(z_{ij}\,(t\,\langle x_i, y_j\rangle + b)\big),
        \qquad z_{ij} = \begin{cases} 1 & i = j \\ -1 & i \ne j \end{cases}

    with :math:`x_i, y_j` the L2-normalised image and text embeddings.

    Args:
      image_embeddings, text_embeddings: ``[B, D]``; row i of each is a pair.
      logit_scale: t, the multiplier itself (SigLIP learns its log, initialised
        at log 10). logit_bias: b (initialised at -10). Either may be an array
        or traced, and is then differentiable.
      weight, where: ``[B]``; a masked row is neither an image nor a text of any
        pair.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales each
        example's loss without changing the mean's denominator.
      axis_name: every device's texts are paired with every device's images.

    Returns:
      A scalar (the mean over images of each image's summed pair losses), or the
      ``[B]`` row sums :math:`-\sum_j \log\sigma(\cdot)` for ``reduction="none"``.

    Matches big_vision's SigLIP trainer (``jnp.mean`` of the row sums).
    References: Zhai et al. (2023), "Sigmoid Loss for Language Image
    Pre-Training"; https://github.com/google-research/big_vision
    (``big_vision/trainers/proj/image_text/siglip.py``).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> u = jnp.eye(2)
      >>> loss = jaxloss.siglip_loss(u, u, logit_scale=1.0, logit_bias=0.0)
      >>> round(float(loss), 4)
      1.0064
    """
    fn = "siglip_loss"
    checks.check_number(fn, "logit_scale", logit_scale)
    checks.check_number(fn, "logit_bias", logit_bias)
    (u, _), (_, every_v), mask, every_mask, offset = batch_rows(
        fn,
        ("image_embeddings", "text_embeddings"),
        (image_embeddings, text_embeddings),
        where,
        axis_name,
    )
    if not u.shape[0]:
        return empty_batch(
            fn,
            u.dtype,
            reduction=reduction,
            weight=weight,
            sample_weights=sample_weights,
            where=mask,
            axis_name=axis_name,
        )
    logits = logit_scale * cosine_matrix(u, every_v) + logit_bias
    matching = (offset + jnp.arange(u.shape[0]))[:, None] == jnp.arange(every_v.shape[0])[None, :]
    pair = -log_sigmoid(jnp.where(matching, logits, -logits))
    valid = every_mask[None, :]
    # the negatives' small terms are summed apart from the (large) positive one,
    # so float32 does not round each of them away against it
    positive = jnp.sum(jnp.where(matching & valid, pair, 0.0), axis=1)
    negative = jnp.sum(jnp.where(~matching & valid, pair, 0.0), axis=1)
    loss = positive + negative
    return reduce_loss(
        loss,
        fn=fn,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
    )
