"""The segmentation losses against "no silently wrong number on anything a user can
type": the class axis (``axis=``), ``where`` aligned with leading axes, void and
out-of-range targets, NaN and Inf inputs, option errors that name the argument,
and empty batches. Each test says what the old behaviour was.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close
from segmentation_inputs import OVERLAP, K, jax_value_grad

import jaxloss

CLASS_AXIS = {**OVERLAP, "lovasz_softmax": jaxloss.lovasz_softmax_loss}
ALL = {
    **CLASS_AXIS,
    "lovasz_hinge": jaxloss.lovasz_hinge_loss,
    "bce_dice": jaxloss.bce_dice_loss,
    "focal_and_tversky": jaxloss.focal_and_tversky_loss,
}


def _mode(name, mode):
    return {} if name == "lovasz_softmax" else {"mode": mode}


# ----------------------------------------------------------------- the class axis


def _channel_first_inputs(mode, seed=0, shape=(3, K, 5, 6)):
    """Channel-first logits [B, C, H, W] with targets and a pixel mask for ``mode``
    ("multiclass" integer, "multiclass_soft" float, "multilabel")."""
    rng = np.random.default_rng(seed)
    x = 3 * rng.standard_normal(shape).astype(np.float32)
    b, c, h, w = shape
    if mode == "multiclass":
        t = rng.integers(0, c, (b, h, w))
        t[0, 0, :2] = -100  # void labels
    elif mode == "multiclass_soft":
        t = np.moveaxis(rng.dirichlet(np.ones(c), (b, h, w)), -1, 1).astype(np.float32)
    else:
        t = (rng.random(shape) < 0.3).astype(np.float32)
    pixel_mask = rng.random((b, h, w)) < 0.8
    return x, t, pixel_mask


@pytest.mark.parametrize("mode", ("multiclass", "multiclass_soft", "multilabel"))
@pytest.mark.parametrize("per_sample", (True, False))
@pytest.mark.parametrize("name", CLASS_AXIS)
def test_axis_1_equals_moving_the_class_axis_last(name, mode, per_sample):
    """Guards against: the losses read the class axis last only, so PyTorch's
    channel-first [B, C, H, W] was read as C = W classes (or refused); there was
    no ``axis`` argument."""
    if name == "lovasz_softmax" and mode == "multilabel":
        pytest.skip("lovasz_softmax_loss is multi-class only")
    fn = CLASS_AXIS[name]
    x, t, pixel_mask = _channel_first_inputs(mode, seed=len(name))
    base = "multiclass" if mode.startswith("multiclass") else mode
    kw = {"per_sample": per_sample, **_mode(name, base)}
    moved_t = t if t.ndim == 3 else np.moveaxis(t, 1, -1)
    for where in (None, pixel_mask):
        ours = jax_value_grad(fn, x, jnp.asarray(t), axis=1, where=where, **kw)
        value, grad = jax_value_grad(
            fn, np.moveaxis(x, 1, -1), jnp.asarray(moved_t), where=where, **kw
        )
        assert np.isfinite(value)
        assert_close(ours[0], value, rtol=1e-6)
        assert_close(ours[1], np.moveaxis(np.asarray(grad), -1, 1), rtol=1e-5, atol=1e-8)
    # a negative axis names the same axis
    assert_close(fn(jnp.asarray(x), jnp.asarray(t), axis=-3, **kw),
                 fn(jnp.asarray(x), jnp.asarray(t), axis=1, **kw), rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize("name", OVERLAP)
def test_multilabel_where_of_full_rank_is_laid_out_like_the_predictions(name):
    """Guards against: a per-class mask given channel-first masking the wrong
    entries when the class axis is moved."""
    fn = OVERLAP[name]
    x, t, _ = _channel_first_inputs("multilabel", seed=3)
    mask = np.random.default_rng(4).random(x.shape) < 0.7  # [B, C, H, W]
    ours = jax_value_grad(fn, x, jnp.asarray(t), axis=1, where=mask, mode="multilabel")
    value, grad = jax_value_grad(
        fn, np.moveaxis(x, 1, -1), jnp.asarray(np.moveaxis(t, 1, -1)),
        where=np.moveaxis(mask, 1, -1), mode="multilabel",
    )  # fmt: skip
    assert_close(ours[0], value, rtol=1e-6)
    assert_close(ours[1], np.moveaxis(np.asarray(grad), -1, 1), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(
    ("call_", "error", "message"),
    [
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3, 4)), jnp.zeros((2, 3, 4)), axis=1),
         ValueError, "jaxloss.dice_loss: axis=1 has no meaning in mode='binary'"),
        (lambda: jaxloss.jaccard_loss(jnp.zeros((2, 3, 4)), jnp.zeros((2, 4), int), mode="multiclass", axis=3),
         ValueError, "jaxloss.jaccard_loss: axis=3 is out of range for 3-d input of shape (2, 3, 4)"),
        (lambda: jaxloss.tversky_loss(jnp.zeros((2, 3, 4)), jnp.zeros((2, 3, 4)), mode="multilabel", axis="1"),  # pyright: ignore[reportArgumentType]
         TypeError, "jaxloss.tversky_loss: axis must be an integer; got '1' (str)"),
        (lambda: jaxloss.lovasz_softmax_loss(jnp.zeros((2, 3, 4)), jnp.zeros((2, 3), int), axis=1),
         ValueError, "jaxloss.lovasz_softmax_loss: targets has shape (2, 3) and dtype int32, which fits no "
         "mode: mode='multiclass' expects integer class indices of shape (2, 4)"),
        # channel-last float targets with channel-first predictions: refused, never
        # read in whichever layout happens to fit
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3, 4)), jnp.zeros((2, 4, 3)), mode="multiclass", axis=1),
         ValueError, "jaxloss.dice_loss: targets has shape (2, 4, 3) and dtype float32, which fits no mode"),
        # integer targets that fit channel-first predictions: the error says axis=1
        (lambda: jaxloss.dice_loss(jnp.zeros((2, 3, 4)), jnp.zeros((2, 4), int), mode="multiclass"),
         ValueError, "pass axis=1, or move it with jnp.moveaxis(predictions, 1, -1)"),
    ],
)  # fmt: skip
def test_axis_errors(call_, error, message):
    """Guards against: no ``axis`` argument (TypeError from Python), and a
    channel-first mistake reported without the fix."""
    with pytest.raises(error, match=re.escape(message)):
        call_()


# ----------------------------------------------------------------- where: leading axes


@pytest.mark.parametrize("name", ALL)
def test_an_image_mask_masks_images_even_when_a_trailing_axis_has_batch_size(name):
    """Guards against: a [B] mask broadcast against the trailing pixel axis, which
    silently masked columns instead of images when W == B."""
    fn = ALL[name]
    rng = np.random.default_rng(7)
    b = 4
    keep = np.array([True, False, True, True])
    if name in CLASS_AXIS and name not in ("dice", "tversky", "focal_tversky", "jaccard"):
        x, t = rng.standard_normal((b, 3, b, K)), rng.integers(0, K, (b, 3, b))
        kw = _mode(name, "multiclass")
    else:
        x, t = 3 * rng.standard_normal((b, 3, b)), (rng.random((b, 3, b)) < 0.4) * 1.0
        kw = {}
    masked = fn(jnp.asarray(x), jnp.asarray(t), where=keep, **kw)
    full = np.broadcast_to(keep[:, None, None], t.shape[:3])
    assert_close(masked, fn(jnp.asarray(x), jnp.asarray(t), where=full, **kw), rtol=1e-6)
    if name not in ("bce_dice", "focal_and_tversky"):  # there a masked image counts, as 0
        sliced = fn(jnp.asarray(x[keep]), jnp.asarray(t[keep]), **kw)
        assert_close(masked, sliced, rtol=1e-5)
    # a mask of the trailing pixel axes only is refused, not broadcast
    with pytest.raises(ValueError, match=rf"^jaxloss\.{fn.__name__}: where has shape \(3, 4\)"):
        fn(jnp.asarray(x), jnp.asarray(t), where=np.ones((3, b), bool), **kw)


# ----------------------------------------------------------------- void and invalid targets


def _dice64(p, t, smooth):
    """Binary Dice of one image in float64 NumPy."""
    return 1 - (2 * np.sum(p * t) + smooth) / (np.sum(p) + np.sum(t) + smooth)


def test_float_targets_equal_to_ignore_index_are_void():
    """Guards against: float targets equal to ignore_index were taken as the target
    value 255 (dice 0.0077, a finite wrong number)."""
    x = np.array([[0.3, -1.2, 0.8, 2.0], [1.0, -0.5, 0.1, -2.0]])
    t = np.array([[1.0, 0.0, 255.0, 1.0], [0.0, 255.0, 1.0, 1.0]])
    p = 1 / (1 + np.exp(-x))
    keep = t != 255
    expected = np.mean([_dice64(p[b][keep[b]], t[b][keep[b]], 1e-5) for b in range(2)])
    ours = jaxloss.dice_loss(jnp.asarray(x), jnp.asarray(t), ignore_index=255)
    assert_close(ours, expected, rtol=1e-5)
    assert_close(
        ours, jaxloss.dice_loss(jnp.asarray(x), jnp.asarray(t).astype(int), ignore_index=255)
    )
    assert float(jaxloss.dice_loss(jnp.zeros((1, 4)), jnp.array([[1.0, 0, 255, 1]]), ignore_index=255)) == pytest.approx(
        1 - (1e-5 + 2) / (1.5 + 2 + 1e-5), rel=1e-5
    )  # fmt: skip
    # the void pixels' predictions get no gradient
    _, grad = jax_value_grad(jaxloss.dice_loss, x, jnp.asarray(t), ignore_index=255)
    assert np.all(np.asarray(grad)[~keep] == 0) and np.all(np.asarray(grad)[keep] != 0)


@pytest.mark.parametrize("name", CLASS_AXIS)
def test_void_multiclass_float_pixels_equal_void_integer_labels(name):
    """Guards against: a one-hot target row filled with ignore_index entering the
    sums as a target of -100 in every class."""
    fn = CLASS_AXIS[name]
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 5, K))
    labels = rng.integers(0, K, (2, 5))
    labels[0, 1] = labels[1, 3] = -100
    onehot = np.eye(K)[np.where(labels < 0, 0, labels)]
    onehot[labels < 0] = -100.0
    kw = _mode(name, "multiclass")
    assert_close(
        jax_value_grad(fn, x, jnp.asarray(onehot), **kw),
        jax_value_grad(fn, x, jnp.asarray(labels), **kw),
        rtol=1e-5,
    )
    # a row only partly ignore_index is not void: it is invalid
    onehot[0, 1, 0] = 0.0
    per_image = fn(jnp.asarray(x), jnp.asarray(onehot), reduction="none", **kw)
    assert np.isnan(per_image[0]) and np.isfinite(per_image[1])


def test_multilabel_float_targets_equal_to_ignore_index_are_void_per_class():
    """Guards against: a void class entry of a float multi-label target read as a
    target of -100 (a finite, wrong Dice)."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 6, K))
    t = (rng.random((2, 6, K)) < 0.4) * 1.0
    void = rng.random((2, 6, K)) < 0.2
    ours = jax_value_grad(
        jaxloss.dice_loss, x, jnp.asarray(np.where(void, -100.0, t)), mode="multilabel"
    )
    assert_close(
        ours, jax_value_grad(jaxloss.dice_loss, x, jnp.asarray(t), mode="multilabel", where=~void)
    )


