"""Losses of generative models (seed 004): VAE, GAN (five kinds and two gradient
penalties), diffusion with Min-SNR weighting, style transfer and image-to-image.

Per-sample losses (VAE, diffusion, penalties, style, content, perceptual, total
variation) reduce over every non-batch axis first, so ``reduction="none"`` gives
``[B]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import abs_, safe_norm, softplus, upcast
from jaxloss._core.reduce import prepare_arrays, reduce_loss
from jaxloss._core.types import Array, AxisName
from jaxloss.catalogue.registry import Example, LossSpec
from jaxloss.catalogue.registry import add_spec as register
from jaxloss.losses.classification import binary_cross_entropy_with_logits
from jaxloss.losses.divergence import gaussian_kl

__all__ = [
    "content_loss",
    "diffusion_loss",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "gradient_penalty",
    "gram_matrix",
    "perceptual_loss",
    "r1_penalty",
    "style_loss",
    "total_variation_loss",
    "vae_loss",
]

GAN_KINDS = ("minimax", "non_saturating", "hinge", "wasserstein", "least_squares")
PREDICTIONS = ("epsilon", "v", "x0")


def _samples(fn: str, names: tuple[str, ...], arrays, where, *, per_sample: bool = True):
    """Same-shaped float ``[B, ...]`` arrays; ``where`` masks samples ``[B]``
    (``per_sample``) or elements."""
    arrays, _ = prepare_arrays(fn, names, arrays, where, mask_axes=1 if per_sample else None)
    return arrays


def _per_sample(x: Array, how: str = "sum") -> Array:
    axes = tuple(range(1, x.ndim))
    return jnp.sum(x, axes) if how == "sum" else jnp.mean(x, axes)


# ------------------------------------------------------------------ VAE


def vae_loss(
    reconstruction: Array,
    x: Array,
    mean: Array,
    logvar: Array,
    *,
    beta: float = 1.0,
    recon_loss: str = "mse",
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""The negative ELBO of a Gaussian VAE (beta-VAE with ``beta != 1``).

    .. math::
        \ell_b = \sum_i r(\hat x_{bi}, x_{bi})
                 + \beta\,D_{KL}\big(\mathcal N(\mu_b, e^{v_b}) \,\|\, \mathcal N(0, I)\big)

    with :math:`r` the squared error (``recon_loss="mse"``) or BCE on logits
    (``"bce_logits"``, for data in [0, 1]), summed over every non-batch axis.

    Args:
      reconstruction: ``[B, ...]`` decoder output (logits for ``"bce_logits"``).
      x: ``[B, ...]`` data.
      mean, logvar: ``[B, L]`` encoder outputs.
      beta: weight of the KL term.
      weight, where: ``[B]``.

    Returns:
      A scalar (mean over samples), or ``[B]`` for ``reduction="none"``.

    References: Kingma & Welling (2014); Higgins et al. (2017), "beta-VAE".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.ones((2, 3))
      >>> float(jaxloss.vae_loss(x, x, jnp.zeros((2, 4)), jnp.zeros((2, 4))))
      0.0
    """
    fn = "vae_loss"
    checks.check_option(fn, "recon_loss", recon_loss, ("mse", "bce_logits"))
    checks.check_range(fn, "beta", beta, low=0.0)
    recon, data = _samples(fn, ("reconstruction", "x"), (reconstruction, x), where)
    if recon_loss == "mse":
        pointwise = jnp.square(recon - data)
    else:
        pointwise = binary_cross_entropy_with_logits(recon, data, reduction="none")
    mean, logvar = jnp.asarray(mean), jnp.asarray(logvar)
    if mean.shape[:1] != recon.shape[:1]:
        checks.fail(fn, f"mean has shape {mean.shape}; its batch axis must match x's {recon.shape}")
    kl = gaussian_kl(mean, logvar, where=where, reduction="none")
    return reduce_loss(
        fn=fn,
        loss=_per_sample(pointwise) + beta * kl,
        weight=weight,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


# ------------------------------------------------------------------ GAN


def _gan_terms(kind: str, logits: Array, real: bool, generator: bool) -> Array:
    """Each sample's term of the GAN loss for discriminator logits ``logits`` of
    real (``real=True``) or generated samples, for the discriminator or generator."""
    if kind in ("minimax", "non_saturating"):
        if generator:
            return -softplus(logits) if kind == "minimax" else softplus(-logits)
        return softplus(-logits) if real else softplus(logits)
    if kind == "hinge":
        if generator:
            return -logits
        return jax.nn.relu(1.0 - logits) if real else jax.nn.relu(1.0 + logits)
    if kind == "wasserstein":
        return -logits if (real or generator) else logits
    target = 1.0 if (real or generator) else 0.0  # least squares (Mao et al.)
    return 0.5 * jnp.square(logits - target)


def gan_discriminator_loss(
    real_logits: Array,
    fake_logits: Array,
    *,
    kind: str = "non_saturating",
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""The discriminator's (critic's) loss on a batch of real and generated samples.

    ========================  =====================================================
    kind                      loss
    ========================  =====================================================
    minimax, non_saturating   mean softplus(-real) + mean softplus(fake) (BCE)
    hinge                     mean relu(1 - real) + mean relu(1 + fake)
    wasserstein               mean fake - mean real
    least_squares             mean (real - 1)^2 / 2 + mean fake^2 / 2
    ========================  =====================================================

    Args:
      real_logits, fake_logits: ``[B, ...]`` discriminator outputs (logits, or
        critic scores for ``"wasserstein"``), one per real and per fake sample.
      kind: one of the above.
      weight, where: broadcastable to ``[B, ...]``.

    Returns:
      A scalar, or for ``reduction="none"`` each pair's real + fake term.

    Finite at logits of +-1e4 (softplus, never log(sigmoid)).
    References: Goodfellow et al. (2014); Lim & Ye (2017), "Geometric GAN"
    (hinge); Arjovsky et al. (2017); Mao et al. (2017), "Least Squares GAN".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.gan_discriminator_loss(jnp.array([1.0]), jnp.array([-1.0]), kind="hinge"))
      0.0
    """
    fn = "gan_discriminator_loss"
    checks.check_option(fn, "kind", kind, GAN_KINDS)
    real, fake = _samples(
        fn, ("real_logits", "fake_logits"), (real_logits, fake_logits), where, per_sample=False
    )
    loss = _gan_terms(kind, real, True, False) + _gan_terms(kind, fake, False, False)
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def gan_generator_loss(
    fake_logits: Array,
    *,
    kind: str = "non_saturating",
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""The generator's loss from the discriminator's outputs on generated samples.

    ========================  ==========================================
    kind                      loss
    ========================  ==========================================
    minimax                   -mean softplus(fake) (= mean log(1 - D))
    non_saturating            mean softplus(-fake) (= -mean log D)
    hinge, wasserstein        -mean fake
    least_squares             mean (fake - 1)^2 / 2
    ========================  ==========================================

    Args:
      fake_logits: ``[B, ...]`` discriminator outputs on generated samples.
      kind: one of the above; ``"non_saturating"`` is what Goodfellow et al.
        recommend in practice.

    Returns:
      A scalar, or ``[B, ...]`` for ``reduction="none"``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.gan_generator_loss(jnp.array([0.0]))), 4)
      0.6931
    """
    fn = "gan_generator_loss"
    checks.check_option(fn, "kind", kind, GAN_KINDS)
    (fake,) = _samples(fn, ("fake_logits",), (fake_logits,), where, per_sample=False)
    loss = _gan_terms(kind, fake, False, True)
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def _input_gradient_norms(fn: str, critic_fn: Callable[[Array], Array], x: Array) -> Array:
    """||d critic / d x|| per sample; the critic must treat samples independently."""
    x = jnp.asarray(x)
    checks.check_floating(fn, "real", x)

    def total(inputs):
        return jnp.sum(critic_fn(inputs))

    grads = jax.grad(total)(x)
    return safe_norm(grads.reshape(grads.shape[0], -1), axis=-1)


