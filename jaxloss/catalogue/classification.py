"""Example inputs and registrations of the classification losses."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from jaxloss._core.types import Array
from jaxloss.catalogue.registry import Example, register
from jaxloss.losses.classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    binary_sparsemax_loss,
    cross_entropy,
    generalized_cross_entropy,
    hinge_embedding_loss,
    hinge_loss,
    multi_margin_loss,
    multiclass_hinge_loss,
    multiclass_perceptron_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    nll_loss,
    perceptron_loss,
    poly1_cross_entropy,
    sigmoid_focal_loss,
    soft_margin_loss,
    softmax_focal_loss,
    sparsemax_loss,
    squared_hinge_loss,
)

__all__ = ["binary_example", "multiclass_example", "multilabel_example"]

_CLASSES = 256  # enough that a class axis is a real reduction, not a handful of lanes


def binary_example(key: Array, batch: int, extreme: bool = False, *, kind: str) -> Example:
    """``[batch, 8]`` outputs with one target each.

    ``kind``: "logits" or "scores" (with {0, 1} targets), "probs" ({0, 1}
    targets), "signed" (scores with {-1, +1} targets) or "distances"
    (non-negative, {-1, +1} targets). Extreme logits are ±1e4, ±100 and 0,
    extreme probabilities exactly 0 and 1.
    """
    kx, kt = jax.random.split(key)
    shape = (batch, 8)
    t = jax.random.bernoulli(kt, 0.3, shape).astype(jnp.float32)
    if extreme:
        x = jnp.resize(jnp.array([1e4, -1e4, 100.0, -100.0, 0.0, 30.0, -30.0]), shape)
    else:
        x = 3.0 * jax.random.normal(kx, shape)
    if kind == "probs":
        x = (
            jnp.resize(jnp.array([0.0, 1.0, 0.5, 1e-30]), shape)
            if extreme
            else jax.nn.sigmoid(x / 3)
        )
    elif kind == "distances":
        x = jnp.abs(x)
    if kind in ("signed", "distances"):
        t = 2.0 * t - 1.0
    return Example((x, t))


def multiclass_example(
    key: Array,
    batch: int,
    extreme: bool = False,
    *,
    kind: str,
    ignore: bool = True,
    class_alpha: bool = False,
    **options: Any,
) -> Example:
    """``[batch, 256]`` outputs and integer targets ``[batch]``.

    ``kind``: "logits" or "scores", or "log_probs" (their log-softmax). With
    ``ignore`` every 8th target is -100; ``class_alpha`` adds a ``[C]`` alpha
    vector; ``options`` are the loss's keyword options. Extreme logits are ±1e4
    with a -inf (masked) class per row and a row offset by 1e8.
    """
    kx, ky = jax.random.split(key)
    y = jax.random.randint(ky, (batch,), 0, _CLASSES)
    if extreme:
        x = jnp.resize(jnp.array([1e4, -1e4, 0.0, 3.0]), (batch, _CLASSES))
        x = x.at[jnp.arange(batch), (y + 1) % _CLASSES].set(-jnp.inf)
        x = x.at[1].set(1e8)
    else:
        x = 3.0 * jax.random.normal(kx, (batch, _CLASSES))
    if kind == "log_probs":
        x = jax.nn.log_softmax(x, axis=-1)
    if class_alpha:
        options = {**options, "alpha": jnp.linspace(0.5, 1.5, _CLASSES)}
    if not ignore:
        return Example((x, y), options)
    y = y.at[::8].set(-100)
    return Example((x, y), options, counted=batch - len(range(0, batch, 8)))


def multilabel_example(key: Array, batch: int, extreme: bool = False) -> Example:
    """Scores ``[batch, 8]`` and target lists ``[batch, 8]``: each row lists 0 to 7
    distinct classes, then -1, then ids that the -1 makes ignored. Extreme scores
    are ±1e4 and ties."""
    ks, kp, kk = jax.random.split(key, 3)
    shape = (batch, 8)
    if extreme:
        scores = jnp.resize(jnp.array([1e4, -1e4, 0.0, 0.0, 1.0]), shape)
    else:
        scores = 2.0 * jax.random.normal(ks, shape)
    order = jnp.argsort(jax.random.uniform(kp, shape), axis=-1)
    listed = jax.random.randint(kk, (batch, 1), 0, shape[1])
    position = jnp.arange(shape[1])
    return Example((scores, jnp.where(position == listed, -1, order)))


register(
    binary_cross_entropy,
    family="classification",
    tasks=("classification", "binary", "multi-label"),
    input_kind="probs, targets",
    example=functools.partial(binary_example, kind="probs"),
    matches="torch F.binary_cross_entropy",
)
register(
    binary_cross_entropy_with_logits,
    family="classification",
    tasks=("classification", "binary", "multi-label", "imbalance"),
    input_kind="logits, targets",
    example=functools.partial(binary_example, kind="logits"),
    matches="torch F.binary_cross_entropy_with_logits, optax sigmoid_binary_cross_entropy",
)
register(
    sigmoid_focal_loss,
    family="classification",
    tasks=("classification", "binary", "multi-label", "imbalance", "detection"),
    input_kind="logits, targets",
    example=functools.partial(binary_example, kind="logits"),
    matches="torchvision ops.sigmoid_focal_loss, optax",
)
register(
    hinge_loss,
    family="classification",
    tasks=("classification", "binary"),
    input_kind="scores, targets",
    example=functools.partial(binary_example, kind="scores"),
    matches="optax hinge_loss",
)
register(
    squared_hinge_loss,
    family="classification",
    tasks=("classification", "binary"),
    input_kind="scores, targets",
    example=functools.partial(binary_example, kind="scores"),
    matches="Keras SquaredHinge",
)
register(
    soft_margin_loss,
    family="classification",
    tasks=("classification", "binary"),
    input_kind="scores, targets",
    example=functools.partial(binary_example, kind="signed"),
    matches="torch F.soft_margin_loss",
)
register(
    multilabel_soft_margin_loss,
    family="classification",
    tasks=("classification", "multi-label"),
    input_kind="logits, targets",
    example=functools.partial(binary_example, kind="logits"),
    matches="torch F.multilabel_soft_margin_loss",
    weight_kind="class",
    scores_classes=True,
)
register(
    hinge_embedding_loss,
    family="classification",
    tasks=("classification", "metric-learning"),
    input_kind="distances, targets",
    example=functools.partial(binary_example, kind="distances"),
    matches="torch F.hinge_embedding_loss",
)
register(
    cross_entropy,
    family="classification",
    tasks=("classification", "multi-class", "tokens", "segmentation", "overconfidence"),
    input_kind="logits, int or prob targets",
    example=functools.partial(multiclass_example, kind="logits", label_smoothing=0.1),
    matches="torch F.cross_entropy",
    weight_kind="class",
    scores_classes=True,
)
register(
    nll_loss,
    family="classification",
    tasks=("classification", "multi-class", "tokens", "segmentation"),
    input_kind="log_probs, int targets",
    example=functools.partial(multiclass_example, kind="log_probs"),
    matches="torch F.nll_loss",
    weight_kind="class",
    scores_classes=True,
)
register(
    softmax_focal_loss,
    family="classification",
    tasks=("classification", "multi-class", "tokens", "segmentation", "imbalance"),
    input_kind="logits, int targets",
    example=functools.partial(multiclass_example, kind="logits", class_alpha=True),
    matches="the common tutorial FocalLoss (1 - exp(-CE))^gamma CE",
    weight_kind="none",
    scores_classes=True,
)
register(
    multi_margin_loss,
    family="classification",
    tasks=("classification", "multi-class"),
    input_kind="scores, int targets",
    example=functools.partial(multiclass_example, kind="scores", ignore=False, p=2, margin=0.5),
    matches="torch F.multi_margin_loss",
    weight_kind="class",
    scores_classes=True,
)
register(
    multiclass_hinge_loss,
    family="classification",
    tasks=("classification", "multi-class"),
    input_kind="scores, int targets",
    example=functools.partial(multiclass_example, kind="scores", ignore=False),
    matches="optax multiclass_hinge_loss",
    weight_kind="none",
    scores_classes=True,
)
register(
    poly1_cross_entropy,
    family="classification",
    tasks=("classification", "multi-class"),
    input_kind="logits, int or prob targets",
    example=functools.partial(multiclass_example, kind="logits"),
    matches="optax poly_loss_cross_entropy",
    weight_kind="none",
    scores_classes=True,
)
register(
    sparsemax_loss,
    family="classification",
    tasks=("classification", "multi-class", "sparse-probabilities"),
    input_kind="logits, int or prob targets",
    example=functools.partial(multiclass_example, kind="logits", ignore=False),
    matches="optax multiclass_sparsemax_loss",
    scores_classes=True,
)
register(
    binary_sparsemax_loss,
    family="classification",
    tasks=("classification", "binary", "multi-label", "sparse-probabilities"),
    input_kind="logits, targets",
    example=functools.partial(binary_example, kind="logits"),
    matches="optax sparsemax_loss",
)
register(
    perceptron_loss,
    family="classification",
    tasks=("classification", "binary"),
    input_kind="scores, targets",
    example=functools.partial(binary_example, kind="scores"),
    matches="optax perceptron_loss",
)
register(
    multiclass_perceptron_loss,
    family="classification",
    tasks=("classification", "multi-class"),
    input_kind="scores, int targets",
    example=functools.partial(multiclass_example, kind="scores", ignore=False),
    matches="optax multiclass_perceptron_loss",
    scores_classes=True,
)
register(
    multilabel_margin_loss,
    family="classification",
    tasks=("classification", "multi-label"),
    input_kind="scores, target class lists",
    example=multilabel_example,
    matches="torch F.multilabel_margin_loss",
)
register(
    generalized_cross_entropy,
    family="classification",
    tasks=("classification", "multi-class", "noisy-labels"),
    input_kind="logits, int targets",
    example=functools.partial(multiclass_example, kind="logits", ignore=False, q=0.7),
    matches="Keras CategoricalGeneralizedCrossEntropy (on log-probabilities)",
    scores_classes=True,
)
