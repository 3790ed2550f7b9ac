"""Fused linear cross-entropy: the loss of ``hidden @ weight + bias`` computed one
block of logits at a time, with its gradients, so the ``[N, V]`` logits are never
held; optionally with the vocabulary split over devices (Megatron style).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxloss._core import backend, checks, sharding
from jaxloss._core.numerics import compute_dtype
from jaxloss._core.reduce import fill_masked, mask_of, reduce_loss, sample_weights_of
from jaxloss._core.types import Array, ArrayLike, AxisName

__all__ = ["fused_linear_cross_entropy"]


class _Options(NamedTuple):
    label_smoothing: float
    z_loss: float
    softcap: float | None
    chunk: int  # tokens per block
    vocab_block: int  # vocabulary entries per block, backward of "none" (divides V)
    vocab_axis: tuple[str, ...] | None  # shard_map axes the vocabulary is split over
    vocab: int  # the whole vocabulary (all devices' slices)


def _vocab_block(vocab: int, tokens: int, elements: int) -> int:
    """The largest divisor of ``vocab`` whose [tokens, block] logits fit in
    ``elements`` (at least 1)."""
    target = max(1, elements // max(tokens, 1))
    if vocab <= target:
        return vocab
    return max(d for d in range(1, target + 1) if vocab % d == 0)


def _default_chunk(tokens: int, vocab: int, elements: int) -> int:
    """Tokens per block: [chunk, V] logits within ``elements``, the blocks of equal
    size (little padding), a multiple of 8 tokens when there are several."""
    most = max(1, elements // max(vocab, 1))
    if tokens <= most:
        return max(tokens, 1)
    count = -(-tokens // most)
    chunk = -(-tokens // count)
    rounded = -(-chunk // 8) * 8
    return rounded if rounded <= most else chunk


def _chunk_logits(
    h: Array, w: Array, b: Array | None, softcap: float | None
) -> tuple[Array, Array]:
    """One chunk's logits in float32 (and the pre-cap values for the cap's derivative)."""
    dtype = compute_dtype(h, w)
    z = jnp.dot(h, w, preferred_element_type=dtype)
    if b is not None:
        z = z + b.astype(dtype)
    return (softcap * jnp.tanh(z / softcap), z) if softcap else (z, z)


def _chunks(x: Array, chunk: int) -> Array:
    # the count is written out: reshape cannot infer -1 from an empty array
    return x.reshape(x.shape[0] // chunk, chunk, *x.shape[1:])


def _block_loss(logits, t_c, v_c, offset, opts: _Options) -> tuple[Array, Array]:
    """Per-token losses and log-normalisers of one block of tokens' logits."""
    local_vocab = logits.shape[-1]
    ids = jnp.where(v_c, t_c, 0) - offset
    here = (ids >= 0) & (ids < local_vocab)
    picked = jnp.take_along_axis(logits, jnp.clip(ids, 0, local_vocab - 1)[:, None], axis=-1)
    picked = jnp.where(here, picked[:, 0], 0.0)
    if opts.vocab_axis is None:
        lse = jax.nn.logsumexp(logits, axis=-1)
        total = jnp.sum(logits, axis=-1)
    else:
        # Megatron's vocabulary-parallel softmax: one all-reduce of the max,
        # then one of (sum of exponentials, target logit, sum of logits)
        top = sharding.pmax(jnp.max(logits, axis=-1), opts.vocab_axis)
        parts = jnp.stack(
            [jnp.sum(jnp.exp(logits - top[:, None]), -1), picked, jnp.sum(logits, -1)]
        )
        sumexp, picked, total = sharding.psum(parts, opts.vocab_axis)
        lse = top + jnp.log(sumexp)
    loss = lse - picked
    if opts.label_smoothing:
        smooth = lse - total / opts.vocab
        loss = (1.0 - opts.label_smoothing) * loss + opts.label_smoothing * smooth
    if opts.z_loss:
        loss = loss + opts.z_loss * lse * lse
    return jnp.where(v_c, loss, 0.0), lse


def _logits_grad(logits, z, lse, hit, opts: _Options) -> Array:
    """d loss_n / d (hW + b)_nv of a block, from its logits and log-normalisers."""
    eps = opts.label_smoothing
    p = jnp.exp(logits - lse[:, None])
    if opts.z_loss:
        p = p * (1.0 + 2.0 * opts.z_loss * lse)[:, None]
    if eps:
        p = p - eps / opts.vocab
    grad = p - jnp.where(hit, 1.0 - eps, 0.0)
    if opts.softcap:
        grad = grad * (1.0 - jnp.square(jnp.tanh(z / opts.softcap)))
    return grad