def gradient_penalty(
    critic_fn: Callable[[Array], Array],
    real: Array,
    fake: Array,
    key: Array,
    *,
    target: float = 1.0,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""WGAN-GP's gradient penalty at random interpolates of real and fake samples.

    .. math::
        \ell_b = \big(\|\nabla_{\hat x} D(\hat x_b)\|_2 - t\big)^2, \qquad
        \hat x_b = \epsilon_b x_b + (1 - \epsilon_b)\tilde x_b, \ \epsilon_b \sim U[0, 1]

    Args:
      critic_fn: maps ``[B, ...]`` samples to ``[B]`` (or ``[B, 1]``) scores, each
        depending on its own sample only (no batch norm).
      real, fake: ``[B, ...]``.
      key: PRNG key for the interpolation weights.
      target: t, the norm the gradient is pulled to (1 in the paper).

    Returns:
      A scalar (multiply by the paper's lambda = 10), or ``[B]`` for
      ``reduction="none"``. Differentiable with respect to the critic's
      parameters when ``critic_fn`` closes over them.

    A zero gradient gives a finite penalty and finite gradients (the norm has a
    safe derivative at 0).
    References: Gulrajani et al. (2017), "Improved Training of Wasserstein GANs".
    """
    fn = "gradient_penalty"
    real, fake = _samples(fn, ("real", "fake"), (real, fake), where)
    eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1), real.dtype)
    norms = _input_gradient_norms(fn, critic_fn, eps * real + (1.0 - eps) * fake)
    return reduce_loss(
        fn=fn,
        loss=jnp.square(norms - target),
        weight=weight,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def r1_penalty(
    critic_fn: Callable[[Array], Array],
    real: Array,
    *,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""R1 regularisation: the squared norm of the critic's gradient at real samples.

    .. math:: \ell_b = \|\nabla_x D(x_b)\|_2^2

    Args:
      critic_fn: maps ``[B, ...]`` samples to ``[B]`` scores, per sample.
      real: ``[B, ...]`` real samples.

    Returns:
      A scalar (multiply by gamma / 2, as StyleGAN does), or ``[B]``.

    References: Mescheder et al. (2018), "Which Training Methods for GANs do
    actually Converge?".
    """
    fn = "r1_penalty"
    (real,) = _samples(fn, ("real",), (real,), where)
    norms = _input_gradient_norms(fn, critic_fn, real)
    return reduce_loss(
        fn=fn,
        loss=jnp.square(norms),
        weight=weight,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


# ------------------------------------------------------------------ diffusion


def diffusion_loss(
    prediction: Array,
    target: Array,
    *,
    snr: Array | None = None,
    min_snr_gamma: float | None = None,
    parameterization: str = "epsilon",
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Denoising diffusion loss: per-sample MSE, optionally Min-SNR weighted.

    .. math::
        \ell_b = w(\mathrm{snr}_b)\,\frac{1}{N}\sum_i (\hat y_{bi} - y_{bi})^2, \qquad
        w = \begin{cases} \min(\mathrm{snr}, \gamma)/\mathrm{snr} & \text{epsilon} \\
                          \min(\mathrm{snr}, \gamma)/(\mathrm{snr} + 1) & \text{v} \\
                          \min(\mathrm{snr}, \gamma) & \text{x0} \end{cases}

    Args:
      prediction: ``[B, ...]`` the network's output.
      target: ``[B, ...]`` the noise (epsilon), the velocity (v) or the clean
        sample (x0), matching ``parameterization``.
      snr: ``[B]`` signal-to-noise ratio alpha_t^2 / sigma_t^2 of each sample's
        timestep; needed with ``min_snr_gamma``.
      min_snr_gamma: gamma of Min-SNR weighting (5 in the paper); None: w = 1.
      parameterization: ``"epsilon"``, ``"v"`` or ``"x0"``.
      weight, where: ``[B]``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    At snr = 0 the epsilon weight is its limit 1, not 0 / 0.
    References: Ho et al. (2020); Hang et al. (2023), "Efficient Diffusion
    Training via Min-SNR Weighting Strategy".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> p, t = jnp.ones((2, 4)), jnp.zeros((2, 4))
      >>> jaxloss.diffusion_loss(p, t, snr=jnp.array([1.0, 10.0]), min_snr_gamma=5.0,
      ...                        reduction="none")
      Array([1. , 0.5], dtype=float32)
    """
    fn = "diffusion_loss"
    checks.check_option(fn, "parameterization", parameterization, PREDICTIONS)
    pred, tgt = _samples(fn, ("prediction", "target"), (prediction, target), where)
    loss = _per_sample(jnp.square(pred - tgt), "mean")
    if min_snr_gamma is not None:
        if snr is None:
            checks.fail(fn, "min_snr_gamma needs snr, the [B] signal-to-noise ratios")
        checks.check_range(fn, "min_snr_gamma", min_snr_gamma, low=0.0, low_open=True)
        s = jnp.asarray(snr)
        checks.check_floating(fn, "snr", s)
        if s.shape != loss.shape:
            checks.fail(fn, f"snr has shape {s.shape}; expected {loss.shape}, one per sample")
        s = s.astype(loss.dtype)
        clipped = jnp.minimum(s, min_snr_gamma)
        if parameterization == "epsilon":
            w = jnp.where(s <= min_snr_gamma, 1.0, min_snr_gamma / jnp.maximum(s, min_snr_gamma))
        elif parameterization == "v":
            w = clipped / (s + 1.0)
        else:
            w = clipped
        loss = jax.lax.stop_gradient(w) * loss
    return reduce_loss(
        fn=fn, loss=loss, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


# ------------------------------------------------------------------ style and image-to-image


def gram_matrix(features: Array) -> Array:
    r"""Gram matrix of NHWC feature maps: :math:`G_{bcd} = \frac{1}{HW}\sum_{hw} F_{bhwc} F_{bhwd}`.

    Args:
      features: ``[B, H, W, C]`` (channels last, Flax's convention).

    Returns:
      ``[B, C, C]``, float32 or wider.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> jaxloss.gram_matrix(jnp.ones((1, 2, 2, 2)))[0]
      Array([[1., 1.],
             [1., 1.]], dtype=float32)
    """
    f = jnp.asarray(features)
    checks.check_floating("gram_matrix", "features", f)
    if f.ndim != 4:
        checks.fail(
            "gram_matrix",
            f"features must be NHWC feature maps [B, H, W, C]; got shape {f.shape}",
        )
    (f,) = upcast(f)
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return jnp.einsum("bnc,bnd->bcd", flat, flat) / (h * w)


def _layers(features) -> list[Array]:
    return list(features) if isinstance(features, list | tuple) else [features]


def _layer_weights(fn: str, layer_weights, n: int) -> list[float]:
    if layer_weights is None:
        return [1.0] * n
    if len(layer_weights) != n:
        checks.fail(fn, f"layer_weights has {len(layer_weights)} entries for {n} feature maps")
    return list(layer_weights)


def style_loss(
    features: Array | Sequence[Array],
    style_features: Array | Sequence[Array],
    *,
    layer_weights: Sequence[float] | None = None,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Style loss: squared distance between Gram matrices, summed over layers.

    .. math:: \ell_b = \sum_l w_l \frac{1}{C_l^2}\sum_{cd} (G^l_{bcd} - A^l_{bcd})^2

    Args:
      features, style_features: an NHWC ``[B, H, W, C]`` feature map or a list of
        them (one per layer), of the generated and the style image.
      layer_weights: w_l, one per layer (default 1).

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    References: Gatys et al. (2016), "Image Style Transfer Using Convolutional
    Neural Networks".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> f = jnp.ones((1, 2, 2, 3))
      >>> float(jaxloss.style_loss(f, 2 * f))
      9.0
    """
    fn = "style_loss"
    ours, theirs = _layers(features), _layers(style_features)
    if len(ours) != len(theirs):
        checks.fail(fn, f"{len(ours)} feature maps but {len(theirs)} style feature maps")
    total = 0.0
    for w, a, b in zip(_layer_weights(fn, layer_weights, len(ours)), ours, theirs, strict=True):
        a, b = _samples(fn, ("features", "style_features"), (a, b), where)
        ga, gb = gram_matrix(a), gram_matrix(b)
        total = total + w * jnp.mean(jnp.square(ga - gb), axis=(1, 2))
    return reduce_loss(
        fn=fn, loss=total, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def _feature_distance(fn, ours, theirs, layer_weights, criterion, where):
    total = 0.0
    for w, a, b in zip(_layer_weights(fn, layer_weights, len(ours)), ours, theirs, strict=True):
        a, b = _samples(fn, ("features", "target_features"), (a, b), where)
        diff = a - b
        total = total + w * _per_sample(abs_(diff) if criterion == "l1" else diff * diff, "mean")
    return total


def content_loss(
    features: Array | Sequence[Array],
    target_features: Array | Sequence[Array],
    *,
    layer_weights: Sequence[float] | None = None,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Content loss: mean squared distance between feature maps, summed over layers.

    .. math:: \ell_b = \sum_l w_l\,\mathrm{mean}\big((F^l_b - P^l_b)^2\big)

    Args:
      features, target_features: a ``[B, ...]`` feature map or a list of them.
      layer_weights: one per layer (default 1).

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> float(jaxloss.content_loss(jnp.ones((1, 4)), jnp.zeros((1, 4))))
      1.0
    """
    fn = "content_loss"
    ours, theirs = _layers(features), _layers(target_features)
    if len(ours) != len(theirs):
        checks.fail(fn, f"{len(ours)} feature maps but {len(theirs)} target feature maps")
    total = _feature_distance(fn, ours, theirs, layer_weights, "mse", where)
    return reduce_loss(
        fn=fn, loss=total, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def perceptual_loss(
    feature_fn: Callable[[Array], Array | Sequence[Array]],
    x: Array,
    y: Array,
    *,
    layer_weights: Sequence[float] | None = None,
    criterion: str = "mse",
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Perceptual loss: distance between a network's features of x and of y.

    .. math:: \ell_b = \sum_l w_l\,\mathrm{mean}\,\rho\big(\phi_l(x_b) - \phi_l(y_b)\big)

    Args:
      feature_fn: any function or Flax module (e.g. a pretrained VGG, called as
        ``feature_fn(images)``) returning one feature map or a list of them.
      x: ``[B, ...]`` generated images; y: ``[B, ...]`` targets. y's features
        carry no gradient.
      layer_weights: one per feature map.
      criterion: ``"mse"`` (Johnson et al.) or ``"l1"`` (pix2pixHD).

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    References: Johnson et al. (2016), "Perceptual Losses for Real-Time Style
    Transfer and Super-Resolution".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> features = lambda img: [img, 2 * img]
      >>> float(jaxloss.perceptual_loss(features, jnp.ones((1, 4)), jnp.zeros((1, 4))))
      5.0
    """
    fn = "perceptual_loss"
    checks.check_option(fn, "criterion", criterion, ("mse", "l1"))
    ours = _layers(feature_fn(x))
    theirs = [jax.lax.stop_gradient(f) for f in _layers(feature_fn(y))]
    total = _feature_distance(fn, ours, theirs, layer_weights, criterion, where)
    return reduce_loss(
        fn=fn, loss=total, weight=weight, where=where, reduction=reduction, axis_name=axis_name
    )


def total_variation_loss(
    images: Array,
    *,
    squared: bool = False,
    weight: Array | None = None,
    where: Array | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Total variation of NHWC images: differences between neighbouring pixels.

    .. math:: \ell_b = \sum_{h,w,c} |x_{b,h+1,w,c} - x_{bhwc}| + |x_{b,h,w+1,c} - x_{bhwc}|

    (squares instead of absolute values with ``squared=True``).

    Args:
      images: ``[B, H, W, C]``.

    Returns:
      A scalar, or ``[B]`` for ``reduction="none"``.

    Matches ``tf.image.total_variation`` (anisotropic, summed). The gradient of
    |d| at d = 0 is 0.

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> img = jnp.array([[[[0.0], [1.0]], [[0.0], [1.0]]]])
      >>> float(jaxloss.total_variation_loss(img))
      2.0
    """
    fn = "total_variation_loss"
    checks.check_bool_option(fn, "squared", squared)
    (x,) = _samples(fn, ("images",), (images,), where)
    checks.check_rank(fn, "images", x, 4)
    dh, dw = x[:, 1:] - x[:, :-1], x[:, :, 1:] - x[:, :, :-1]

    def cost(d):
        return _per_sample(d * d if squared else abs_(d))

    return reduce_loss(
        fn=fn,
        loss=cost(dh) + cost(dw),
        weight=weight,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


# ------------------------------------------------------------------ registry entries


def _generative_example(key: Array, batch: int, extreme: bool = False, *, kind: str) -> Example:
    ks = jax.random.split(key, 4)
    if kind == "vae":
        x = jax.random.uniform(ks[0], (batch, 12))
        recon = jax.random.normal(ks[1], (batch, 12)) * (1e4 if extreme else 1.0)
        mean = jax.random.normal(ks[2], (batch, 4))
        logvar = jnp.resize(jnp.array([30.0, -30.0]), (batch, 4)) if extreme else 0.3 * mean
        return Example(
            (recon, x, mean, logvar), {"recon_loss": "bce_logits"}, diff_argnums=(0, 2, 3)
        )
    if kind == "gan_d":
        real, fake = (jax.random.normal(k, (batch,)) * (1e4 if extreme else 2.0) for k in ks[:2])
        return Example((real, fake), diff_argnums=(0, 1))
    if kind == "gan_g":
        fake = jax.random.normal(ks[0], (batch,)) * (1e4 if extreme else 2.0)
        return Example((fake,), {"kind": "non_saturating"})
    if kind == "diffusion":
        pred, target = (jax.random.normal(k, (batch, 4, 4, 2)) for k in ks[:2])
        snr = None
        del snr  # a keyword array has no batch axis for the generic tests; see test_generative
        return Example((pred, target), diff_argnums=(0, 1))
    images = jax.random.normal(ks[0], (batch, 6, 5, 3)) * (1e4 if extreme else 1.0)
    if extreme:
        images = images.at[0].set(0.0)
    if kind == "tv":
        return Example((images,))
    other = jax.random.normal(ks[1], images.shape)
    return Example((images, other), diff_argnums=(0, 1))


for _fn, _kind, _tasks in (
    (vae_loss, "vae", ("vae", "generative")),
    (gan_discriminator_loss, "gan_d", ("gan", "generative")),
    (gan_generator_loss, "gan_g", ("gan", "generative")),
    (diffusion_loss, "diffusion", ("diffusion", "generative")),
    (style_loss, "style", ("style transfer",)),
    (content_loss, "style", ("style transfer", "image-to-image")),
    (total_variation_loss, "tv", ("style transfer", "image-to-image")),
):
    register(
        LossSpec(
            name=_fn.__name__,
            fn=_fn,
            family="generative",
            tasks=_tasks,
            input_kind=", ".join(
                list(_fn.__annotations__)[: {"vae": 4, "tv": 1, "gan_g": 1}.get(_kind, 2)]
            ),
            example=lambda key, batch, extreme=False, k=_kind: _generative_example(
                key, batch, extreme, kind=k
            ),
            matches="seed 004",
            batch_coupled=True,  # inputs are batches: a row alone has no batch axis
        )
    )
