"""Every per-backend form of a loss computes the same numbers: each is called directly."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

from jaxloss._core.classes import smoothing_forms
from jaxloss._core.numerics import shifted_logsumexp


@pytest.mark.parametrize("weighted", (False, True))
@pytest.mark.parametrize("masked_vocabulary", (False, True))
def test_smoothing_forms_agree(weighted, masked_vocabulary):
    logits = 3.0 * jax.random.normal(jax.random.key(0), (6, 5))
    if masked_vocabulary:
        logits = logits.at[1, 2].set(-jnp.inf).at[4, 0].set(-jnp.inf)
    weights = jnp.array([0.5, 1.0, 2.0, 1.5, 0.25]) if weighted else None
    cpu, accelerator = smoothing_forms(weights)

    def total(form, x):
        shifted, lse = shifted_logsumexp(x)
        return jnp.sum(form(shifted, lse))

    for f in (lambda x: total(cpu, x), lambda x: total(accelerator, x)):
        value, grad = jax.jit(jax.value_and_grad(f))(logits)
        assert np.isfinite(float(value)) and np.all(np.isfinite(np.asarray(grad)))
    assert_close(
        jax.jit(jax.value_and_grad(lambda x: total(cpu, x)))(logits),
        jax.jit(jax.value_and_grad(lambda x: total(accelerator, x)))(logits),
        rtol=1e-6,
    )


def test_box_coordinate_forms_agree():
    from jaxloss.losses.detection.boxes import coordinate_slices, coordinates_first

    b1, b2 = jax.random.uniform(jax.random.key(1), (2, 3, 7, 4))
    for x, y in zip(coordinates_first(b1, b2), coordinate_slices(b1, b2), strict=True):
        assert_close(x, y, rtol=0, atol=0)


def test_segmentation_label_sum_forms_agree():
    from jaxloss.losses.segmentation._common import label_sums_binned, label_sums_one_hot

    k1, k2 = jax.random.split(jax.random.key(2))
    probs = jax.nn.softmax(jax.random.normal(k1, (3, 5, 6, 4)), -1)
    labels = jax.random.randint(k2, (3, 5, 6), -1, 4)  # -1: void pixels

    def total(form, p):
        inter, t_sum = form(p, labels)
        return jnp.sum(inter * jnp.arange(1.0, 5.0)), t_sum

    binned = jax.jit(jax.value_and_grad(lambda p: total(label_sums_binned, p), has_aux=True))
    one_hot = jax.jit(jax.value_and_grad(lambda p: total(label_sums_one_hot, p), has_aux=True))
    assert_close(binned(probs), one_hot(probs), rtol=1e-6)


def test_pick_forms_agree():
    from jaxloss._core.classes import pick_forms

    k1, k2 = jax.random.split(jax.random.key(3))
    x = 3.0 * jax.random.normal(k1, (4, 6, 7))
    x = x.at[0, 1, 2].set(-jnp.inf).at[2, 3, 0].set(jnp.nan)  # off-label: never picked
    labels = jax.random.randint(k2, (4, 6), 0, 7)
    labels = labels.at[0, 1].set(3).at[2, 3].set(1)
    gather, select = pick_forms()
    cotangent = jax.random.normal(jax.random.key(4), (4, 6))

    def run(form):
        return jax.jit(jax.value_and_grad(lambda v: jnp.sum(cotangent * form(v, labels))))(x)

    value, grad = run(select)
    assert np.isfinite(float(value))
    assert_close(run(gather), (value, grad), rtol=0, atol=0)
