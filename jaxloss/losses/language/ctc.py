"""Connectionist temporal classification (CTC): the negative log-likelihood of a
label sequence summed over all its alignments with a longer frame sequence.

The forward (alpha) recursion runs in log space over time with ``lax.scan`` on
the extended label sequence (a blank before, between and after the labels,
``2S + 1`` states), batched over sequences; the gradient is the backward (beta)
recursion's state posteriors (a ``custom_vjp``, reverse mode only) rather than
autodiff through the scan. Unreachable states hold a large negative finite
number rather than -inf, so no value or gradient meets ``-inf - -inf``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import upcast
from jaxloss._core.reduce import fill_masked, mask_of, reduce_loss
from jaxloss._core.sharding import mark_varying, varying_axes
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["ctc_loss"]

_FN = "ctc_loss"
# the log-probability of an unreachable state: finite (its gradient is exactly
# 0 beside any reachable one), far below any reachable path's log-likelihood
_UNREACHABLE = -1e30


def _lengths(name: str, lengths: ArrayLike | None, batch: int, full: int, batched: bool) -> Array:
    """``[B]`` integer lengths (all ``full`` when None)."""
    if lengths is None:
        return jnp.full((batch,), full, jnp.int32)
    lengths = jnp.asarray(lengths)
    if not jnp.issubdtype(lengths.dtype, jnp.integer):
        checks.fail(_FN, f"{name} must be an integer array; got dtype {lengths.dtype}", TypeError)
    expected = (batch,) if batched else ()
    if lengths.shape != expected:
        checks.fail(
            _FN, f"{name} must have shape {expected}, one per sequence; got {lengths.shape}"
        )
    return lengths.reshape(batch).astype(jnp.int32)


def _logsumexp3(a: Array, b: Array, c: Array) -> Array:
    top = jax.lax.stop_gradient(jnp.maximum(jnp.maximum(a, b), c))
    return top + jnp.log(jnp.exp(a - top) + jnp.exp(b - top) + jnp.exp(c - top))


def _shift(x: Array, k: int) -> Array:
    """``x [B, L]`` moved ``k`` states to the right (``k < 0``: to the left),
    unreachable states entering."""
    width = x.shape[1]
    if k > 0:
        return jnp.pad(x, ((0, 0), (k, 0)), constant_values=_UNREACHABLE)[:, :width]
    return jnp.pad(x, ((0, 0), (0, -k)), constant_values=_UNREACHABLE)[:, -k:]


def _varying(x: Array, *like: Array) -> Array:
    """``x`` typed as varying over the ``shard_map`` axes that ``like`` vary over,
    as a scan carry computed from per-sequence inputs must be."""
    return mark_varying(x, frozenset().union(*(varying_axes(v) for v in like)))


def _alphas(emit: Array, skip: Array, logit_lengths: Array) -> Array:
    """The forward variables ``[T, B, L]`` (log space, each frame's emission
    included) of time-major emissions ``emit [T, B, L]``; past a sequence's last
    frame they stay at their last value."""
    frames, batch, states = emit.shape
    # before the first frame only the first blank's state is live, with log 1: its
    # stay and advance transitions give the first frame's blank and first label
    init = jnp.full((batch, states), _UNREACHABLE, emit.dtype).at[:, 0].set(0.0)

    def step(alpha: Array, inputs: tuple[Array, Array]) -> tuple[Array, Array]:
        e, t = inputs
        jump = jnp.where(skip, _shift(alpha, 2), _UNREACHABLE)
        new = _logsumexp3(alpha, _shift(alpha, 1), jump) + e
        alpha = jnp.where((t < logit_lengths)[:, None], new, alpha)
        return alpha, alpha

    init = _varying(init, emit, skip, logit_lengths)
    return jax.lax.scan(step, init, (emit, jnp.arange(frames)))[1]


def _final_states(target_lengths: Array, states: int) -> Array:
    """``[B, L]``: the states a complete alignment ends in (the last label or the
    blank after it; for an empty target, the only blank)."""
    index, last = jnp.arange(states), 2 * target_lengths[:, None]
    return (index == last) | ((index == last - 1) & (target_lengths[:, None] > 0))


def _ending(alpha: Array, target_lengths: Array) -> Array:
    """``[B]``: log-likelihood from the last forward variables ``[B, L]``."""
    final = _final_states(target_lengths, alpha.shape[1])
    top = jax.lax.stop_gradient(jnp.max(jnp.where(final, alpha, _UNREACHABLE), axis=1))
    total = jnp.sum(jnp.where(final, jnp.exp(alpha - top[:, None]), 0.0), axis=1)
    return top + jnp.log(total)


def _emissions(log_probs: Array, ext: Array) -> Array:
    """``[T, B, L]``: each frame's log-probability of each extended label, from
    batch-major ``log_probs [B, T, C]`` (a -inf log-probability held at the
    unreachable floor)."""
    time_major = jnp.moveaxis(log_probs, 1, 0)  # each frame one contiguous slice
    index = jnp.broadcast_to(ext[None], (time_major.shape[0], *ext.shape))
    return jnp.maximum(jnp.take_along_axis(time_major, index, axis=2), _UNREACHABLE)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def _log_likelihood(
    blank: int,
    classes: int,
    log_probs: Array,
    ext: Array,
    skip: Array,
    logit_lengths: Array,
    target_lengths: Array,
) -> Array:
    """``[B]`` log-likelihoods of the extended labels ``ext [B, L]`` under
    ``log_probs [B, T, C]`` (about ``_UNREACHABLE`` when no alignment exists).
    With no frame, the empty target has likelihood 1 and the others none.
    ``blank`` and ``classes`` serve the backward pass."""
    del blank, classes
    alphas = _alphas(_emissions(log_probs, ext), skip, logit_lengths)
    return _ending(alphas[-1], target_lengths)


def _log_likelihood_fwd(blank, classes, log_probs, ext, skip, logit_lengths, target_lengths):
    del blank, classes
    emit = _emissions(log_probs, ext)
    alphas = _alphas(emit, skip, logit_lengths)
    ll = _ending(alphas[-1], target_lengths)
    return ll, (alphas, emit, ext, skip, logit_lengths, target_lengths, ll)


def _log_likelihood_bwd(blank, classes, residuals, g):
    """The backward (beta) recursion: d ll / d emit[t, s] is the posterior of
    being in state s at frame t; a class's gradient sums the posteriors of the
    states that emit it."""
    alphas, emit, ext, skip, logit_lengths, target_lengths, ll = residuals
    frames, _, states = emit.shape
    end = jnp.where(_final_states(target_lengths, states), 0.0, _UNREACHABLE).astype(emit.dtype)
    skip_from = jnp.pad(skip, ((0, 0), (0, 2)))[:, 2:]  # whether s may jump to s + 2

    # beta'_t(s): the log-probability of frames t.. given state s at frame t, its
    # own emission included, so the step mirrors the forward one
    def step(beta: Array, inputs: tuple[Array, Array]) -> tuple[Array, Array]:
        e, t = inputs
        jump = jnp.where(skip_from, _shift(beta, -2), _UNREACHABLE)
        new = _logsumexp3(beta, _shift(beta, -1), jump) + e
        # a sequence's last frame (and any after it) ends the alignment
        beta = jnp.where((t >= logit_lengths - 1)[:, None], end + e, new)
        return beta, beta

    init = _varying(end, emit, skip, logit_lengths, target_lengths)
    betas = jax.lax.scan(step, init, (emit, jnp.arange(frames)), reverse=True)[1]
    live = (jnp.arange(frames)[:, None] < logit_lengths)[:, :, None]
    # no alignment: the loss is a constant (inf, or 0 with zero_infinity), the
    # posterior undefined; a NaN log-likelihood stays NaN
    feasible = ~(ll <= 0.5 * _UNREACHABLE)
    posterior = jnp.exp(alphas + betas - emit - jnp.where(feasible, ll, 0.0)[:, None])
    grad = jnp.where(live & feasible[:, None], posterior, 0.0) * g[:, None]
    # states -> classes: the label states through a matmul with the one-hot labels
    # (a scatter-add of [T, B, L] updates is far slower on CPU), the blank states,
    # all of one class, summed into its column
    one_hot = jax.nn.one_hot(ext[:, 1::2], classes, dtype=grad.dtype)
    out = jnp.einsum("tbs,bsc->btc", grad[:, :, 1::2], one_hot)
    blank_states = jnp.sum(grad[:, :, ::2], axis=2).T  # [B, T]
    out = out.at[:, :, blank].add(blank_states)
    return out, None, None, None, None


_log_likelihood.defvjp(_log_likelihood_fwd, _log_likelihood_bwd)


def ctc_loss(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    logit_lengths: ArrayLike | None = None,
    target_lengths: ArrayLike | None = None,
    blank: int = 0,
    zero_infinity: bool = False,
    weight: ArrayLike | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Connectionist temporal classification loss (Graves et al., 2006).

    With :math:`p_t = \operatorname{softmax}(z_t)` over the classes and
    :math:`\mathcal{B}^{-1}(y)` the frame-level paths that collapse to the label
    sequence :math:`y` (merge repeats, then drop blanks),

    .. math::
        \ell = -\log \sum_{\pi \in \mathcal{B}^{-1}(y)} \prod_{t=1}^{T} p_{t, \pi_t},

    computed by the forward recursion over the extended labels
    :math:`(\varnothing, y_1, \varnothing, \dots, y_S, \varnothing)` in log space.
    A target whose labels (plus one blank between each pair of equal neighbours)
    do not fit in the frames has no alignment: its loss is :math:`+\infty`, or 0
    with a zero gradient under ``zero_infinity=True``.

    Matches torch ``F.ctc_loss`` (which takes log-probabilities ``[T, B, C]``) and
    optax ``ctc_loss`` (its per-sequence values, with ``paddings = 1 - mask``).
    Out-of-range lengths, or a label that is the blank or outside ``[0, C)``
    within a target's length, give NaN for that sequence
    (:func:`jaxloss.checked` names it).

    Args:
      logits: ``[B, T, C]`` unnormalised scores per frame (``[T, C]`` for one
        sequence); log-softmax is taken inside, so log-probabilities give the
        same result. bf16/f16 are computed in float32.
      targets: ``[B, S]`` integer label ids, padded past each target's length.
      logit_lengths: ``[B]`` integer frame counts in ``[0, T]``; None: all ``T``.
      target_lengths: ``[B]`` integer label counts in ``[0, S]``; None: all ``S``.
      blank: the blank's class id, in ``[0, C)``.
      zero_infinity: give infeasible sequences loss 0 and gradient 0 (torch's option).
      weight: ``[B]`` per-sequence weights.
      sample_weights: a leading prefix of the unreduced loss's shape (``[B]``); rescales
        each example's loss without changing the mean's denominator; multiplies
        with ``weight``.
      where: ``[B]`` boolean; False sequences count nowhere.
      reduction: ``"mean"`` (torch's: each sequence's loss divided by its target
        length, at least 1, then the mean over sequences), ``"sum"`` (of the
        per-sequence losses) or ``"none"``.
      axis_name: mapped axis for a global mean/sum under ``shard_map``/``pmap``.

    Returns:
      ``[B]`` negative log-likelihoods for ``"none"`` (a scalar for one
      sequence), else a scalar; float32 or wider.

    References:
      Graves, Fernandez, Gomez, Schmidhuber. Connectionist Temporal Classification:
      Labelling Unsegmented Sequence Data with Recurrent Neural Networks. ICML 2006.
      https://github.com/pytorch/pytorch/blob/main/aten/src/ATen/native/LossCTC.cpp ;
      https://github.com/google-deepmind/optax/blob/main/optax/losses/_classification.py

    Example:
      Two frames of uniform scores over {blank, a}: the label "a" has the
      alignments "a a", "_ a" and "a _", each of probability 1/4.

      >>> import jax.numpy as jnp, jaxloss
      >>> loss = jaxloss.ctc_loss(jnp.zeros((1, 2, 2)), jnp.array([[1]]), reduction="none")
      >>> print(jnp.round(loss, 4))  # -log(3/4)
      [0.2877]
    """
    logits, targets = jnp.asarray(logits), jnp.asarray(targets)
    checks.check_floating(_FN, "logits", logits)
    checks.check_rank(_FN, "logits", logits, {2, 3})
    batched = logits.ndim == 3
    if not jnp.issubdtype(targets.dtype, jnp.integer):
        checks.fail(_FN, f"targets must be integer label ids; got dtype {targets.dtype}", TypeError)
    checks.check_rank(_FN, "targets", targets, 2 if batched else 1)
    if not batched:
        logits, targets = logits[None], targets[None]
    batch, frames, classes = logits.shape
    if targets.shape[0] != batch:
        checks.fail(
            _FN,
            f"targets has shape {tuple(targets.shape)}, {targets.shape[0]} sequences, but logits "
            f"has {batch}; "
            "expected targets [B, S] for logits [B, T, C]",
        )
    checks.check_integer(_FN, "blank", blank)
    if not 0 <= blank < classes:
        checks.fail(_FN, f"blank must be a class id in [0, {classes}); got {blank}")
    checks.check_bool_option(_FN, "zero_infinity", zero_infinity)
    checks.check_reduction(_FN, reduction)
    size = targets.shape[1]
    logit_lengths = _lengths("logit_lengths", logit_lengths, batch, frames, batched)
    target_lengths = _lengths("target_lengths", target_lengths, batch, size, batched)

    mask = mask_of(_FN, where, (batch,) if batched else ())
    (x,) = upcast(logits)
    if mask is not None:
        x = fill_masked(mask.reshape((-1, 1, 1)), x, 0.0)
    log_probs = jax.nn.log_softmax(x, axis=-1)

    used = jnp.arange(size) < target_lengths[:, None]
    label_ok = (targets >= 0) & (targets < classes) & (targets != blank)
    checks.require(
        _FN,
        "targets",
        label_ok | ~used,
        targets,
        f"a label id in [0, {classes}) other than blank {blank}",
    )
    logit_ok = (logit_lengths >= 0) & (logit_lengths <= frames)
    target_ok = (target_lengths >= 0) & (target_lengths <= size)
    checks.require(_FN, "logit_lengths", logit_ok, logit_lengths, f"in [0, {frames}]")
    checks.require(_FN, "target_lengths", target_ok, target_lengths, f"in [0, {size}]")
    valid = jnp.all(label_ok | ~used, axis=1) & logit_ok & target_ok
    labels = jnp.clip(targets, 0, classes - 1).astype(jnp.int32)

    # the shortest alignment: one frame per label and a blank between equal neighbours
    repeats = jnp.sum((labels[:, 1:] == labels[:, :-1]) & used[:, 1:], axis=1)
    feasible = logit_lengths >= target_lengths + repeats
    states = 2 * size + 1
    ext = jnp.full((batch, states), blank, jnp.int32).at[:, 1::2].set(labels)
    # a label may be reached from two states back unless it repeats the label there
    skip = jnp.zeros((batch, states), bool).at[:, 3::2].set(labels[:, 1:] != labels[:, :-1])
    log_likelihood: Array = _log_likelihood(  # pyright: ignore[reportAssignmentType]
        blank,
        classes,
        log_probs,
        ext,
        skip,
        jnp.clip(logit_lengths, 0, frames),
        jnp.clip(target_lengths, 0, size),
    )
    loss = jnp.where(feasible, -log_likelihood, 0.0 if zero_infinity else jnp.inf)
    loss = jnp.where(valid, loss, jnp.nan)
    if reduction == "mean":
        loss = loss / jnp.maximum(target_lengths, 1).astype(loss.dtype)
    if not batched:
        loss = loss[0]
    return reduce_loss(
        loss,
        fn=_FN,
        reduction=reduction,
        weight=weight,
        sample_weights=sample_weights,
        where=mask,
        axis_name=axis_name,
    )
