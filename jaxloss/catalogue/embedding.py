"""Example inputs and registrations of the embedding losses."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.embedding import (
    batch_triplet_loss,
    clip_loss,
    contrastive_loss,
    cosent_loss,
    cosine_embedding_loss,
    cosine_similarity_loss,
    info_nce_loss,
    margin_ranking_loss,
    multiple_negatives_ranking_loss,
    ntxent_loss,
    supervised_contrastive_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)


def embedding_example(key: jax.Array, batch: int, extreme: bool = False, *, kind: str) -> Example:
    """``[batch, 16]`` embeddings for each kind of loss; labels put 4 rows in each
    class. Extreme inputs: identical rows (zero distances), zero vectors, entries
    of 1e3, and temperature 0.01 where there is one."""
    ks = jax.random.split(key, 4)
    dim = 16

    def rows(k: jax.Array) -> jax.Array:
        if not extreme:
            return jax.random.normal(k, (batch, dim))
        x = jnp.broadcast_to(jax.random.normal(ks[0], (dim,)), (batch, dim))
        return x.at[1::4].set(0.0).at[2::4].multiply(1e3)

    labels = jnp.arange(batch) % max(batch // 4, 1)
    sign = jnp.where(jax.random.bernoulli(ks[3], 0.5, (batch,)), 1, -1)
    cold = {"temperature": 0.01 if extreme else 0.2}
    if kind == "triplet":
        return Example(tuple(rows(k) for k in ks[:3]), diff_argnums=(0, 1, 2))
    if kind == "contrastive":
        return Example((rows(ks[0]), rows(ks[1]), sign > 0), diff_argnums=(0, 1))
    if kind == "cosine_embedding":
        return Example((rows(ks[0]), rows(ks[1]), sign), {"margin": 0.2}, diff_argnums=(0, 1))
    if kind == "ranking":
        x = jax.random.normal(ks[0], (2, batch)) * (1e4 if extreme else 1.0)
        return Example((x[0], x[1], sign.astype(jnp.float32)), diff_argnums=(0, 1))
    if kind == "scores":
        scores = jax.random.uniform(ks[2], (batch,), minval=-1.0, maxval=1.0)
        return Example((rows(ks[0]), rows(ks[1]), scores), diff_argnums=(0, 1))
    if kind == "pairs":
        return Example((rows(ks[0]), rows(ks[1])), diff_argnums=(0, 1))
    if kind == "info_nce":
        return Example((rows(ks[0]), rows(ks[1])), cold, diff_argnums=(0, 1))
    return Example((rows(ks[0]), labels), cold if kind == "labelled_t" else {})


register(
    triplet_margin_loss,
    family="embedding",
    tasks=("metric learning", "triplets", "faces"),
    input_kind="anchors, positives, negatives",
    example=functools.partial(embedding_example, kind="triplet"),
    matches="torch F.triplet_margin_loss",
)
register(
    triplet_margin_with_distance_loss,
    family="embedding",
    tasks=("metric learning", "triplets"),
    input_kind="anchors, positives, negatives",
    example=functools.partial(embedding_example, kind="triplet"),
    matches="torch F.triplet_margin_with_distance_loss",
)
register(
    contrastive_loss,
    family="embedding",
    tasks=("metric learning", "pairs", "siamese"),
    input_kind="x1, x2",
    example=functools.partial(embedding_example, kind="contrastive"),
    matches="seeds 001/002 (Hadsell et al.)",
)
register(
    cosine_embedding_loss,
    family="embedding",
    tasks=("metric learning", "pairs"),
    input_kind="x1, x2",
    example=functools.partial(embedding_example, kind="cosine_embedding"),
    matches="torch F.cosine_embedding_loss",
)
register(
    margin_ranking_loss,
    family="embedding",
    tasks=("metric learning", "ranking"),
    input_kind="x1, x2",
    example=functools.partial(embedding_example, kind="ranking"),
    matches="torch F.margin_ranking_loss",
)
register(
    cosine_similarity_loss,
    family="embedding",
    tasks=("metric learning", "sentence embeddings"),
    input_kind="x1, x2",
    example=functools.partial(embedding_example, kind="scores"),
    matches="sentence-transformers CosineSimilarityLoss",
)
register(
    multiple_negatives_ranking_loss,
    family="embedding",
    tasks=("metric learning", "in-batch negatives", "sentence embeddings"),
    input_kind="anchors, positives",
    example=functools.partial(embedding_example, kind="pairs"),
    matches="sentence-transformers MultipleNegativesRankingLoss",
    batch_coupled=True,
)
register(
    info_nce_loss,
    family="embedding",
    tasks=("metric learning", "in-batch negatives"),
    input_kind="queries, positive_keys",
    example=functools.partial(embedding_example, kind="info_nce"),
    matches="InfoNCE (info-nce-pytorch)",
    batch_coupled=True,
)
register(
    clip_loss,
    family="embedding",
    tasks=("metric learning", "in-batch negatives", "multimodal"),
    input_kind="image_embeddings, text_embeddings",
    example=functools.partial(embedding_example, kind="pairs"),
    matches="CLIP / open_clip ClipLoss",
    batch_coupled=True,
)
register(
    ntxent_loss,
    family="embedding",
    tasks=("metric learning", "in-batch negatives"),
    input_kind="embeddings, labels",
    example=functools.partial(embedding_example, kind="labelled_t"),
    matches="optax ntxent, PML NTXentLoss",
    batch_coupled=True,
    linear_reduction=False,
)
register(
    supervised_contrastive_loss,
    family="embedding",
    tasks=("metric learning", "in-batch negatives"),
    input_kind="embeddings, labels",
    example=functools.partial(embedding_example, kind="labelled_t"),
    matches="PML SupConLoss",
    batch_coupled=True,
)
register(
    batch_triplet_loss,
    family="embedding",
    tasks=("metric learning", "triplets", "mining", "faces"),
    input_kind="embeddings, labels",
    example=functools.partial(embedding_example, kind="labelled"),
    matches="PML TripletMarginLoss + miners, FaceNet",
    batch_coupled=True,
)
register(
    cosent_loss,
    family="embedding",
    tasks=("metric learning", "sentence embeddings"),
    input_kind="x1, x2",
    example=functools.partial(embedding_example, kind="scores"),
    matches="sentence-transformers CoSENTLoss",
    batch_coupled=True,
    weight_kind="none",
    unreduced=False,
    where_like=2,
)
