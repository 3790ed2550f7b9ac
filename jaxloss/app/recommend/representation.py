"""The guides for tasks that learn representations and generators: metric
learning, distribution matching, generative models, language models and
preference learning. Each turns a ``Scenario`` into ranked ``Recommendation`` s.
"""

from __future__ import annotations

import dataclasses

from jaxloss.app.recommend.scenario import Recommendation, Scenario, rec


def metric_learning(s: Scenario) -> list[Recommendation]:
    pairs = [
        rec("contrastive_loss", "labelled pairs: pull similar, push dissimilar", "001 004"),
        rec("cosine_embedding_loss", "pairs compared by cosine similarity", "004"),
    ]
    triplets = [
        rec("triplet_margin_loss", "(anchor, positive, negative) triplets", "001 004"),
        rec("batch_triplet_loss", "or mine triplets inside each batch", "001"),
    ]
    labels = [
        rec(
            "batch_triplet_loss",
            "class labels: mine the hardest triplets in each batch",
            "001 004",
            mining="batch_hard",
        ),
        rec("supervised_contrastive_loss", "every same-label sample is a positive", "004"),
    ]
    in_batch = [
        rec(
            "multiple_negatives_ranking_loss",
            "(anchor, positive) pairs: the batch's other positives are negatives",
            "004",
        ),
        rec("info_nce_loss", "in-batch InfoNCE with a temperature", "004"),
        rec("clip_loss", "two modalities, symmetric in-batch loss", "004"),
    ]
    scores = [
        rec("cosine_similarity_loss", "sentence pairs with a similarity score", "004"),
        rec("cosent_loss", "ranks pairs by score: only their order matters", "004"),
    ]
    table = {
        "pairs": pairs,
        "triplets": triplets,
        "labels": labels,
        "in_batch": in_batch,
        "scores": scores,
    }
    return table[s.data] if s.data else [*triplets[:1], *pairs[:1], *labels[:1]]


def distribution(s: Scenario) -> list[Recommendation]:
    return [
        rec("kl_divergence_with_logits", "distillation or matching a target distribution", "001"),
        rec("kl_divergence", "KL(p || q) from probabilities", "001"),
        rec("js_divergence", "symmetric and bounded, when a distance is needed", "001"),
    ]


def generative(s: Scenario) -> list[Recommendation]:
    vae = [rec("vae_loss", "reconstruction plus KL to the prior", "004", beta=1.0)]
    gan = [
        rec("gan_discriminator_loss", "the critic's adversarial loss", "004"),
        rec("gan_generator_loss", "non-saturating generator loss", "004"),
    ]
    diffusion = [
        rec(
            "diffusion_loss",
            "MSE on the predicted noise (Min-SNR weighting optional)",
            "004",
            min_snr_gamma=5.0,
        )
    ]
    image = [
        rec("l1_loss", "pixel reconstruction (Pix2Pix)", "004"),
        rec("gan_generator_loss", "adversarial realism", "004"),
        rec("perceptual_loss", "features of a fixed network", "004"),
    ]
    style = [
        rec("content_loss", "feature match to the content image", "004"),
        rec("style_loss", "Gram-matrix match to the style image", "004"),
        rec("total_variation_loss", "smooth images", "004"),
    ]
    table = {
        "vae": vae,
        "gan": gan,
        "diffusion": diffusion,
        "image_to_image": image,
        "style_transfer": style,
    }
    return table[s.model] if s.model else [*vae, *gan, *diffusion]


def language_model(s: Scenario) -> list[Recommendation]:
    fused = rec(
        "fused_linear_cross_entropy",
        "large vocabulary: never materialises the [tokens, V] logits",
        "004",
        ignore_index=-100,
    )
    big = s.vocab_size is not None and s.vocab_size >= 32768
    if s.objective == "masked":
        ranked = [rec("masked_lm_loss", "cross-entropy on the masked tokens only", "004")]
    elif s.objective == "seq2seq":
        ranked = [
            rec(
                "cross_entropy",
                "decoder cross-entropy; padding skipped by ignore_index",
                "004",
                ignore_index=-100,
            )
        ]
    elif s.objective == "contrastive":
        return metric_learning(dataclasses.replace(s, data="in_batch"))
    else:
        ranked = [
            rec(
                "causal_lm_loss",
                "next-token cross-entropy, shift and padding handled",
                "004",
                ignore_index=-100,
            )
        ]
    return [fused, *ranked] if big else [*ranked, fused]


def preference(s: Scenario) -> list[Recommendation]:
    reward = rec("bradley_terry_loss", "reward model on (chosen, rejected) pairs", "004")
    ppo = [
        rec("ppo_policy_loss", "clipped policy surrogate", "004", clip_eps=0.2),
        rec("ppo_value_loss", "value head regression", "004"),
        rec("kl_penalty", "keep the policy near the reference model", "004", kind="k3"),
    ]
    dpo = rec("dpo_loss", "preferences without a reward model or RL", "004", beta=0.1)
    if s.objective == "reward_model":
        return [reward]
    if s.objective == "dpo":
        return [dpo, rec("sequence_log_probs", "its per-sequence log-probabilities", "004")]
    return [reward, *ppo, dpo]
