"""Embedding and metric-learning losses: pairs, triplets with mining,
contrastive losses over in-batch negatives, pair-weighting, proxy and
margin-softmax (face recognition) losses, and SigLIP.

- :mod:`.pairs`: one loss per pair or triplet of rows (``[..., D]``).
- :mod:`.in_batch`: every row of the batch is a candidate for every other
  (``[B, D]``), gathered from every device with ``axis_name``.
- :mod:`.labelled`: contrastive losses over a labelled batch (NT-Xent, SupCon),
  with a choice of distance and optional reference embeddings.
- :mod:`.mining`: triplets mined from a labelled batch.
- :mod:`.weighted_pairs`: Multi-Similarity and Circle losses.
- :mod:`.proxies`: Proxy-Anchor, with learnable class proxies.
- :mod:`.face`: ArcFace and CosFace, with learnable class embeddings.
- :mod:`.siglip`: SigLIP's sigmoid loss over every image-text pair.

Distances and cosines have finite gradients at zero distance and at the zero
vector: norms go through ``safe_norm`` and cosines normalise with a floor on the
norm, as ``F.normalize`` does. The feature axis of an embedding is the last by
definition, so these losses take no ``axis`` option. An empty batch gives 0
("mean", "sum") or an empty array ("none"), with zero gradients. Similarity
matrices are computed at ``jax.lax.Precision.HIGHEST``, so GPU and TPU results
match the CPU's to float32 precision.
"""

from jaxloss.losses.embedding.face import arcface_loss, cosface_loss
from jaxloss.losses.embedding.in_batch import (
    clip_loss,
    cosent_loss,
    info_nce_loss,
    multiple_negatives_ranking_loss,
)
from jaxloss.losses.embedding.labelled import ntxent_loss, supervised_contrastive_loss
from jaxloss.losses.embedding.mining import batch_triplet_loss
from jaxloss.losses.embedding.pairs import (
    contrastive_loss,
    cosine_embedding_loss,
    cosine_similarity_loss,
    margin_ranking_loss,
    pairwise_distance,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from jaxloss.losses.embedding.proxies import proxy_anchor_loss
from jaxloss.losses.embedding.siglip import siglip_loss
from jaxloss.losses.embedding.weighted_pairs import circle_loss, multi_similarity_loss

__all__ = [
    "arcface_loss",
    "batch_triplet_loss",
    "circle_loss",
    "clip_loss",
    "contrastive_loss",
    "cosent_loss",
    "cosface_loss",
    "cosine_embedding_loss",
    "cosine_similarity_loss",
    "info_nce_loss",
    "margin_ranking_loss",
    "multi_similarity_loss",
    "multiple_negatives_ranking_loss",
    "ntxent_loss",
    "pairwise_distance",
    "proxy_anchor_loss",
    "siglip_loss",
    "supervised_contrastive_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
