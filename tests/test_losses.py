"""Tests of sklip.attacks._losses: the losses the attacks maximise."""

import pytest
import torch

from sklip.attacks import (cross_entropy_loss, dlr_loss, loss_names,
                           margin_loss, squared_error_loss, targeted_loss)
from sklip.attacks._losses import resolve_loss


def _logits(n=50, k=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g) * 3, torch.randint(0, k, (n,),
                                                             generator=g)


def test_margin_is_positive_exactly_when_misclassified():
    z, y = _logits()
    margin = margin_loss(z, y)
    wrong = z.argmax(dim=1) != y
    assert torch.equal(margin > 0, wrong)
    assert torch.all(margin[~wrong] <= 0)


def test_dlr_is_invariant_to_shift_and_scale_and_signs_errors():
    z, y = _logits()
    dlr = dlr_loss(z, y)
    torch.testing.assert_close(dlr_loss(4.0 * z + 7.0, y), dlr)
    # Same sign as the margin; the cross-entropy is not scale invariant.
    assert torch.equal(dlr > 0, margin_loss(z, y) > 0)
    assert not torch.allclose(cross_entropy_loss(4 * z, y),
                              cross_entropy_loss(z, y))


def test_targeted_losses_rise_towards_the_target():
    z, y = _logits()
    target = (y + 1) % 10
    for name in ("ce", "margin"):
        loss = targeted_loss(name, target)
        pushed = z.clone()
        pushed[torch.arange(len(z)), target] += 5.0
        assert torch.all(loss(pushed, y) > loss(z, y)), name
    margin = targeted_loss("margin", target)(z, y)
    assert torch.equal(margin > 0, z.argmax(dim=1) == target)
    # The targeted DLR is positive where the target beats the label.
    rows = torch.arange(len(z))
    dlr = targeted_loss("dlr", target)(z, y)
    assert torch.equal(dlr > 0, z[rows, target] > z[rows, y])


def test_losses_need_enough_classes():
    z, y = _logits(k=3)
    with pytest.raises(ValueError, match="at least 4 classes"):
        targeted_loss("dlr", y)(z, y)
    z2, y2 = _logits(k=2)
    with pytest.raises(ValueError, match="at least 3 classes"):
        dlr_loss(z2, y2 % 2)
    assert margin_loss(z2, y2 % 2).shape == (50,)


def test_resolve_loss_by_task():
    assert resolve_loss(None, True) is cross_entropy_loss
    assert resolve_loss(None, False) is squared_error_loss
    assert resolve_loss("margin", True) is margin_loss
    with pytest.raises(ValueError, match="for regressors"):
        resolve_loss("squared_error", True)
    with pytest.raises(ValueError, match="needs class labels"):
        resolve_loss("dlr", False)
    assert loss_names() == ["ce", "dlr", "margin", "squared_error"]
