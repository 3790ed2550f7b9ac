"""What ``recommend`` knows about a task: the vocabularies of its options, the
scenario they describe, the published sources it cites, and the ranked
suggestion it returns.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

IMBALANCE = ("none", "moderate", "severe", "extreme")
OUTLIERS = ("none", "some", "many", "meaningful")
TASKS = (
    "regression",
    "binary",
    "multiclass",
    "multilabel",
    "token_classification",
    "segmentation",
    "detection",
    "metric_learning",
    "face_recognition",
    "ranking",
    "sequence_transcription",
    "distribution",
    "generative",
    "language_model",
    "preference",
    "moe_router",
)
METRIC_DATA = ("pairs", "triplets", "labels", "in_batch", "scores")
GENERATIVE = ("vae", "gan", "diffusion", "image_to_image", "style_transfer")
LM_OBJECTIVES = ("causal", "masked", "seq2seq", "contrastive")
PREFERENCE = ("rlhf", "reward_model", "dpo", "reference_free", "verifiable_rewards")

# every source a suggestion cites: papers and the peers' documentation
SOURCES = {
    "mle": "Bishop, Pattern Recognition and Machine Learning (2006), ch. 3-4: losses "
    "as likelihoods",
    "huber": "Huber, Robust Estimation of a Location Parameter (1964)",
    "logcosh": "Saleh & Saleh, Statistical Properties of the log-cosh Loss Function (2022)",
    "quantile": "Koenker & Bassett, Regression Quantiles (1978)",
    "gnll": "Nix & Weigend, Estimating the Mean and Variance of the Target Probability "
    "Distribution (1994)",
    "calibration": "Guo et al., On Calibration of Modern Neural Networks (2017)",
    "threshold": "Lipton et al., Optimal Thresholding of Classifiers to Maximize F1 Measure (2014)",
    "pos_weight": "PyTorch documentation, BCEWithLogitsLoss (pos_weight)",
    "focal": "Lin et al., Focal Loss for Dense Object Detection (2017)",
    "hinge": "Cortes & Vapnik, Support-Vector Networks (1995)",
    "multiclass_hinge": "Weston & Watkins, Support Vector Machines for Multi-Class Pattern "
    "Recognition (1999)",
    "smoothing": "Müller et al., When Does Label Smoothing Help? (2019)",
    "class_balanced": "Cui et al., Class-Balanced Loss Based on Effective Number of Samples (2019)",
    "ldam": "Cao et al., Learning Imbalanced Datasets with Label-Distribution-Aware Margin "
    "Loss (2019)",
    "asl": "Ridnik et al., Asymmetric Loss for Multi-Label Classification (2021)",
    "dice": "Milletari et al., V-Net (2016): the Dice loss",
    "tversky": "Salehi et al., Tversky Loss Function for Image Segmentation (2017)",
    "focal_tversky": "Abraham & Khan, A Novel Focal Tversky Loss Function (2019)",
    "seg_survey": "Jadon, A Survey of Loss Functions for Semantic Segmentation (2020)",
    "lovasz": "Berman et al., The Lovász-Softmax Loss (2018)",
    "boundary": "Kervadec et al., Boundary Loss for Highly Unbalanced Segmentation (2019)",
    "cldice": "Shit et al., clDice: a Topology-Preserving Loss for Tubular Structure "
    "Segmentation (2021)",
    "giou": "Rezatofighi et al., Generalized Intersection over Union (2019)",
    "ciou": "Zheng et al., Distance-IoU Loss (2020)",
    "fast_rcnn": "Girshick, Fast R-CNN (2015): Smooth L1 box regression",
    "contrastive": "Hadsell, Chopra & LeCun, Dimensionality Reduction by Learning an "
    "Invariant Mapping (2006)",
    "triplet": "Schroff et al., FaceNet (2015)",
    "batch_hard": "Hermans et al., In Defense of the Triplet Loss (2017)",
    "supcon": "Khosla et al., Supervised Contrastive Learning (2020)",
    "mnrl": "Henderson et al., Efficient Natural Language Response Suggestion (2017); "
    "sentence-transformers documentation",
    "infonce": "van den Oord et al., Representation Learning with Contrastive Predictive "
    "Coding (2018)",
    "clip": "Radford et al., Learning Transferable Visual Models from Natural Language "
    "Supervision (2021)",
    "sbert": "Reimers & Gurevych, Sentence-BERT (2019); sentence-transformers documentation",
    "cosent": "Su, CoSENT (2022); sentence-transformers CoSENTLoss",
    "arcface": "Deng et al., ArcFace: Additive Angular Margin Loss (2019)",
    "cosface": "Wang et al., CosFace: Large Margin Cosine Loss (2018)",
    "ranking": "Bruch et al., An Analysis of the Softmax Cross Entropy Loss for "
    "Learning-to-Rank (2019)",
    "ctc": "Graves et al., Connectionist Temporal Classification (2006)",
    "distillation": "Hinton, Vinyals & Dean, Distilling the Knowledge in a Neural Network (2015)",
    "js": "Lin, Divergence Measures Based on the Shannon Entropy (1991)",
    "vae": "Kingma & Welling, Auto-Encoding Variational Bayes (2014)",
    "gan": "Goodfellow et al., Generative Adversarial Nets (2014)",
    "ddpm": "Ho et al., Denoising Diffusion Probabilistic Models (2020); Hang et al., "
    "Min-SNR Weighting (2023)",
    "pix2pix": "Isola et al., Image-to-Image Translation with Conditional Adversarial "
    "Networks (2017)",
    "perceptual": "Johnson et al., Perceptual Losses for Real-Time Style Transfer (2016)",
    "style": "Gatys et al., Image Style Transfer Using Convolutional Neural Networks (2016)",
    "bert": "Devlin et al., BERT (2019)",
    "fused": "Wijmans et al., Cut Your Losses in Large-Vocabulary Language Models (2025)",
    "bradley_terry": "Ouyang et al., Training Language Models to Follow Instructions (2022)",
    "ppo": "Schulman et al., Proximal Policy Optimization Algorithms (2017)",
    "dpo": "Rafailov et al., Direct Preference Optimization (2023)",
    "orpo": "Hong et al., ORPO: Monolithic Preference Optimization without Reference Model (2024)",
    "simpo": "Meng et al., SimPO: Simple Preference Optimization with a Reference-Free "
    "Reward (2024)",
    "grpo": "Shao et al., DeepSeekMath (2024): Group Relative Policy Optimization",
    "switch": "Fedus et al., Switch Transformers (2022): the load-balancing loss",
    "st_moe": "Zoph et al., ST-MoE (2022): the router z-loss",
}


def _resolve(name: str) -> Callable[..., Any]:
    # at call time, so that a loss registered after this module was imported is found
    return getattr(importlib.import_module("jaxloss"), name)


def available(name: str) -> bool:
    """Whether ``jaxloss.<name>`` exists in this installation."""
    try:
        _resolve(name)
    except AttributeError:
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """One ranked suggestion: call ``jaxloss.<name>(..., **options)``.

    ``options`` are ready to use; ``to_fill`` names the options that depend on
    your data (per-class weights, class counts), each with what to pass.
    ``loss`` is the configured function itself.
    """

    name: str
    reason: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    sources: tuple[str, ...] = ()
    to_fill: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def loss(self) -> Callable[..., Any]:
        """``jaxloss.<name>`` with the recommended ``options`` bound; pass the
        arrays (and any ``to_fill`` option) when calling it."""
        return functools.partial(_resolve(self.name), **self.options)

    def call(self) -> str:
        """The call as text, e.g. ``cross_entropy(..., label_smoothing=0.1)``."""
        opts = "".join(f", {k}={v!r}" for k, v in self.options.items())
        fill = "".join(f", {k}=<{v}>" for k, v in self.to_fill.items())
        return f"{self.name}(...{opts}{fill})"


def rec(
    name: str,
    reason: str,
    sources: str,
    *,
    to_fill: Mapping[str, str] | None = None,
    **options: Any,
) -> Recommendation:
    """A suggestion citing ``sources``, space-separated keys of ``SOURCES``."""
    cited = tuple(SOURCES[s] for s in sources.split())
    fill = MappingProxyType(dict(to_fill or {}))
    return Recommendation(name, reason, MappingProxyType(options), cited, fill)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """``recommend``'s validated options, as each task's guide reads them."""

    imbalance: str
    outliers: str
    positive_rate: float | None
    num_classes: int | None
    overconfidence: bool
    margin: bool
    boundaries: bool
    thin_structures: bool
    uncertainty: bool
    data: str | None
    model: str | None
    objective: str | None
    vocab_size: int | None

    @property
    def pos_weight(self) -> dict[str, Any]:
        """``pos_weight``: the options (10% positives -> 9 = negatives / positives),
        or what to fill in when the rate is unknown."""
        if self.positive_rate is None:
            return {"to_fill": {"pos_weight": "n_negative / n_positive"}}
        return {"pos_weight": round((1.0 - self.positive_rate) / self.positive_rate, 3)}
