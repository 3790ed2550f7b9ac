"""Box-regression losses against torchvision 0.29's formulas (transcribed in torch
float64, CIoU's alpha under no_grad as torchvision has it), and the degenerate
boxes torchvision gives NaN gradients for."""

from __future__ import annotations

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from helpers import assert_close

import jaxloss

LOSSES = {
    "iou": jaxloss.box_iou_loss,
    "giou": jaxloss.generalized_box_iou_loss,
    "diou": jaxloss.distance_box_iou_loss,
    "ciou": jaxloss.complete_box_iou_loss,
}


def torchvision_reference(kind, boxes1, boxes2, eps=1e-7):
    """torchvision.ops.{generalized,distance,complete}_box_iou_loss, reduction 'none'."""
    x1, y1, x2, y2 = boxes1.unbind(-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(-1)
    xkis1, ykis1 = torch.max(x1, x1g), torch.max(y1, y1g)
    xkis2, ykis2 = torch.min(x2, x2g), torch.min(y2, y2g)
    inter = torch.zeros_like(x1)
    overlap = (ykis2 > ykis1) & (xkis2 > xkis1)
    inter[overlap] = (xkis2[overlap] - xkis1[overlap]) * (ykis2[overlap] - ykis1[overlap])
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    iou = inter / (union + eps)
    if kind == "iou":
        return 1 - iou
    xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
    xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
    if kind == "giou":
        area_c = (xc2 - xc1) * (yc2 - yc1)
        return 1 - (iou - (area_c - union) / (area_c + eps))
    diag = (xc2 - xc1) ** 2 + (yc2 - yc1) ** 2 + eps
    centers = ((x2 + x1) / 2 - (x1g + x2g) / 2) ** 2 + ((y2 + y1) / 2 - (y1g + y2g) / 2) ** 2
    diou = 1 - iou + centers / diag
    if kind == "diou":
        return diou
    v = (4 / math.pi**2) * (
        torch.atan((x2g - x1g) / (y2g - y1g)) - torch.atan((x2 - x1) / (y2 - y1))
    ) ** 2
    with torch.no_grad():
        alpha = v / (1 - iou + v + eps)
    return diou + alpha * v


def _boxes(rng, shape):
    corner = rng.uniform(0, 10, (*shape, 2))
    size = rng.uniform(0.2, 5, (*shape, 2))
    target = np.concatenate([corner, corner + size], -1)
    pred = target + rng.normal(0, 1.5, (*shape, 4))
    pred = np.concatenate(
        [np.minimum(pred[..., :2], pred[..., 2:]), np.maximum(pred[..., :2], pred[..., 2:])], -1
    )
    return pred, target


@pytest.mark.parametrize("shape", [(16,), (3, 5), ()])
@pytest.mark.parametrize("reduction", ("mean", "sum", "none"))
@pytest.mark.parametrize("kind", LOSSES)
def test_matches_torchvision_formulas(kind, reduction, shape):
    rng = np.random.default_rng(len(shape))
    pred, target = _boxes(rng, shape)
    p, t = torch.tensor(pred, requires_grad=True), torch.tensor(target, requires_grad=True)
    expected = torchvision_reference(kind, p, t)
    expected = {"mean": expected.mean(), "sum": expected.sum(), "none": expected}[reduction]
    expected.sum().backward()

    def f(a, b):
        return LOSSES[kind](a, b, reduction=reduction)

    value = jax.jit(f)(pred, target)
    grads = jax.jit(jax.grad(lambda a, b: jnp.sum(f(a, b)), argnums=(0, 1)))(pred, target)
    assert_close(value, expected.detach().numpy(), rtol=1e-5)
    assert p.grad is not None and t.grad is not None
    assert_close(grads, (p.grad.numpy(), t.grad.numpy()), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("kind", LOSSES)
def test_identical_boxes_cost_nothing(kind):
    boxes = jnp.array([[0.0, 0.0, 1.0, 1.0], [3.0, 4.0, 10.0, 5.0]])
    assert float(LOSSES[kind](boxes, boxes)) < 1e-6


@pytest.mark.parametrize("kind", LOSSES)
def test_degenerate_boxes_stay_finite(kind):
    pred = jnp.array(
        [
            [5.0, 5.0, 5.0, 5.0],  # a point
            [2.0, 3.0, 9.0, 3.0],  # zero height: torchvision's CIoU gradient is NaN here
            [2.0, 3.0, 2.0, 9.0],  # zero width
            [5.0, 5.0, 5.0, 5.0],
        ]
    )
    target = jnp.array(
        [
            [0.0, 0.0, 1.0, 1.0],
            [2.0, 2.0, 9.0, 4.0],
            [1.0, 3.0, 3.0, 9.0],
            [5.0, 5.0, 5.0, 5.0],
        ]
    )
    value, grads = jax.value_and_grad(lambda a, b: LOSSES[kind](a, b), argnums=(0, 1))(pred, target)
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads)
    per_box = LOSSES[kind](pred, target, reduction="none")
    assert np.all(np.isfinite(per_box))


INVALID = {
    "inverted x": [4.0, 0.0, 1.0, 2.0],
    "inverted y": [0.0, 4.0, 2.0, 1.0],
    "NaN": [0.0, 0.0, jnp.nan, 2.0],
    "infinite": [0.0, 0.0, jnp.inf, 2.0],
}


@pytest.mark.parametrize("box", INVALID)
@pytest.mark.parametrize("kind", LOSSES)
def test_invalid_boxes_give_nan_for_their_pair_only(kind, box):
    """Guards against the finite but meaningless loss an inverted box got from
    its negative width (IoU 0: 1.0 for box_iou_loss) and the finite loss of a
    box with an infinite side: the pair's loss is NaN now, in either argument;
    the other pairs keep torchvision's values and finite gradients."""
    rng = np.random.default_rng(5)
    pred, target = _boxes(rng, (3,))
    bad = np.array(INVALID[box])
    expected = torchvision_reference(kind, torch.tensor(pred), torch.tensor(target)).numpy()
    for which in (0, 1):
        args = [pred.copy(), target.copy()]
        args[which][1] = bad
        got = np.asarray(LOSSES[kind](*args, reduction="none"))
        assert np.isnan(got[1])
        assert_close(got[[0, 2]], expected[[0, 2]], rtol=1e-5)
        assert np.isnan(float(LOSSES[kind](*args)))
        # masked out, the invalid box may hold anything: value and gradient finite
        value, grads = jax.value_and_grad(
            lambda a, b: LOSSES[kind](a, b, where=jnp.array([True, False, True])), argnums=(0, 1)
        )(*(jnp.asarray(a) for a in args))
        assert_close(value, np.mean(expected[[0, 2]]), rtol=1e-5)
        assert all(np.all(np.isfinite(g)) for g in grads)


def test_degenerate_aspect_angle_is_atan2():
    """At zero height the aspect angle is pi/2 (atan2), so CIoU equals the torch
    formula's value there, with a finite gradient instead of NaN."""
    pred = np.array([[2.0, 3.0, 9.0, 3.0]])
    target = np.array([[2.0, 2.0, 9.0, 4.0]])
    expected = torchvision_reference("ciou", torch.tensor(pred), torch.tensor(target)).item()
    assert_close(jaxloss.complete_box_iou_loss(jnp.asarray(pred), jnp.asarray(target)), expected)


def test_ciou_gradient_holds_alpha_constant():
    """CIoU's gradient is that of DIoU + alpha * v with alpha frozen (not the
    derivative of the loss): compare with the loss whose alpha is a constant."""
    rng = np.random.default_rng(3)
    pred, target = _boxes(rng, (6,))
    pred, target = jnp.asarray(pred), jnp.asarray(target)
    alpha_v = jaxloss.complete_box_iou_loss(
        pred, target, reduction="none"
    ) - jaxloss.distance_box_iou_loss(pred, target, reduction="none")
    g = jax.grad(lambda a: jnp.sum(jaxloss.complete_box_iou_loss(a, target, reduction="none")))(
        pred
    )

    def frozen(a):
        diou = jaxloss.distance_box_iou_loss(a, target, reduction="none")
        w, h = a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]
        wg, hg = target[:, 2] - target[:, 0], target[:, 3] - target[:, 1]
        v = 4 / math.pi**2 * (jnp.arctan(wg / hg) - jnp.arctan(w / h)) ** 2
        alpha = jax.lax.stop_gradient(alpha_v / v)
        return jnp.sum(diou + alpha * v)

    assert_close(g, jax.grad(frozen)(pred), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("call_", "message"),
    [
        (lambda: jaxloss.box_iou_loss(jnp.zeros((3, 5)), jnp.zeros((3, 5))),
         "jaxloss.box_iou_loss: boxes1 must be [..., 4] boxes (x1, y1, x2, y2); got shape (3, 5)"),
        (lambda: jaxloss.complete_box_iou_loss(jnp.zeros((3, 4)), jnp.zeros((2, 4))),
         "jaxloss.complete_box_iou_loss: boxes2 has shape (2, 4) but boxes1 has shape (3, 4)"),
        (lambda: jaxloss.generalized_box_iou_loss(jnp.zeros(4), jnp.zeros(4), eps=-1.0),
         "jaxloss.generalized_box_iou_loss: eps must be in [0.0, inf]; got -1.0"),
    ],
)  # fmt: skip
def test_errors(call_, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call_()


@pytest.mark.parametrize("kind", LOSSES)
def test_string_eps_raises_naming_eps(kind):
    """A string eps failed inside NumPy's float conversion, naming no loss."""
    fn = LOSSES[kind]
    with pytest.raises(
        TypeError, match=rf"^jaxloss\.{fn.__name__}: eps must be a number; got '1e-7'"
    ):
        fn(jnp.zeros(4), jnp.ones(4), eps="1e-7")  # pyright: ignore[reportArgumentType]


def test_checked_reports_an_inverted_box():
    pred = jnp.array([[0.0, 0.0, 1.0, 1.0], [4.0, 4.0, 1.0, 1.0]])
    with pytest.raises(
        Exception, match=r"boxes1 must be finite boxes with x1 <= x2 and y1 <= y2; got 4.0"
    ):
        jaxloss.checked(jaxloss.generalized_box_iou_loss)(
            pred, jnp.ones((2, 4)) * jnp.array([0, 0, 1, 1])
        )