@pytest.mark.parametrize("per_sample", (True, False))
@pytest.mark.parametrize("name", ALL)
def test_targets_outside_their_range_give_nan_and_checked_names_them(name, per_sample):
    """Guards against: float targets outside [0, 1] (and soft targets for the
    Lovász hinge) giving a finite loss, and `checked` saying nothing."""
    fn = ALL[name]
    if name in CLASS_AXIS and name not in ("dice", "tversky", "focal_tversky", "jaccard"):
        x = jnp.zeros((2, 4, K))
        t = jax.nn.one_hot(jnp.array([[0, 1, 2, 3], [3, 2, 1, 0]]), K)
        t = t.at[0, 2, 1].set(1.5)
        kw = _mode(name, "multiclass")
    else:
        x, t = jnp.zeros((2, 4)), jnp.array([[1.0, 0.0, 1.5, 1.0], [1.0, 0.0, 0.0, 1.0]])
        kw = {}
        if name == "lovasz_hinge":  # its targets are 0 or 1: a soft 0.5 is out of range
            t = t.at[0, 2].set(0.5)
    if name in ("bce_dice", "focal_and_tversky"):
        if not per_sample:
            pytest.skip(f"{name} has no per_sample")
    else:
        kw["per_sample"] = per_sample
    value = fn(x, t, **kw)
    assert np.isnan(float(value))
    if per_sample:  # only the image with the bad target
        per_image = fn(x, t, reduction="none", **kw)
        assert np.isnan(per_image[0]) and np.isfinite(per_image[1])
        # a bad target where `where` masks it out is left out
        where = jnp.ones(t.shape[:2], bool).at[0, 2].set(False)
        assert np.isfinite(float(fn(x, t, where=where, **kw)))
    with pytest.raises(Exception, match=rf"jaxloss\.{fn.__name__}: targets must be"):
        jaxloss.checked(jax.jit(lambda a, b: fn(a, b, **kw)))(x, t)