def _token_losses(h, w, b, targets, valid, opts: _Options) -> tuple[Array, Array]:
    """Per-token losses [N] and log-normalisers [N], one chunk of logits at a time."""
    offset = sharding.row_offset(w.shape[1], opts.vocab_axis)

    def body(_, xs):
        h_c, t_c, v_c = xs
        logits, _ = _chunk_logits(h_c, w, b, opts.softcap)
        return None, _block_loss(logits, t_c, v_c, offset, opts)

    xs = (_chunks(h, opts.chunk), _chunks(targets, opts.chunk), _chunks(valid, opts.chunk))
    _, (loss, lse) = jax.lax.scan(body, None, xs)
    return loss.reshape(-1), lse.reshape(-1)


# ------------------------------------------------ "mean" and "sum": 3 matmuls
# The summed loss is a scalar, so its cotangent only scales the gradients: they
# are computed with the loss, one block of tokens at a time (logits, then the
# hidden-state and weight gradients from the same block), and the backward pass
# multiplies them by the cotangent. Per-token sample weights ``s`` (None: all 1,
# and nothing multiplied) scale each token's loss and its row of the logits'
# gradient inside the block, where the mask acts; their own gradient is the
# per-token loss.


def _fused_total(h, w, b, targets, valid, s, opts: _Options) -> Array:
    loss = _token_losses(h, w, b, targets, valid, opts)[0]
    return jnp.sum(loss if s is None else loss * s)


_total = jax.custom_vjp(_fused_total, nondiff_argnums=(6,))


def _total_fwd(h, w, b, targets, valid, s, opts: _Options):
    local_vocab = w.shape[1]
    dtype = compute_dtype(h, w)
    offset = sharding.row_offset(local_vocab, opts.vocab_axis)
    columns = jnp.arange(local_vocab)

    def body(carry, xs):
        dw, db = carry
        h_c, t_c, v_c, s_c = xs
        logits, z = _chunk_logits(h_c, w, b, opts.softcap)
        loss, lse = _block_loss(logits, t_c, v_c, offset, opts)
        hit = (jnp.where(v_c, t_c, -1) - offset)[:, None] == columns
        grad = _logits_grad(logits, z, lse, hit, opts)
        if s_c is not None:
            grad = grad * s_c[:, None]
        grad = jnp.where(v_c[:, None], grad, 0.0)
        dh_c = jnp.dot(grad.astype(w.dtype), w.T, preferred_element_type=dtype).astype(h.dtype)
        # float32 accumulation over the blocks of tokens, whatever the input dtype
        dw = dw + jnp.dot(h_c.T, grad.astype(h.dtype), preferred_element_type=jnp.float32)
        return (dw, db + jnp.sum(grad, 0, dtype=jnp.float32)), (loss, dh_c)

    axes = frozenset().union(
        *(sharding.varying_axes(x) for x in (h, w, b, targets, valid, s) if x is not None)
    )
    init = tuple(
        sharding.mark_varying(jnp.zeros(shape, jnp.float32), axes)
        for shape in (w.shape, (local_vocab,))
    )
    s_chunks = None if s is None else _chunks(s, opts.chunk)
    xs = (_chunks(h, opts.chunk), _chunks(targets, opts.chunk), _chunks(valid, opts.chunk))
    (dw, db), (loss, dh) = jax.lax.scan(body, init, (*xs, s_chunks))
    # the gradients are kept in the inputs' dtypes: the float32 sum ends here
    db = db if b is None else db.astype(b.dtype)
    loss = loss.reshape(-1)
    total = jnp.sum(loss if s is None else loss * s)
    # the sample weights' gradient is each token's unweighted loss
    per_token = None if s is None else loss
    return total, (h, w, b, s, dh.reshape(h.shape), dw.astype(w.dtype), db, per_token)


