"""sklip.functional: difference quotients, their gradient ascent, pair
seeding and the projections, checked against closed forms."""

import numpy as np
import pytest
import torch
from torch import nn

from sklip.functional import (ascend_pairs, climb_pairs, difference_quotients,
                              keep_apart, seed_pairs)
from sklip.functional._quotients import _value_and_grad


def _net(seed=0, d=5):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 32), nn.Tanh(), nn.Linear(32, 3))

def test_difference_quotient_of_a_linear_map_is_bounded_by_its_norm():
    lin = nn.Linear(5, 3)
    u, v = torch.randn(100, 5), torch.randn(100, 5)
    q = difference_quotients(lin, u, v)
    expected = (lin(u) - lin(v)).norm(dim=1) / (u - v).norm(dim=1)
    torch.testing.assert_close(q, expected)
    assert float(q.max()) <= float(torch.linalg.matrix_norm(lin.weight, 2)) + 1e-5



def test_ascent_raises_quotients_and_adapts_step_sizes():
    net = _net()
    u, v = seed_pairs(torch.randn(64, 5), 32, "plain")
    q0 = difference_quotients(net, u, v).detach()
    steps = torch.full((32,), 0.05)
    new_u, new_v, q, new_steps = ascend_pairs(net, u, v, steps, n_iter=20)
    assert torch.all(q >= q0 - 1e-6)  # failed steps are undone
    assert float(q.mean()) > float(q0.mean()) * 1.05
    torch.testing.assert_close(q, difference_quotients(net, new_u, new_v).detach())
    # Each step size is 0.05 times a power of 1.3 (grown or shrunk).
    powers = torch.log(new_steps / 0.05) / np.log(1.3)
    torch.testing.assert_close(powers, powers.round(), atol=1e-3, rtol=0)
    assert not torch.allclose(new_steps, steps)
    # The weights got no gradient from the search.
    assert all(p.grad is None for p in net.parameters())



def test_a_failed_step_is_undone_and_shrinks_the_step():
    net = nn.Linear(2, 1)  # constant quotient along most directions
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0]]))
    # The pair is already aligned with the weight: q = 1 is the maximum, so
    # every ascent step fails.
    u, v = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    new_u, new_v, q, steps = ascend_pairs(net, u, v, torch.tensor([0.5]),
                                          n_iter=3)
    torch.testing.assert_close(q, torch.tensor([1.0]))
    torch.testing.assert_close(steps, torch.tensor([0.5 / 1.3 ** 3]))
    torch.testing.assert_close(new_u, u)



@pytest.mark.parametrize("init", ["plain", "partial_random", "noise"])
def test_seeding_modes(init):
    X = torch.rand(50, 4) * 3 + 1
    u, v = seed_pairs(X, 20, init)
    assert u.shape == v.shape == (20, 4)
    assert torch.all((u - v).norm(dim=1) > 0)
    rows = {tuple(r) for r in X.tolist()}
    if init == "plain":
        assert all(tuple(r) in rows for r in u.tolist() + v.tolist())
    elif init == "partial_random":
        assert all(tuple(r) in rows for r in u.tolist())
        assert float((u - v).norm(dim=1).max()) < 2.0
    else:
        assert not any(tuple(r) in rows for r in u.tolist())



def test_keep_apart_projection():
    u, v = torch.zeros(3, 2), torch.tensor([[1e-9, 0], [0.5, 0], [0, 1e-5]])
    pu, pv = keep_apart(0.1)(u, v)
    distances = (pu - pv).norm(dim=1)
    torch.testing.assert_close(distances, torch.tensor([0.1, 0.5, 0.1]))
    torch.testing.assert_close((pu + pv) / 2, (u + v) / 2)



def test_pair_gradient_is_a_positive_multiple_of_the_quotient_gradient():
    net = _net().double()
    u, v = torch.randn(6, 5, dtype=torch.float64), torch.randn(
        6, 5, dtype=torch.float64)
    q2, grad = _value_and_grad(net, torch.cat([u, v]), 6)
    pairs = torch.cat([u, v]).requires_grad_(True)
    q = difference_quotients(net, pairs[:6], pairs[6:])
    exact, = torch.autograd.grad(q.square().sum(), pairs)
    torch.testing.assert_close(q2, q.detach().square())
    # Scaled per pair by ||u - v||² / 2: the same direction.
    scale = ((u - v).square().sum(1) / 2).repeat(2)[:, None]
    torch.testing.assert_close(grad, scale * exact)



class _Sine(nn.Module):
    def forward(self, X):
        return torch.sin(3 * X)



def test_fixed_step_climb_keeps_every_step():
    # A step far too long for the oscillating f lowers q: ascend_pairs
    # undoes it, climb_pairs (pTV's fixed-step ascent) keeps it.
    u, v = torch.tensor([[0.0]]), torch.tensor([[0.1]])
    step = torch.tensor([5.0])
    q0 = difference_quotients(_Sine(), u, v)
    climbed_u, climbed_v = climb_pairs(_Sine(), u, v, step, n_iter=1)
    moved = torch.cat([climbed_u - u, climbed_v - v], dim=1).norm()
    assert float(moved) == pytest.approx(5.0, rel=1e-4)  # joint step length
    assert float(difference_quotients(_Sine(), climbed_u, climbed_v)) < float(q0)
    kept_u, kept_v, _, _ = ascend_pairs(_Sine(), u, v, step, n_iter=1)
    torch.testing.assert_close(kept_u, u)
    torch.testing.assert_close(kept_v, v)