def test_lovasz_softmax_bad_label_in_an_image_without_a_present_class_is_nan():
    """Guards against: an image whose every label is out of range had no present
    class and was left out of the mean: a finite loss from the other images."""
    x = jax.random.normal(jax.random.key(0), (2, 4, K))
    t = jnp.array([[7, 7, 7, 7], [0, 1, 2, 3]])
    per_image = jaxloss.lovasz_softmax_loss(x, t, reduction="none")
    assert np.isnan(per_image[0]) and np.isfinite(per_image[1])
    assert np.isnan(float(jaxloss.lovasz_softmax_loss(x, t)))


@pytest.mark.parametrize("name", CLASS_AXIS)
def test_probabilities_outside_0_1_give_nan(name):
    """Guards against: from_logits=False with a "probability" of 1.5 (logits
    passed by mistake) giving a finite loss; only `checked` saw it."""
    fn = CLASS_AXIS[name]
    p = jnp.full((2, 4, K), 1.0 / K).at[1, 2, 0].set(1.5)
    t = jnp.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    per_image = fn(p, t, from_logits=False, reduction="none", **_mode(name, "multiclass"))
    assert np.isfinite(per_image[0]) and np.isnan(per_image[1])
    with pytest.raises(Exception, match=rf"{fn.__name__}: predictions must be probabilities"):
        jaxloss.checked(fn)(p, t, from_logits=False, **_mode(name, "multiclass"))


