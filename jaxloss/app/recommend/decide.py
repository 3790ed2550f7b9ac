"""``recommend``: validates a task's description and hands it to the task's guide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jaxloss._core import checks
from jaxloss.app.recommend import prediction, representation
from jaxloss.app.recommend.scenario import (
    GENERATIVE,
    IMBALANCE,
    LM_OBJECTIVES,
    METRIC_DATA,
    OUTLIERS,
    PREFERENCE,
    TASKS,
    Recommendation,
    Scenario,
)


def _level_from_rate(rate: float) -> str:
    """Imbalance level of a positive (or rarest-class) rate: 5-15% positives is
    moderate class imbalance; sparse masks at 1-5% need more."""
    if rate >= 0.3:
        return "none"
    if rate >= 0.1:
        return "moderate"
    if rate >= 0.01:
        return "severe"
    return "extreme"


_BY_TASK: dict[str, Callable[[Scenario], list[Recommendation]]] = {
    "regression": prediction.regression,
    "binary": prediction.binary,
    "multiclass": prediction.multiclass,
    "multilabel": prediction.multilabel,
    "token_classification": prediction.token_classification,
    "segmentation": prediction.segmentation,
    "detection": prediction.detection,
    "metric_learning": representation.metric_learning,
    "distribution": representation.distribution,
    "generative": representation.generative,
    "language_model": representation.language_model,
    "preference": representation.preference,
    "face_recognition": representation.face_recognition,
    "ranking": representation.ranking,
    "sequence_transcription": representation.sequence_transcription,
    "moe_router": representation.moe_router,
}
# other names for the tasks (None: classification, resolved by the options)
ALIASES = {
    "classification": None,  # resolved by labels_per_sample / num_classes
    "multi-class": "multiclass",
    "multi-label": "multilabel",
    "tokens": "token_classification",
    "ner": "token_classification",
    "metric": "metric_learning",
    "similarity": "metric_learning",
    "embeddings": "metric_learning",
    "llm": "language_model",
    "rlhf": "preference",
    "vae": "generative",
    "gan": "generative",
    "diffusion": "generative",
    "face_verification": "face_recognition",
    "faces": "face_recognition",
    "learning_to_rank": "ranking",
    "speech": "sequence_transcription",
    "ocr": "sequence_transcription",
    "asr": "sequence_transcription",
    "moe": "moe_router",
    "rl": "preference",
}


def _choice(name: str, value: Any, allowed: tuple) -> None:
    if value is not None and value not in allowed:
        checks.fail("recommend", f"{name} must be one of {allowed}; got {value!r}")


def recommend(
    task: str,
    *,
    imbalance: str | None = None,
    positive_rate: float | None = None,
    outliers: str | bool = "none",
    labels_per_sample: int | str = 1,
    num_classes: int | None = None,
    overconfidence: bool = False,
    margin: bool = False,
    boundaries: bool = False,
    thin_structures: bool = False,
    uncertainty: bool = False,
    data: str | None = None,
    model: str | None = None,
    objective: str | None = None,
    vocab_size: int | None = None,
) -> list[Recommendation]:
    """Ranked losses for a task, following published decision guides and papers.

    Each ``Recommendation`` carries a one-line reason, the options to set, the
    papers or documentation behind the advice, and ``loss``: the configured
    function, ready to call.

    Args:
      task: one of ``TASKS``, or an alias from ``ALIASES`` (``classification``,
        ``llm``, ``gan``, ``face_verification``, ``speech``, ``moe``...).
      imbalance: ``none``, ``moderate`` (e.g. 10-30% positives), ``severe``
        (1-10%) or ``extreme`` (< 1%, detection's background). Derived from
        ``positive_rate`` when that is given instead.
      positive_rate: fraction of positives (or of the rarest class); also sets
        the suggested ``pos_weight``.
      outliers: regression targets: ``none``, ``some``, ``many`` or
        ``meaningful`` (real extreme cases that must be penalised); True means
        ``some``.
      labels_per_sample: for ``classification``: 1, or ``"multi"``/>1 for
        multi-label. num_classes: 2 means binary.
      overconfidence: predictions need calibrating (label smoothing).
      margin: a margin-based, SVM-style objective is wanted.
      boundaries: segmentation where object boundaries matter most.
      thin_structures: segmentation of thin, connected structures (vessels,
        roads, neurons).
      uncertainty: regression that must report intervals or a variance.
      data: metric learning's supervision: ``pairs``, ``triplets``, ``labels``,
        ``in_batch`` or ``scores``.
      model: generative models: ``vae``, ``gan``, ``diffusion``,
        ``image_to_image`` or ``style_transfer``.
      objective: language models (``causal``, ``masked``, ``seq2seq``,
        ``contrastive``) or preference learning and RL (``rlhf``,
        ``reward_model``, ``dpo``, ``reference_free`` for no reference model,
        ``verifiable_rewards`` for rewards a program checks).
      vocab_size: language models; 32768 or more puts the fused loss first.

    Returns:
      ``Recommendation`` s, best first.

    Example:
      >>> import jaxloss
      >>> [r.name for r in jaxloss.recommend("regression", outliers="some")]
      ['huber_loss', 'l1_loss', 'mse_loss']
      >>> best = jaxloss.recommend("regression", outliers="some")[0]
      >>> best.call()
      'huber_loss(..., delta=1.0)'
      >>> import jax.numpy as jnp
      >>> float(best.loss(jnp.array([0.0, 3.0]), jnp.array([0.0, 0.0])))
      1.25
    """
    key = ALIASES.get(task, task)
    if task in ("vae", "gan", "diffusion") and model is None:
        model = task
    if key is None:
        multi = labels_per_sample == "multi" or (
            isinstance(labels_per_sample, int) and labels_per_sample > 1
        )
        key = "multilabel" if multi else "binary" if num_classes in (None, 2) else "multiclass"
    if key not in _BY_TASK:
        checks.fail(
            "recommend",
            f"task must be one of {TASKS} or an alias ({', '.join(sorted(ALIASES))}); got {task!r}",
        )
    if outliers is True:
        outliers = "some"
    elif outliers is False:
        outliers = "none"
    _choice("imbalance", imbalance, IMBALANCE)
    _choice("outliers", outliers, OUTLIERS)
    _choice("data", data, METRIC_DATA)
    _choice("model", model, GENERATIVE)
    _choice("objective", objective, LM_OBJECTIVES + PREFERENCE)
    if positive_rate is not None and not 0.0 < positive_rate < 1.0:
        checks.fail("recommend", f"positive_rate must be in (0, 1); got {positive_rate!r}")
    if imbalance is None:
        imbalance = "none" if positive_rate is None else _level_from_rate(positive_rate)
    scenario = Scenario(
        imbalance=imbalance,
        outliers=outliers,
        positive_rate=positive_rate,
        num_classes=num_classes,
        overconfidence=bool(overconfidence),
        margin=bool(margin),
        boundaries=bool(boundaries),
        thin_structures=bool(thin_structures),
        uncertainty=bool(uncertainty),
        data=data,
        model=model,
        objective=objective,
        vocab_size=vocab_size,
    )
    ranked = _BY_TASK[key](scenario)
    if not ranked:
        checks.fail("recommend", f"no loss for task {task!r} is available in this installation")
    return ranked
