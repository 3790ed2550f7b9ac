"""Proxy-based metric learning: each class has a learnable proxy ``[C, D]``.

The proxies are a parameter shared by every row: with ``axis_name`` they are
replicated and every device's rows are gathered, so the loss (one statistic of
the whole batch) equals the single-device one. The ``[N, C]`` cosines are
computed at ``jax.lax.Precision.HIGHEST`` (see :mod:`._common`).
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxloss._core import checks
from jaxloss._core.numerics import masked_logsumexp, softplus
from jaxloss._core.reduce import examples_interact, mask_weights, prepare_arrays
from jaxloss._core.sharding import gather_invariant
from jaxloss._core.types import Array, ArrayLike, AxisName, Scalar
from jaxloss.losses.embedding._common import (
    class_labels,
    class_matrix,
    cosine_matrix,
)

__all__ = ["proxy_anchor_loss"]


@examples_interact
def proxy_anchor_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    proxies: ArrayLike,
    *,
    margin: Scalar = 0.1,
    alpha: Scalar = 32.0,
    where: ArrayLike | None = None,
    reduction: str = "mean",
    axis_name: AxisName = None,
) -> Array:
    r"""Proxy-Anchor loss: each proxy pulls the batch's embeddings of its class
    and pushes the others away, weighting the hard ones by a log-sum-exp.

    .. math::
        \mathcal{L} = \frac{1}{|P^+|}\sum_{p \in P^+}
            \log\Big(1 + \sum_{x \in X_p^+} e^{-\alpha(\cos(x, p) - \delta)}\Big)
          + \frac{1}{|P|}\sum_{p \in P}
            \log\Big(1 + \sum_{x \in X_p^-} e^{\alpha(\cos(x, p) + \delta)}\Big)

    with :math:`P` all C proxies, :math:`P^+` those with an embedding of their
    class in the batch, :math:`X_p^\pm` the batch's embeddings of (not of) p's
    class, and :math:`\delta` the margin.

    Args:
      embeddings: ``[B, D]``.
      labels: ``[B]`` integer class ids in ``[0, C)``; another value makes the
        loss NaN (:func:`jaxloss.checked` names it).
      proxies: ``[C, D]``, learnable; both sides are L2-normalised inside.
      margin: delta. alpha: the scale, > 0.
      where: ``[B]`` rows to use.
      reduction: ``"mean"`` or ``"sum"``, the same value: the loss is one
        statistic of the whole batch (there is no per-row loss).
      axis_name: every device's rows count; ``proxies`` is replicated.

    Returns:
      A scalar.

    Matches pytorch-metric-learning ``ProxyAnchorLoss`` (without its weight
    regulariser) and the authors' code.
    References: Kim et al. (2020), "Proxy Anchor Loss for Deep Metric Learning";
    https://github.com/tjddus9597/Proxy-Anchor-CVPR2020 (``code/losses.py``);
    https://github.com/KevinMusgrave/pytorch-metric-learning
    (``src/pytorch_metric_learning/losses/proxy_anchor_loss.py``).

    Example:
      >>> import jax.numpy as jnp, jaxloss
      >>> x = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> loss = jaxloss.proxy_anchor_loss(x, jnp.array([0, 1]), jnp.eye(2), alpha=1.0)
      >>> round(float(loss), 4)
      1.0856
    """
    fn = "proxy_anchor_loss"
    checks.check_reduction(fn, reduction, ("mean", "sum"))
    checks.check_number(fn, "margin", margin)
    checks.check_range(fn, "alpha", alpha, low=0.0, low_open=True)
    (x,), mask = prepare_arrays(fn, ("embeddings",), (embeddings,), where, mask_axes=-1, rank=2)
    x, p = class_matrix(fn, "proxies", proxies, x)
    y = class_labels(fn, labels, x.shape[:1])
    num_classes = p.shape[0]
    valid = mask_weights(mask, y.shape, jnp.int32)
    checks.require(
        fn,
        "labels",
        ((y >= 0) & (y < num_classes)) | (valid == 0),
        y,
        f"a class index in [0, {num_classes})",
    )
    x, y, valid = (gather_invariant(a, axis_name) for a in (x, y, valid))
    bad = jnp.any(((y < 0) | (y >= num_classes)) & (valid > 0))
    if not x.shape[0]:
        return jnp.zeros((), x.dtype)  # no embedding: log(1 + 0) for every proxy
    cos = cosine_matrix(x, p)
    own = (y[:, None] == jnp.arange(num_classes)[None, :]) & (valid[:, None] > 0)
    other = ~own & (valid[:, None] > 0)
    pull = softplus(masked_logsumexp(-alpha * (cos - margin), own, axis=0))
    push = softplus(masked_logsumexp(alpha * (cos + margin), other, axis=0))
    with_positive = jnp.maximum(jnp.sum(jnp.any(own, axis=0)), 1)
    loss = jnp.sum(pull) / with_positive + jnp.sum(push) / num_classes
    return jnp.where(bad, jnp.nan, loss)