# ----------------------------------------------------------------- NaN and Inf in, never finite out


@pytest.mark.parametrize("gamma", (0.75, 2.0))
def test_focal_tversky_of_an_all_nan_image_is_nan(gamma):
    """Guards against: power(nan, 0.75) taken as 0, scoring an all-NaN image 0.0."""
    x = jnp.full((1, 4), jnp.nan)
    t = jnp.array([[1.0, 0.0, 1.0, 1.0]])
    for from_logits in (True, False):
        assert np.isnan(
            float(jaxloss.focal_tversky_loss(x, t, gamma=gamma, from_logits=from_logits))
        )


def test_lovasz_hinge_infinite_error_is_infinite():
    """Guards against: an infinite hinge error sorted like a void pixel and set to
    0, giving 1/3 for a logit of -inf on a positive pixel."""
    t = jnp.array([[1.0, 0.0, 1.0, 1.0]])
    x = jnp.array([[-jnp.inf, 1.0, 2.0, 3.0]])
    assert float(jaxloss.lovasz_hinge_loss(x, t)) == np.inf
    assert np.isnan(float(jaxloss.lovasz_hinge_loss(x.at[0, 0].set(jnp.nan), t)))
    # a void pixel may still hold anything finite and is left out
    where = jnp.array([[False, True, True, True]])
    expected = jaxloss.lovasz_hinge_loss(x[:, 1:], t[:, 1:])
    assert_close(jaxloss.lovasz_hinge_loss(x.at[0, 0].set(50.0), t, where=where), expected)


