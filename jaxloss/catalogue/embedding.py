"""Example inputs and registrations of the embedding losses."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.embedding import (
    arcface_loss,
    batch_triplet_loss,
    circle_loss,
    clip_loss,
    contrastive_loss,
    cosent_loss,
    cosface_loss,
    cosine_embedding_loss,
    cosine_similarity_loss,
    info_nce_loss,
    margin_ranking_loss,
    multi_similarity_loss,
    multiple_negatives_ranking_loss,
    ntxent_loss,
    proxy_anchor_loss,
    siglip_loss,
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
    if kind == "circle":
        return Example((rows(ks[0]), labels), {"gamma": 32.0})
    return Example((rows(ks[0]), labels), cold if kind == "labelled_t" else {})


def class_example(key: jax.Array, batch: int, extreme: bool = False, *, kind: str) -> Example:
    """``[batch, 16]`` embeddings, ``[batch]`` labels of 8 classes and the
    ``[8, 16]`` class embeddings (or proxies) shared by every row. Extreme inputs:
    rows exactly on their class (cosine 1), exactly opposite it (cosine -1: the
    angle plus any margin passes pi), zero vectors and entries of 1e3. ``scale``
    is 16: at the default 64, float32 rounding of the cosines alone moves
    gradients by ~1e-5 relative, past the generic jit/eager/sharded comparisons."""
    k1, k2 = jax.random.split(key)
    classes, dim = 8, 16
    centres = jax.random.normal(k2, (classes, dim))
    labels = jnp.arange(batch) % classes
    kwargs = {"scale": 16.0} if kind == "margin" else {}
    if not extreme:
        return Example(
            (jax.random.normal(k1, (batch, dim)), labels, centres), kwargs, diff_argnums=(0, 2)
        )
    x = centres[labels]
    x = x.at[1::4].multiply(-1.0).at[2::4].set(0.0).at[3::4].multiply(1e3)
    return Example((x, labels, centres), kwargs, diff_argnums=(0, 2))


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
    matches="Hadsell et al. 2006",
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
register(
    multi_similarity_loss,
    family="embedding",
    tasks=("metric learning", "pair weighting"),
    input_kind="embeddings, labels",
    example=functools.partial(embedding_example, kind="labelled"),
    matches="PML MultiSimilarityLoss",
    batch_coupled=True,
)
register(
    circle_loss,
    family="embedding",
    tasks=("metric learning", "pair weighting", "faces"),
    input_kind="embeddings, labels",
    matches="PML CircleLoss, Keras Circle",
    # gamma = 256 (the default) scales logits to ~1e3, where float32 rounding alone
    # moves gradients by ~1e-4: the generic jit/eager/sharded comparisons use 32
    example=functools.partial(embedding_example, kind="circle"),
    batch_coupled=True,
    true_gradient=False,  # the pair weights are held constant, as PML and the paper's code
)
register(
    proxy_anchor_loss,
    family="embedding",
    tasks=("metric learning", "proxies"),
    input_kind="embeddings, labels, proxies",
    example=functools.partial(class_example, kind="proxies"),
    matches="PML ProxyAnchorLoss",
    batch_coupled=True,
    weight_kind="none",
    unreduced=False,
    where_like=1,
    shared_args=(2,),  # the proxies are not rows
)
register(
    arcface_loss,
    family="embedding",
    tasks=("metric learning", "faces", "classification"),
    input_kind="embeddings, labels, class_embeddings",
    example=functools.partial(class_example, kind="margin"),
    matches="InsightFace ArcFace, PML ArcFaceLoss",
    shared_args=(2,),  # the class embeddings are not rows
)
register(
    cosface_loss,
    family="embedding",
    tasks=("metric learning", "faces", "classification"),
    input_kind="embeddings, labels, class_embeddings",
    example=functools.partial(class_example, kind="margin"),
    matches="PML CosFaceLoss, InsightFace CosFace",
    shared_args=(2,),
)
register(
    siglip_loss,
    family="embedding",
    tasks=("metric learning", "in-batch negatives", "multimodal"),
    input_kind="image_embeddings, text_embeddings",
    example=functools.partial(embedding_example, kind="pairs"),
    matches="SigLIP (big_vision)",
    batch_coupled=True,
)
