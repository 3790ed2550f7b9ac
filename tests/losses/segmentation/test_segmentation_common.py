"""What every segmentation loss promises: the stability promises, the errors, the
global (per_sample=False) statistics across devices, and memory.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P
from segmentation_inputs import OVERLAP, K, inputs, jax_value_grad

import jaxloss

# ----------------------------------------------------------------- never break


def _all_losses():
    for name, fn in OVERLAP.items():
        yield name, fn, {}
    yield "lovasz_hinge", jaxloss.lovasz_hinge_loss, {}
    yield "bce_dice", jaxloss.bce_dice_loss, {}
    yield "focal_and_tversky", jaxloss.focal_and_tversky_loss, {}


@pytest.mark.parametrize("smooth", (1e-5, 0.0))
@pytest.mark.parametrize(("name", "fn", "opts"), list(_all_losses()))
def test_empty_target_and_empty_prediction(name, fn, opts, smooth):
    x = jnp.full((2, 8, 8), -1e4)
    t = jnp.zeros((2, 8, 8))
    kw = {} if name.startswith("lovasz") else {"smooth": smooth}
    mode = {"mode": "binary"} if name == "generalized_dice" else {}
    value, grad = jax_value_grad(fn, x, t, **kw, **mode)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    if not name.startswith("lovasz"):
        assert float(value) < 1e-4
    if name in OVERLAP:  # probabilities of exactly 0 against an empty target
        assert float(fn(jnp.zeros((2, 8, 8)), t, from_logits=False, **kw, **mode)) < 1e-6


@pytest.mark.parametrize(("name", "fn", "opts"), list(_all_losses()))
def test_class_absent_from_every_image(name, fn, opts):
    if name in ("lovasz_hinge", "bce_dice", "focal_and_tversky"):
        x = 3 * jax.random.normal(jax.random.key(0), (3, 6, 6))
        t = jnp.zeros((3, 6, 6))
        kw = {}
    else:
        x = 3 * jax.random.normal(jax.random.key(0), (3, 6, 6, K))
        t = jax.random.randint(jax.random.key(1), (3, 6, 6), 0, 2)  # classes 2, 3 never occur
        kw = {"mode": "multiclass"}
    for per_sample in (True, False):
        extra = {} if name in ("bce_dice", "focal_and_tversky") else {"per_sample": per_sample}
        value, grad = jax_value_grad(fn, x, t, **kw, **extra)
        assert np.isfinite(value) and np.all(np.isfinite(grad)) and np.any(grad != 0)


def test_soft_targets_equal_hard_targets_when_one_hot():
    x, t, mask = inputs("multiclass", np.random.default_rng(12), void=False)
    onehot = jax.nn.one_hot(t, K)
    for fn in (*OVERLAP.values(), jaxloss.lovasz_softmax_loss):
        kw = {} if fn is jaxloss.lovasz_softmax_loss else {"mode": "multiclass"}
        assert_close(
            jax_value_grad(fn, x, jnp.asarray(t), where=mask, **kw),
            jax_value_grad(fn, x, onehot, where=mask, **kw),
            rtol=1e-5,
        )


def test_confident_logits_train_towards_the_target():
    """At ±1e4 logits the loss is exact and a wrong pixel still has a gradient of
    the right sign when the sigmoid has not saturated it away."""
    x = jnp.array([[1e4, -1e4, 0.0, -1e4]])
    t = jnp.array([[1.0, 0.0, 1.0, 1.0]])
    for fn in (jaxloss.dice_loss, jaxloss.tversky_loss, jaxloss.lovasz_hinge_loss):
        value, grad = jax_value_grad(fn, x, t)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        assert grad[0, 2] < 0  # the undecided positive pixel is pushed up


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call_", "error", "message"),
    [
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), mode="multi"),
         ValueError, "jaxloss.dice_loss: mode must be one of 'binary', 'multiclass', 'multilabel'; got 'multi'"),
        (lambda: jaxloss.tversky_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), alpha=-0.1),
         ValueError, "jaxloss.tversky_loss: alpha must be in [0.0, inf]; got -0.1"),
        (lambda: jaxloss.focal_tversky_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), beta=-1.0),
         ValueError, "jaxloss.focal_tversky_loss: beta must be in [0.0, inf]; got -1.0"),
        (lambda: jaxloss.focal_tversky_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), gamma=0.0),
         ValueError, "jaxloss.focal_tversky_loss: gamma must be in (0.0, inf]; got 0.0"),
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 4, 4, 3)), jnp.zeros((2, 4, 4), jnp.int32)),
         ValueError, "jaxloss.dice_loss: targets has shape (2, 4, 4) and dtype int32, which fits no mode: "
         "mode='binary' expects the shape of predictions, (2, 4, 4, 3) (class indices of this shape need mode='multiclass')"),
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 4, 3)), jnp.zeros((2, 4, 2)), mode="multiclass"),
         ValueError, "jaxloss.dice_loss: targets has shape (2, 4, 2) and dtype float32, which fits no mode: "
         "mode='multiclass' expects integer class indices of shape (2, 4) or float (one-hot or soft) targets of shape (2, 4, 3)"),
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), include_background=False),
         ValueError, "jaxloss.dice_loss: include_background=False needs a class axis with at least 2 classes"),
        (lambda: jaxloss.jaccard_loss(jnp.zeros((2, 3, 4)), jnp.zeros((2, 3), int), mode="multiclass", class_weights=jnp.ones(3)),
         ValueError, "jaxloss.jaccard_loss: class_weights must have shape (4,), one per class; got (3,)"),
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), per_sample=False, weight=jnp.ones(2)),
         ValueError, "jaxloss.dice_loss: weight rescales per-image losses, but per_sample=False gives one global loss"),
        (lambda: jaxloss.tversky_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), per_sample=False, sample_weights=jnp.ones(2)),
         ValueError, "jaxloss.tversky_loss: sample_weights rescales per-image losses, but per_sample=False gives one global loss"),
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), from_logits=jnp.array(True)),
         TypeError, "jaxloss.dice_loss: from_logits must be True or False; got "),
        (lambda: jaxloss.lovasz_softmax_loss(jnp.zeros((2, 3)), jnp.zeros((2,))),
         ValueError, "jaxloss.lovasz_softmax_loss: targets has shape (2,) and dtype float32, which fits no mode"),
        (lambda: jaxloss.focal_and_tversky_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), focal_gamma=-1.0),
         ValueError, "jaxloss.focal_and_tversky_loss: focal_gamma must be in [0.0, inf]; got -1.0"),
        (lambda: jaxloss.bce_dice_loss(jnp.zeros(()), jnp.zeros(())),
         ValueError, "jaxloss.bce_dice_loss: logits must have rank"),
    ],
)  # fmt: skip
def test_trace_time_errors(call_, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call_()
    with pytest.raises(error, match=re.escape(message)):
        jax.jit(call_)()


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "message"),
    [
        (jaxloss.dice_loss, (jnp.zeros((1, 2, 3)), jnp.array([[0, 3]])), {"mode": "multiclass"},
         r"targets must be a class in \[0, 3\) or ignore_index \(-100\); got 3 at flat index 1"),
        (jaxloss.dice_loss, (jnp.zeros((1, 3)), jnp.array([[0, 2, 1]])), {},
         r"targets must be 0 or 1 or ignore_index \(-100\); got 2 at flat index 1"),
        (jaxloss.tversky_loss, (jnp.array([[0.5, 1.5]]), jnp.zeros((1, 2))), {"from_logits": False},
         r"predictions must be probabilities in \[0, 1\]; got 1.5 at flat index 1"),
    ],
)  # fmt: skip
def test_invalid_values_are_nan_and_checked_names_them(fn, args, kwargs, message):
    # a bad label or probability poisons its image: NaN, never a finite number
    assert np.isnan(float(fn(*args, **kwargs)))
    with pytest.raises(Exception, match=message):
        jaxloss.checked(fn)(*args, **kwargs)


# ----------------------------------------------------------------- global statistics across devices


def _mesh():
    return Mesh(np.asarray(jax.devices()), ("batch",))


_GLOBAL_CASES = [
    (jaxloss.dice_loss, "binary", {}),
    (jaxloss.tversky_loss, "multilabel", {"mode": "multilabel"}),
    (jaxloss.generalized_dice_loss, "multiclass", {}),
    (jaxloss.lovasz_hinge_loss, "binary", {}),
    (jaxloss.lovasz_softmax_loss, "multiclass", {}),
]


@pytest.mark.parametrize(
    ("fn", "mode", "opts"), _GLOBAL_CASES, ids=lambda v: getattr(v, "__name__", None)
)
def test_global_statistics_under_shard_map_equal_one_device(fn, mode, opts):
    x, t, mask = inputs(mode, np.random.default_rng(13), shape=(16, 4, 4))
    x, t = jnp.asarray(x, jnp.float32), jnp.asarray(t)
    where = jnp.asarray(mask)
    kw = {"per_sample": False, **opts}

    def sharded(x, t, where):
        return fn(x, t, where=where, axis_name="batch", **kw)

    mapped = jax.shard_map(sharded, mesh=_mesh(), in_specs=(P("batch"),) * 3, out_specs=P())
    single = jax.value_and_grad(lambda a: fn(a, t, where=where, **kw))(x)
    assert_close(jax.jit(jax.value_and_grad(lambda a: mapped(a, t, where)))(x), single, rtol=1e-5)


# ----------------------------------------------------------------- memory


@pytest.mark.optimized
def test_multiclass_dice_never_materializes_a_one_hot_target():
    """value_and_grad of multi-class Dice with integer targets needs less temporary
    memory than with one-hot targets passed in, and no more than the logits' size
    beyond the probabilities and gradient XLA must hold."""
    x = jnp.zeros((8, 64, 64, 21))
    labels = jnp.zeros((8, 64, 64), jnp.int32)

    def temp(t):
        f = jax.value_and_grad(lambda a, b: jaxloss.dice_loss(a, b, mode="multiclass"))
        return jax.jit(f).lower(x, t).compile().memory_analysis().temp_size_in_bytes

    with_labels, with_one_hot = temp(labels), temp(jax.nn.one_hot(labels, 21))
    assert with_labels < with_one_hot
    assert with_labels <= 2 * x.nbytes