# ----------------------------------------------------------------- option errors name the argument


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"tversky_alpha": -1.0}, ValueError, "tversky_alpha must be in [0.0, inf]; got -1.0"),
        ({"tversky_beta": -1.0}, ValueError, "tversky_beta must be in [0.0, inf]; got -1.0"),
        ({"focal_alpha": 1.5}, ValueError, "focal_alpha must be in [0.0, 1.0]; got 1.5"),
        ({"focal_gamma": "2"}, TypeError, "focal_gamma must be a number; got '2'"),
        ({"tversky_weight": "1"}, TypeError, "tversky_weight must be a number; got '1'"),
        ({"tversky_weight": -1.0}, ValueError, "tversky_weight must be in [0.0, inf]; got -1.0"),
        ({"smooth": "1"}, TypeError, "smooth must be a number; got '1'"),
    ],
)
def test_focal_and_tversky_errors_name_the_argument_as_spelt(kwargs, error, message):
    """Guards against: tversky_alpha=-1 reported as "alpha", and unchecked
    focal_alpha, tversky_weight failing deep inside the loss."""
    with pytest.raises(error, match="^" + re.escape(f"jaxloss.focal_and_tversky_loss: {message}")):
        jaxloss.focal_and_tversky_loss(jnp.zeros((2, 3)), jnp.zeros((2, 3)), **kwargs)


_STRING_OPTIONS = [
    ("ignore_index", "255", "must be an integer"),
    ("smooth", "1", "must be a number"),
    ("per_sample", "False", "must be True or False"),
    ("from_logits", "True", "must be True or False"),
    ("squared", "False", "must be True or False"),
    ("include_background", "True", "must be True or False"),
    ("axis", "1", "must be an integer"),
    ("alpha", "0.3", "must be a number"),
    ("beta", "0.7", "must be a number"),
    ("gamma", "1", "must be a number"),
]


@pytest.mark.parametrize("name", ALL)
def test_string_options_raise_naming_the_argument(name):
    """Guards against: ignore_index="255", per_sample="False" and the like being
    used as they are (a truthy string) or failing deep inside JAX."""
    fn = ALL[name]
    params = set(jaxloss.registry.get(fn.__name__).fn.__code__.co_varnames)
    x, t = jnp.zeros((2, 4, K)), jnp.zeros((2, 4), int)
    kw = _mode(name, "multiclass") if name in CLASS_AXIS else {}
    if name not in CLASS_AXIS:
        x, t = jnp.zeros((2, 4)), jnp.zeros((2, 4))
    tried = 0
    for option, wrong, message in _STRING_OPTIONS:
        if option not in params:
            continue
        tried += 1
        pattern = "^" + re.escape(f"jaxloss.{fn.__name__}: {option} {message}")
        with pytest.raises(TypeError, match=pattern):
            fn(x, t, **kw, **{option: wrong})
        with pytest.raises(TypeError, match=pattern):
            jax.jit(lambda a, b, o=option, w=wrong: fn(a, b, **kw, **{o: w}))(x, t)
    assert tried >= 1


# ----------------------------------------------------------------- empty batches


@pytest.mark.parametrize("per_sample", (True, False))
@pytest.mark.parametrize(
    ("name", "shape", "target"),
    [
        ("lovasz_hinge", (0, 4, 4), "binary"),
        ("lovasz_softmax", (0, 4, 4, K), "labels"),
        ("lovasz_softmax", (0, 4, 4, K), "float"),
        ("dice", (0, 4, 4, K), "multilabel"),
        ("generalized_dice", (0, 4, 4, K), "labels"),
        ("focal_tversky", (0, 4, 4), "binary"),
    ],
)
def test_empty_batch_is_zero_with_zero_gradient(name, shape, target, per_sample):
    """Guards against: the Lovász losses raising ZeroDivisionError on an empty
    batch (reshape(0, -1, ...) cannot infer the pixel count)."""
    fn = CLASS_AXIS.get(name) or ALL[name]
    x = jnp.zeros(shape)
    t = jnp.zeros(shape[:-1], int) if target == "labels" else jnp.zeros(shape)
    kw = {"per_sample": per_sample}
    if target == "multilabel":
        kw["mode"] = "multilabel"
    elif target in ("labels", "float") and name != "lovasz_softmax":
        kw["mode"] = "multiclass"
    for reduction in ("mean", "sum"):
        value, grad = jax.value_and_grad(lambda a, r=reduction: fn(a, t, reduction=r, **kw))(x)
        assert value.shape == () and float(value) == 0.0
        assert grad.shape == shape and np.all(grad == 0)
    if per_sample:
        assert fn(x, t, reduction="none", **kw).shape == (0,)
