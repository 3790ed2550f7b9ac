"""Gram matrices, style, content and total variation losses against float64
NumPy, and the perceptual loss over a Flax model."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from helpers import assert_close

import jaxloss


def test_gram_style_content_and_total_variation():
    rng = np.random.default_rng(3)
    f, s = rng.standard_normal((2, 5, 4, 3)), rng.standard_normal((2, 5, 4, 3))
    gram = np.einsum("bhwc,bhwd->bcd", f, f) / 20
    assert_close(jaxloss.gram_matrix(f), gram, rtol=1e-5)
    gram_s = np.einsum("bhwc,bhwd->bcd", s, s) / 20
    assert_close(
        jaxloss.style_loss(f, s, reduction="none"),
        np.mean((gram - gram_s) ** 2, axis=(1, 2)),
        rtol=1e-5,
    )
    two_layers = jaxloss.style_loss([f, f], [s, s], layer_weights=[1.0, 0.5], reduction="none")
    assert_close(two_layers, 1.5 * np.mean((gram - gram_s) ** 2, axis=(1, 2)), rtol=1e-5)
    assert_close(
        jaxloss.content_loss(f, s, reduction="none"),
        np.mean((f - s) ** 2, axis=(1, 2, 3)),
        rtol=1e-5,
    )
    tv = np.sum(np.abs(np.diff(f, axis=1)), axis=(1, 2, 3)) + np.sum(
        np.abs(np.diff(f, axis=2)), axis=(1, 2, 3)
    )
    assert_close(jaxloss.total_variation_loss(f, reduction="none"), tv, rtol=1e-5)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "jaxloss.gram_matrix: features must be NHWC feature maps [B, H, W, C]; got shape (2, 5, 4)"
        ),
    ):
        jaxloss.gram_matrix(f[..., 0])


def test_perceptual_loss_over_a_flax_model():
    class Features(nnx.Module):
        def __init__(self, rngs):
            self.conv1 = nnx.Conv(3, 4, (3, 3), rngs=rngs)
            self.conv2 = nnx.Conv(4, 2, (3, 3), rngs=rngs)

        def __call__(self, x):
            a = nnx.relu(self.conv1(x))
            return [a, self.conv2(a)]

    model = Features(nnx.Rngs(0))
    rng = np.random.default_rng(4)
    x, y = (
        jnp.asarray(rng.standard_normal((2, 8, 8, 3))),
        jnp.asarray(rng.standard_normal((2, 8, 8, 3))),
    )
    fx, fy = model(x), model(y)
    expected = 1.0 * np.mean(np.abs(fx[0] - fy[0]), axis=(1, 2, 3)) + 0.3 * np.mean(
        np.abs(fx[1] - fy[1]), axis=(1, 2, 3)
    )
    got = jaxloss.perceptual_loss(
        model, x, y, layer_weights=[1.0, 0.3], criterion="l1", reduction="none"
    )
    assert_close(got, expected, rtol=1e-5)
    g = jax.grad(lambda a: jaxloss.perceptual_loss(model, a, y))(x)
    assert np.all(np.isfinite(g)) and np.any(g != 0)


@pytest.mark.parametrize("fn", (jaxloss.style_loss, jaxloss.content_loss))
def test_layer_weights_are_numbers(fn):
    """Guards against a string layer weight failing deep inside (or a string of
    the right length being taken as one weight per character)."""
    f = jnp.ones((1, 2, 2, 3))
    with pytest.raises(
        TypeError, match=rf"^jaxloss\.{fn.__name__}: layer_weights must be a number"
    ):
        fn([f, f], [f, f], layer_weights=["1.0", 0.5])
    with pytest.raises(
        TypeError, match=rf"^jaxloss\.{fn.__name__}: layer_weights must be a sequence"
    ):
        fn([f, f], [f, f], layer_weights="10")
    with pytest.raises(
        ValueError, match=rf"^jaxloss\.{fn.__name__}: layer_weights must be in \[0.0"
    ):
        fn(f, f, layer_weights=[-1.0])


def test_perceptual_loss_option_errors():
    x = jnp.ones((1, 4))
    with pytest.raises(
        TypeError, match=r"^jaxloss\.perceptual_loss: feature_fn must be a function"
    ):
        jaxloss.perceptual_loss("vgg", x, x)  # pyright: ignore[reportArgumentType]
    with pytest.raises(
        TypeError, match=r"^jaxloss\.total_variation_loss: squared must be True or False"
    ):
        jaxloss.total_variation_loss(jnp.ones((1, 2, 2, 1)), squared="False")  # pyright: ignore[reportArgumentType]
