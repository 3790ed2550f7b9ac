"""The guides for tasks that learn representations and generators: metric
learning, distribution matching, generative models, language models and
preference learning. Each turns a ``Scenario`` into ranked ``Recommendation`` s.
"""

from __future__ import annotations

import dataclasses

from jaxloss.app.recommend.scenario import Recommendation, Scenario, available, rec


def metric_learning(s: Scenario) -> list[Recommendation]:
    pairs = [
        rec("contrastive_loss", "labelled pairs: pull similar, push dissimilar", "contrastive"),
        rec("cosine_embedding_loss", "pairs compared by cosine similarity", "sbert"),
    ]
    triplets = [
        rec("triplet_margin_loss", "(anchor, positive, negative) triplets", "triplet"),
        rec("batch_triplet_loss", "or mine triplets inside each batch", "batch_hard"),
    ]
    labels = [
        rec(
            "batch_triplet_loss",
            "class labels: mine the hardest triplets in each batch",
            "batch_hard",
            mining="batch_hard",
        ),
        rec("supervised_contrastive_loss", "every same-label sample is a positive", "supcon"),
    ]
    in_batch = [
        rec(
            "multiple_negatives_ranking_loss",
            "(anchor, positive) pairs: the batch's other positives are negatives",
            "mnrl",
        ),
        rec("info_nce_loss", "in-batch InfoNCE with a temperature", "infonce"),
        rec("clip_loss", "two modalities, symmetric in-batch loss", "clip"),
    ]
    scores = [
        rec("cosine_similarity_loss", "sentence pairs with a similarity score", "sbert"),
        rec("cosent_loss", "ranks pairs by score: only their order matters", "cosent"),
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
        rec(
            "kl_divergence_with_logits",
            "distillation or matching a target distribution",
            "distillation",
        ),
        rec("kl_divergence", "KL(p || q) from probabilities", "distillation"),
        rec("js_divergence", "symmetric and bounded, when a distance is needed", "js"),
    ]


def generative(s: Scenario) -> list[Recommendation]:
    vae = [rec("vae_loss", "reconstruction plus KL to the prior", "vae", beta=1.0)]
    gan = [
        rec("gan_discriminator_loss", "the critic's adversarial loss", "gan"),
        rec("gan_generator_loss", "non-saturating generator loss", "gan"),
    ]
    diffusion = [
        rec(
            "diffusion_loss",
            "MSE on the predicted noise (Min-SNR weighting optional)",
            "ddpm",
            min_snr_gamma=5.0,
        )
    ]
    image = [
        rec("l1_loss", "pixel reconstruction (Pix2Pix)", "pix2pix"),
        rec("gan_generator_loss", "adversarial realism", "pix2pix"),
        rec("perceptual_loss", "features of a fixed network", "perceptual"),
    ]
    style = [
        rec("content_loss", "feature match to the content image", "style"),
        rec("style_loss", "Gram-matrix match to the style image", "style"),
        rec("total_variation_loss", "smooth images", "perceptual"),
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
        "fused",
        ignore_index=-100,
    )
    big = s.vocab_size is not None and s.vocab_size >= 32768
    if s.objective == "masked":
        ranked = [rec("masked_lm_loss", "cross-entropy on the masked tokens only", "bert")]
    elif s.objective == "seq2seq":
        ranked = [
            rec(
                "cross_entropy",
                "decoder cross-entropy; padding skipped by ignore_index",
                "mle",
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
                "mle",
                ignore_index=-100,
            )
        ]
    return [fused, *ranked] if big else [*ranked, fused]


def preference(s: Scenario) -> list[Recommendation]:
    reward = rec("bradley_terry_loss", "reward model on (chosen, rejected) pairs", "bradley_terry")
    ppo = [
        rec("ppo_policy_loss", "clipped policy surrogate", "ppo", clip_eps=0.2),
        rec("ppo_value_loss", "value head regression", "ppo"),
        rec(
            "kl_penalty", "keep the policy near the reference model", "ppo bradley_terry", kind="k3"
        ),
    ]
    dpo = rec("dpo_loss", "preferences without a reward model or RL", "dpo", beta=0.1)
    if s.objective == "reward_model":
        return [reward]
    if s.objective == "dpo":
        return [dpo, rec("sequence_log_probs", "its per-sequence log-probabilities", "dpo")]
    if s.objective == "reference_free":
        free = [
            rec(
                "simpo_loss",
                "no reference model: length-normalised log-probabilities with a target margin",
                "simpo",
                beta=2.0,
                gamma=0.5,
            ),
            rec(
                "orpo_loss",
                "no reference model: odds-ratio term, added to the chosen answers' NLL",
                "orpo",
                beta=0.1,
            ),
        ]
        return [r for r in free if available(r.name)] + [dpo]
    if s.objective == "verifiable_rewards":
        grpo = rec(
            "grpo_loss",
            "rewards a program can check (maths, code): group-relative advantages, no value model",
            "grpo",
            to_fill={"group_size": "completions sampled per prompt"},
        )
        return [grpo, *ppo] if available(grpo.name) else ppo
    return [reward, *ppo, dpo]


def face_recognition(s: Scenario) -> list[Recommendation]:
    ranked = [
        rec(
            "arcface_loss",
            "identities as classes: an additive angular margin on normalised embeddings",
            "arcface",
            scale=64.0,
            margin=0.5,
        ),
        rec(
            "cosface_loss",
            "an additive cosine margin: easier to train than ArcFace's angle",
            "cosface",
            scale=64.0,
            margin=0.35,
        ),
    ]
    triplet = rec(
        "batch_triplet_loss",
        "open-set verification without a class layer: mine the hardest triplets",
        "triplet batch_hard",
        mining="batch_hard",
    )
    return [*(r for r in ranked if available(r.name)), triplet]


def ranking(s: Scenario) -> list[Recommendation]:
    listwise = rec(
        "ranking_softmax_loss",
        "lists of candidates with graded relevance: listwise softmax cross-entropy bounds NDCG",
        "ranking",
    )
    pairwise = rec(
        "margin_ranking_loss",
        "pairs of items, one preferred: a hinge on their score difference",
        "hinge",
    )
    return [listwise, pairwise] if available(listwise.name) else [pairwise]


def sequence_transcription(s: Scenario) -> list[Recommendation]:
    ctc = rec(
        "ctc_loss",
        "speech or handwriting to text without frame alignments: sums over all alignments",
        "ctc",
    )
    seq2seq = rec(
        "cross_entropy",
        "an attention decoder with aligned targets: token cross-entropy",
        "mle",
        ignore_index=-100,
    )
    return [ctc, seq2seq] if available(ctc.name) else [seq2seq]


def moe_router(s: Scenario) -> list[Recommendation]:
    ranked = [
        rec(
            "load_balancing_loss",
            "keeps tokens spread over the experts; add it to the task loss (coefficient ~0.01)",
            "switch",
        ),
        rec(
            "router_z_loss",
            "keeps router logits small for stable training (coefficient ~0.001)",
            "st_moe",
        ),
    ]
    return [r for r in ranked if available(r.name)]