def _total_bwd(opts: _Options, residuals, g):
    h, w, b, s, dh, dw, db, per_token = residuals
    # the sample weights vary like the tokens: their gradient takes the cotangent
    # before the sum over the vocabulary axes below, which only the shares of the
    # hidden-state and weight gradients computed on each slice need
    ds = None
    if s is not None:
        ds = (per_token * g.astype(per_token.dtype)).astype(s.dtype)
        ds = sharding.sum_over(ds, sharding.varying_axes(ds) - sharding.varying_axes(s))
    # see _fused_bwd for the cotangent's sum over the vocabulary axes
    if opts.vocab_axis is not None and not set(opts.vocab_axis) <= sharding.varying_axes(w):
        g = sharding.psum(g, opts.vocab_axis)
    axes = sharding.varying_axes(dh) | sharding.varying_axes(dw) | sharding.varying_axes(g)

    def scaled(grad, like):
        grad = (grad.astype(g.dtype) * g).astype(like.dtype)
        return sharding.sum_over(grad, axes - sharding.varying_axes(like))

    return scaled(dh, h), scaled(dw, w), None if b is None else scaled(db, b), None, None, ds


_total.defvjp(_total_fwd, _total_bwd)


# ------------------------------------------------ "none": per-token cotangents
# Any cotangent per token: the backward recomputes each block of logits.


def _fused_loss(h, w, b, targets, valid, opts: _Options) -> Array:
    return _token_losses(h, w, b, targets, valid, opts)[0]


_fused = jax.custom_vjp(_fused_loss, nondiff_argnums=(5,))


def _fused_fwd(h, w, b, targets, valid, opts):
    loss, lse = _token_losses(h, w, b, targets, valid, opts)
    return loss, (h, w, b, targets, valid, lse)


def _fused_bwd(opts: _Options, residuals, g):
    """Recomputes the softmax one block of vocabulary at a time, for every token:
    each block's weight gradient is computed once and written in place, and only
    the hidden-state gradient ``[N, D]`` is accumulated."""
    h, w, b, targets, valid, lse = residuals
    local_vocab, block = w.shape[1], opts.vocab_block
    dtype = compute_dtype(h, w)
    g = jnp.where(valid, g, 0.0).astype(dtype)
    # with vma types (shard_map's default) h is invariant over the vocabulary
    # axes and its gradient is the psum of every slice's share; without them
    # (check_vma=False) JAX transposes the forward's psums into psums of the
    # cotangent and leaves the sum over slices to shard_map
    if opts.vocab_axis is not None and not set(opts.vocab_axis) <= sharding.varying_axes(w):
        g = sharding.psum(g, opts.vocab_axis)
    ids = jnp.where(valid, targets, -1) - sharding.row_offset(local_vocab, opts.vocab_axis)

    def body(carry, start):
        dh, dw, db = carry
        w_blk = jax.lax.dynamic_slice_in_dim(w, start, block, axis=1)
        b_blk = None if b is None else jax.lax.dynamic_slice_in_dim(b, start, block)
        logits, z = _chunk_logits(h, w_blk, b_blk, opts.softcap)
        hit = ids[:, None] == start + jnp.arange(block)
        dlogits = _logits_grad(logits, z, lse, hit, opts) * g[:, None]
        dh = dh + jnp.dot(dlogits.astype(w.dtype), w_blk.T, preferred_element_type=dtype)
        dw_blk = jnp.dot(h.T, dlogits.astype(h.dtype), preferred_element_type=dtype)
        dw = jax.lax.dynamic_update_slice_in_dim(dw, dw_blk.astype(dw.dtype), start, axis=1)
        db = jax.lax.dynamic_update_slice_in_dim(db, jnp.sum(dlogits, 0).astype(db.dtype), start, 0)
        return (dh, dw, db), None

    # under shard_map the tokens vary over devices while the weight may not (data
    # parallel), or the weight varies while the tokens do not (vocabulary
    # parallel): the gradients vary like both, and each is summed over the axes
    # its argument does not vary over
    axes = sharding.varying_axes(h) | sharding.varying_axes(w) | sharding.varying_axes(g)
    init = tuple(
        sharding.mark_varying(jnp.zeros(shape, dt), axes)
        for shape, dt in ((h.shape, dtype), (w.shape, w.dtype), ((local_vocab,), dtype))
    )
    (dh, dw, db), _ = jax.lax.scan(body, init, jnp.arange(0, local_vocab, block))
    dh = sharding.sum_over(dh, axes - sharding.varying_axes(h))
    dw = sharding.sum_over(dw, axes - sharding.varying_axes(w))
    db = (
        None
        if b is None
        else sharding.sum_over(db, axes - sharding.varying_axes(b)).astype(b.dtype)
    )
    return dh.astype(h.dtype), dw, db, None, None


_fused.defvjp(_fused_fwd, _fused_bwd)


