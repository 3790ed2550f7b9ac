"""Run-time value checks: NaN by default, an error naming the value when asked,
inside a jitted training step too."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxloss


def _step(w, x, targets):
    """A jitted training step's gradient through cross-entropy."""
    return jax.grad(lambda w: jaxloss.cross_entropy(x @ w, targets))(w)


X = jnp.ones((6, 4))
W = jnp.zeros((4, 3))
BAD = jnp.array([0, 1, 2, 3, 1, 0])  # class 3 of 3 at index 3


def test_default_gives_nan_not_a_finite_number():
    loss = jax.jit(lambda w: jaxloss.cross_entropy(X @ w, BAD))(W)
    assert np.isnan(float(loss))


def test_enable_checks_raises_inside_jit():
    jaxloss.enable_checks()
    try:
        step = jax.jit(lambda w, x, t: _step(w, x, t) * 1.0)  # a fresh trace
        with pytest.raises(
            Exception, match=r"jaxloss\.cross_entropy: targets .* got 3 at flat index 3"
        ):
            jax.block_until_ready(step(W, X, BAD))
        ok = step(W, X, BAD.at[3].set(2))
        assert np.isfinite(np.asarray(ok)).all()
    finally:
        jaxloss.enable_checks(False)
        jax.clear_caches()


def test_checked_wraps_a_jitted_step():
    step = jaxloss.checked(jax.jit(_step))
    with pytest.raises(
        Exception, match=r"jaxloss\.cross_entropy: targets .* got 3 at flat index 3"
    ):
        step(W, X, BAD)
    with pytest.raises(Exception, match=r"jaxloss\._step: argument 1 must be finite"):
        step(W, X.at[0, 0].set(jnp.nan), BAD.at[3].set(0))
    assert np.isfinite(np.asarray(step(W, X, BAD.at[3].set(0)))).all()


def test_checked_inside_jit_is_refused_with_the_fix():
    with pytest.raises(
        ValueError, match=r"jaxloss\.checked: .*jaxloss\.checked\(jax\.jit\(_step\)\)"
    ):
        jax.jit(jaxloss.checked(_step))(W, X, BAD)


def test_messages_with_braces_are_safe():
    """{-1, +1} in a message is text, not a format field."""
    bad = jnp.array([1.0, 0.5])
    with pytest.raises(Exception, match=r"jaxloss\.hinge_loss: targets must be in \{-1, \+1\}"):
        jaxloss.checked(jaxloss.hinge_loss)(jnp.zeros(2), bad)
