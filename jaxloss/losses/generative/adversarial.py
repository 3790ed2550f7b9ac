"""GAN losses (five kinds, for the discriminator and the generator) and the two
gradient penalties on the critic (WGAN-GP and R1)."""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxloss._core import checks, sharding
from jaxloss._core.numerics import safe_norm, softplus
from jaxloss._core.reduce import prepare_arrays, reduce_loss
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["gan_discriminator_loss", "gan_generator_loss", "gradient_penalty", "r1_penalty"]

GAN_KINDS = ("minimax", "non_saturating", "hinge", "wasserstein", "least_squares")


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
    real_logits: ArrayLike,
    fake_logits: ArrayLike,
    *,
    kind: str = "non_saturating",
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
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
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or for ``reduction="none"`` each pair's real + fake term ``[B, ...]``.

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
    (real, fake), _ = prepare_arrays(
        fn, ("real_logits", "fake_logits"), (real_logits, fake_logits), where
    )
    loss = _gan_terms(kind, real, True, False) + _gan_terms(kind, fake, False, False)
    return reduce_loss(
        loss,
        fn=fn,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def gan_generator_loss(
    fake_logits: ArrayLike,
    *,
    kind: str = "non_saturating",
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
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
      weight, where: broadcastable to ``[B, ...]``.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar, or ``[B, ...]`` for ``reduction="none"``.

    References: Goodfellow et al. (2014), "Generative Adversarial Nets".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> round(float(jaxloss.gan_generator_loss(jnp.array([0.0]))), 4)
      0.6931
    """
    fn = "gan_generator_loss"
    checks.check_option(fn, "kind", kind, GAN_KINDS)
    (fake,), _ = prepare_arrays(fn, ("fake_logits",), (fake_logits,), where)
    return reduce_loss(
        _gan_terms(kind, fake, False, True),
        fn=fn,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def _check_critic(fn: str, critic_fn: object) -> None:
    if not callable(critic_fn):
        checks.fail(
            fn,
            f"critic_fn must be a function of the samples; got {critic_fn!r} "
            f"({type(critic_fn).__name__})",
            TypeError,
        )


def _input_gradient_norms(fn: str, critic_fn: Callable[[Array], Array], x: Array) -> Array:
    """||d critic / d x|| per sample; the critic must treat samples independently."""
    batch = x.shape[0]

    def total(inputs: Array) -> Array:
        scores = jnp.asarray(critic_fn(inputs))
        # a critic that returns one score for the batch (a mean) would scale every
        # sample's gradient by 1 / B: refuse anything but one score per sample
        if scores.shape not in ((batch,), (batch, 1)):
            checks.fail(
                fn,
                f"critic_fn must return one score per sample, [{batch}] or [{batch}, 1] "
                f"for samples of shape {x.shape}; got shape {scores.shape}",
            )
        return jnp.sum(scores)

    grads = jax.grad(total)(x)
    return safe_norm(grads.reshape(batch, math.prod(grads.shape[1:])), axis=-1)


def _check_key(fn: str, key: object) -> None:
    """A PRNG key: a typed key array or a raw ``uint32[2]`` one."""
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key) and shape == ():
        return
    if dtype == jnp.uint32 and shape == (2,):
        return
    checks.fail(fn, f"key must be one PRNG key (jax.random.key(seed)); got {key!r}", TypeError)


def _interpolation_weights(key: Array, samples: Array, axis_name: AxisName) -> Array:
    """One U[0, 1) draw per sample, shaped to broadcast over ``samples``.

    Under ``axis_name`` every device draws the global batch's weights and keeps its
    own rows' (a few scalars), so each sample gets the weight it gets on one device;
    drawing for the local rows alone would repeat the same weights on every device.
    """
    batch = samples.shape[0]
    axes = sharding.axis_tuple(axis_name)
    devices = 1 if axes is None else sharding.axis_size(axes)
    shape = (batch * devices,) + (1,) * (samples.ndim - 1)
    eps = jax.random.uniform(key, shape, samples.dtype)
    return jax.lax.dynamic_slice_in_dim(eps, sharding.row_offset(batch, axis_name), batch)


def gradient_penalty(
    critic_fn: Callable[[Array], Array],
    real: ArrayLike,
    fake: ArrayLike,
    key: Array,
    *,
    target_norm: float = 1.0,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""WGAN-GP's gradient penalty at random interpolates of real and fake samples.

    .. math::
        \ell_b = \big(\|\nabla_{\hat x} D(\hat x_b)\|_2 - t\big)^2, \qquad
        \hat x_b = \epsilon_b x_b + (1 - \epsilon_b)\tilde x_b, \ \epsilon_b \sim U[0, 1]

    Args:
      critic_fn: maps ``[B, ...]`` samples to ``[B]`` (or ``[B, 1]``) scores, each
        depending on its own sample only (no batch norm); any other output
        shape (one score for the batch) raises.
      real, fake: ``[B, ...]``.
      key: PRNG key for the interpolation weights. Under ``axis_name`` pass the
        same key on every device: each sample gets the weight it would get on one
        device.
      target_norm: t >= 0, the norm the gradient is pulled to (1 in the paper).
      weight, where: ``[B]``, one per sample.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar (multiply by the paper's lambda = 10), or ``[B]`` for
      ``reduction="none"``. Differentiable with respect to the critic's
      parameters when ``critic_fn`` closes over them.

    A zero gradient gives a finite penalty and finite gradients (the norm has a
    safe derivative at 0).
    References: Gulrajani et al. (2017), "Improved Training of Wasserstein GANs".

    Example:
      >>> import jax, jax.numpy as jnp, jaxloss
      >>> critic = lambda x: jnp.sum(x, axis=1)  # gradient (1, 1, 1, 1): norm 2
      >>> real, fake = jnp.ones((2, 4)), jnp.zeros((2, 4))
      >>> float(jaxloss.gradient_penalty(critic, real, fake, jax.random.key(0)))
      1.0
    """
    fn = "gradient_penalty"
    _check_critic(fn, critic_fn)
    _check_key(fn, key)
    checks.check_range(fn, "target_norm", target_norm, low=0.0)
    (x, x_fake), _ = prepare_arrays(fn, ("real", "fake"), (real, fake), where, mask_axes=1)
    eps = _interpolation_weights(key, x, axis_name)
    norms = _input_gradient_norms(fn, critic_fn, eps * x + (1.0 - eps) * x_fake)
    return reduce_loss(
        jnp.square(norms - target_norm),
        fn=fn,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )


def r1_penalty(
    critic_fn: Callable[[Array], Array],
    real: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""R1 regularisation: the squared norm of the critic's gradient at real samples.

    .. math:: \ell_b = \|\nabla_x D(x_b)\|_2^2

    Args:
      critic_fn: maps ``[B, ...]`` samples to ``[B]`` (or ``[B, 1]``) scores, each
        depending on its own sample only; any other output shape raises.
      real: ``[B, ...]`` real samples.
      weight, where: ``[B]``, one per sample.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator.
      reduction: ``"mean"``, ``"sum"`` or ``"none"``.
      axis_name: mapped axis for a global mean/sum inside ``shard_map``.

    Returns:
      A scalar (multiply by gamma / 2, as StyleGAN does), or ``[B]`` for
      ``reduction="none"``.

    References: Mescheder et al. (2018), "Which Training Methods for GANs do
    actually Converge?".

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> critic = lambda x: 0.5 * jnp.sum(x**2, axis=1)  # gradient x
      >>> float(jaxloss.r1_penalty(critic, jnp.ones((2, 4))))
      4.0
    """
    fn = "r1_penalty"
    _check_critic(fn, critic_fn)
    (x,), _ = prepare_arrays(fn, ("real",), (real,), where, mask_axes=1)
    return reduce_loss(
        jnp.square(_input_gradient_norms(fn, critic_fn, x)),
        fn=fn,
        weight=weight,
        sample_weights=sample_weights,
        where=where,
        reduction=reduction,
        axis_name=axis_name,
    )
