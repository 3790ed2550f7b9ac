"""Embedding and metric-learning losses: pairs, triplets with mining, and
contrastive losses over in-batch negatives.

- :mod:`.pairs`: one loss per pair or triplet of rows (``[..., D]``).
- :mod:`.in_batch`: every row of the batch is a candidate for every other
  (``[B, D]``), gathered from every device with ``axis_name``.
- :mod:`.mining`: triplets mined from a labelled batch.

Distances and cosines have finite gradients at zero distance and at the zero
vector: norms go through ``safe_norm`` and cosines normalise with a floor on the
norm, as ``F.normalize`` does. The feature axis of an embedding is the last by
definition, so these losses take no ``axis`` option. An empty batch gives 0
("mean", "sum") or an empty array ("none"), with zero gradients.
"""

from jaxloss.losses.embedding.in_batch import (
    clip_loss,
    cosent_loss,
    info_nce_loss,
    multiple_negatives_ranking_loss,
    ntxent_loss,
    supervised_contrastive_loss,
)
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

__all__ = [
    "batch_triplet_loss",
    "clip_loss",
    "contrastive_loss",
    "cosent_loss",
    "cosine_embedding_loss",
    "cosine_similarity_loss",
    "info_nce_loss",
    "margin_ranking_loss",
    "multiple_negatives_ranking_loss",
    "ntxent_loss",
    "pairwise_distance",
    "supervised_contrastive_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]