def fused_linear_cross_entropy(
    hidden: ArrayLike,
    weight: ArrayLike,
    targets: ArrayLike,
    *,
    bias: ArrayLike | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    logit_softcap: float | None = None,
    chunk_size: int | None = None,
    sample_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
    vocab_axis_name: AxisName = None,
) -> Array:
    r"""Cross-entropy of ``hidden @ weight + bias`` without ever holding the logits.

    Equals ``cross_entropy(hidden @ weight + bias, targets, ...)`` in value and in
    the gradients for ``hidden``, ``weight`` and ``bias``, but computes the
    logits ``chunk_size`` tokens at a time. Reduced (``"mean"``, ``"sum"``), the
    loss is a scalar whose cotangent only scales the gradients: a
    ``jax.custom_vjp`` computes them with the loss from each block of logits
    (three matmuls of :math:`2NDV` FLOPs, as the materialised loss; the weight
    gradient summed in float32 whatever the input dtype) and the backward pass
    multiplies them by the cotangent. With ``"none"`` any cotangent per token
    is possible and the backward pass recomputes each block of logits (four
    matmuls). Memory beyond the inputs and gradients: one ``[chunk_size, V]``
    block and the float32 weight-gradient sum.

    .. math::
        \ell_n = (1-\varepsilon)\big(\log Z_n - s_{n y_n}\big)
                 + \varepsilon\big(\log Z_n - \tfrac1V\textstyle\sum_v s_{nv}\big)
                 + c\,(\log Z_n)^2, \qquad
        s = \kappa\tanh\big((h W + b)/\kappa\big)

    Args:
      hidden: ``[..., D]`` final hidden states (any float dtype; matmuls
        accumulate in float32).
      weight: ``[D, V]``, e.g. a Flax ``Dense``/``Linear`` kernel or a tied
        embedding's transpose.
      targets: ``[...]`` token ids; ``ignore_index`` marks padding.
      bias: optional ``[V]``.
      ignore_index: the id of tokens to leave out; any other id outside [0, V)
        gives NaN for its token.
      label_smoothing: epsilon, in [0, 1]. z_loss: c >= 0. logit_softcap: kappa
        > 0 (Gemma 2's 30), None for none. All three are compiled in: Python
        numbers, not traced values.
      chunk_size: tokens per block (a positive int, static); by default as many
        as keep a block of logits at 2^23 floats (32 MiB in float32) when JAX's
        default backend is the CPU, 2^26 on accelerators (at most 1/64 of the
        device's memory), in blocks of equal size. The token count is padded
        to a multiple of it.
      sample_weights: a leading prefix of the unreduced loss's shape (``[...]``,
        e.g. ``[B]`` or ``[B, T]``); rescales each example's loss without
        changing the mean's denominator. Each token's weight scales its loss and
        its gradient inside the blocks, so the three matmuls stay three.
      where: ``[...]``, aligned with the leading axes; extra tokens to leave out.
      reduction: ``"mean"`` over counted tokens, ``"sum"`` or ``"none"`` (``[...]``).
      axis_name: data-parallel axes (tokens split over devices) for the mean's
        count; the weight gradient is summed over them.
      vocab_axis_name: vocabulary-parallel axes (Megatron style): inside
        ``shard_map``, ``weight`` (and ``bias``) hold this device's contiguous
        slice of the vocabulary, in axis-index order, while ``hidden`` and
        ``targets`` are the same on every device of these axes. The max, the
        sum of exponentials and the target logit are all-reduced per block of
        tokens; each device keeps only its slice's weight gradient. Combines
        with ``axis_name`` on a 2-D mesh.

    Returns:
      A scalar, or ``[...]`` for ``reduction="none"`` (0 where left out).

    No ``class_weights``: pass ``sample_weights=class_weights[targets]`` instead.

    Matches ``torch.nn.functional.linear_cross_entropy`` (which takes the
    ``[V, D]`` transpose). Peers: Liger-Kernel's fused linear cross-entropy,
    Apple's Cut Cross-Entropy. References: Wijmans et al. (2025), "Cut Your
    Losses in Large-Vocabulary Language Models"; Shoeybi et al. (2019),
    "Megatron-LM" (vocabulary-parallel softmax).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> h, w = jnp.ones((2, 3)), jnp.zeros((3, 5))
      >>> round(float(jaxloss.fused_linear_cross_entropy(h, w, jnp.array([1, 4]))), 4)
      1.6094
    """
    fn = "fused_linear_cross_entropy"
    checks.check_integer(fn, "ignore_index", ignore_index)
    smoothing = checks.static_number(fn, "label_smoothing", label_smoothing)
    checks.check_range(fn, "label_smoothing", smoothing, low=0.0, high=1.0)
    z_coef = checks.static_number(fn, "z_loss", z_loss)
    checks.check_range(fn, "z_loss", z_coef, low=0.0)
    softcap = None
    if logit_softcap is not None:
        softcap = checks.static_number(fn, "logit_softcap", logit_softcap)
        checks.check_range(fn, "logit_softcap", softcap, low=0.0, low_open=True)
    if chunk_size is not None:
        checks.check_integer(fn, "chunk_size", chunk_size)
        if chunk_size < 1:
            checks.fail(fn, f"chunk_size must be a positive int; got {chunk_size!r}")
    h, w, t = jnp.asarray(hidden), jnp.asarray(weight), jnp.asarray(targets)
    checks.check_floating(fn, "hidden", h)
    checks.check_floating(fn, "weight", w)
    checks.check_rank(fn, "hidden", h, set(range(1, 33)))
    checks.check_rank(fn, "weight", w, 2)
    vocab_axis = sharding.axis_tuple(vocab_axis_name)
    vocab = w.shape[1] * (1 if vocab_axis is None else sharding.axis_size(vocab_axis))
    if w.shape[0] != h.shape[-1]:
        checks.fail(
            fn,
            f"weight has shape {w.shape}; expected [D, V] with D = {h.shape[-1]}, "
            "hidden's last axis (torch's linear_weight is the [V, D] transpose)",
        )
    if t.shape != h.shape[:-1]:
        checks.fail(
            fn, f"targets has shape {t.shape}; expected {h.shape[:-1]}, one per hidden state"
        )
    if jnp.issubdtype(t.dtype, jnp.floating):
        checks.fail(fn, f"targets must be integer token ids; got dtype {t.dtype}", TypeError)
    if bias is not None:
        bias = jnp.asarray(bias)
        checks.check_floating(fn, "bias", bias)
        if bias.shape != (w.shape[1],):
            checks.fail(fn, f"bias has shape {bias.shape}; expected ({w.shape[1]},)")
    checks.check_reduction(fn, reduction)
    mask = mask_of(fn, where, t.shape)
    lead = t.shape
    per_token = sample_weights_of(fn, sample_weights, lead)
    n = t.size
    elements = backend.block_elements()
    chunk = _default_chunk(n, w.shape[1], elements) if chunk_size is None else chunk_size
    chunk = min(chunk, max(n, 1))
    pad = -n % chunk
    valid = (t != ignore_index) if mask is None else (t != ignore_index) & mask
    ok = (t >= 0) & (t < vocab)
    checks.require(fn, "targets", ok | ~valid, t, f"token ids in [0, {vocab}) or ignore_index")
    # rows that count nowhere may hold padding (even NaN): zero them so that no
    # NaN reaches the weight gradient through 0 * NaN
    flat_h = jnp.where(valid.reshape(n, 1), h.reshape(n, h.shape[-1]), 0)
    flat_h = jnp.pad(flat_h, ((0, pad), (0, 0)))
    flat_t = jnp.pad(t.reshape(n), (0, pad))
    flat_v = jnp.pad(valid.reshape(n), (0, pad))
    opts = _Options(
        label_smoothing=smoothing,
        z_loss=z_coef,
        softcap=softcap,
        chunk=int(chunk),
        vocab_block=_vocab_block(w.shape[1], n + pad, elements),
        vocab_axis=vocab_axis,
        vocab=vocab,
    )
    bad = valid & ~ok
    if reduction == "none":
        loss = _fused(flat_h, w, bias, flat_t, flat_v, opts)[:n].reshape(lead)
        loss = jnp.where(bad, jnp.nan, loss)
        # the weights multiply the output: the backward pass gets them in its cotangent
        return reduce_loss(
            loss,
            fn=fn,
            reduction=reduction,
            sample_weights=per_token,
            where=valid,
            axis_name=axis_name,
        )
    flat_s = None
    if per_token is not None:
        # a token that counts nowhere may hold any weight (NaN padding): zero it first
        weights = fill_masked(valid, per_token.astype(compute_dtype(h, w)), 0.0)
        flat_s = jnp.pad(weights.reshape(n), (0, pad))
    total = _total(flat_h, w, bias, flat_t, flat_v, flat_s, opts)
    total = jnp.where(jnp.any(bad), jnp.nan, total)
    count = jnp.sum(valid, dtype=total.dtype)
    return reduce_loss(
        total[None], fn=fn, reduction=reduction, axis_name=axis_name, normalizer=count
    )
