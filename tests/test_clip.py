"""CLIP and SumLip (sklip.regularizers._clip, ._pairs): the persistent pair
search, the penalties, and their effect."""

import pytest
import torch
from torch import nn

from sklip import LipschitzRegressor
from sklip.functional import difference_quotients
from sklip.lipschitz import lipschitz_exact_1d
from sklip.regularizers import (CLIPRegularizer, PairSearch,
                                SumLipRegularizer, TrainingContext)


def _net(seed=0, d=5):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 32), nn.Tanh(), nn.Linear(32, 3))


def test_pair_search_persists_and_reseeds():
    net = _net()
    X = torch.randn(64, 5)
    search = PairSearch(8, n_iter=2, reset_every=3)
    search.update(net, X)
    first_u = search.u.clone()
    search.update(net, X)
    assert search.n_updates == 2
    # Persisting pairs move a little from where they were; they are not new.
    assert float((search.u - first_u).norm(dim=1).max()) < 1.0
    search.update(net, X)
    search.update(net, torch.randn(64, 5) + 100)  # due: reseeded from new data
    assert search.n_updates == 1
    assert float(search.u.mean()) > 50


_CONTEXT = TrainingContext()


@pytest.mark.parametrize("step_rule", ["sign", "accept"])
def test_clip_penalty_is_the_largest_squared_quotient(step_rule):
    net = _net()
    X = torch.randn(16, 5)
    reg = CLIPRegularizer(n_pairs=10, n_iter=2 if step_rule == "accept"
                          else 1, step_rule=step_rule)
    reg.reset()
    reg.terms(net, X, None, _CONTEXT)  # seeds the pairs
    before = reg.search_.pairs.clone()
    y_pred, penalty = reg.terms(net, X, None, _CONTEXT)
    torch.testing.assert_close(y_pred, net(X))
    if step_rule == "accept":
        # The pairs climb first; the penalty takes the best of the result.
        q = difference_quotients(net, reg.search_.u, reg.search_.v)
    else:
        # The sign rule's one gradient evaluation also gives the quotients:
        # the penalty takes the best of the pairs as they were, and then
        # they climb.
        q = difference_quotients(net, before[:10], before[10:])
        assert not torch.allclose(reg.search_.pairs, before)
    torch.testing.assert_close(penalty, q.max().square())
    penalty.backward()  # in the graph: it trains the weights
    assert net[0].weight.grad is not None


@pytest.mark.parametrize("step_rule", ["sign", "accept"])
def test_sumlip_penalty_is_the_mean_quotient(step_rule):
    net = _net()
    X = torch.randn(16, 5)
    reg = SumLipRegularizer(n_pairs=10, step_rule=step_rule)
    reg.reset()
    _, penalty = reg.terms(net, X, None, _CONTEXT)
    q = difference_quotients(net, reg.search_.u, reg.search_.v)
    torch.testing.assert_close(penalty, q.mean())


def test_sumlip_sign_rule_climbs_along_the_penalty_gradient():
    """The training backward pass is the ascent's gradient evaluation."""
    net = _net()
    X = torch.randn(16, 5)
    reg = SumLipRegularizer(n_pairs=10, step_size=0.01)
    reg.reset()
    _, penalty = reg.terms(net, X, None, _CONTEXT)
    before = reg.search_.pairs.clone()
    q_before = difference_quotients(net, reg.search_.u, reg.search_.v)
    # Without a backward pass there is no gradient, and no step.
    reg.terms(net, X, None, _CONTEXT)
    torch.testing.assert_close(reg.search_.pairs, before)
    _, penalty = reg.terms(net, X, None, _CONTEXT)
    penalty.backward()
    reg.terms(net, X, None, _CONTEXT)
    moved = reg.search_.pairs - before
    # Every pair moved by its step size (the joint length of both points)
    # and, the weights being unchanged, uphill.
    lengths = moved.view(2, 10, -1).square().sum((0, 2)).sqrt()
    torch.testing.assert_close(lengths, torch.full((10,), 0.01))
    q_after = difference_quotients(net, reg.search_.u, reg.search_.v)
    assert torch.all(q_after > q_before)


class _CountingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = _net()
        self.calls = 0

    def forward(self, X):
        self.calls += 1
        return self.net(X)


@pytest.mark.parametrize("regularizer, step_rule, passes", [
    # the penalty's forward pass, plus per training step:
    (SumLipRegularizer, "sign", 1),   # nothing: the backward pass climbs
    (CLIPRegularizer, "sign", 2),     # one gradient evaluation of the pairs
    (SumLipRegularizer, "accept", 3),  # and one more to judge the step
    (CLIPRegularizer, "accept", 3),
])
def test_forward_passes_per_training_step(regularizer, step_rule, passes):
    net = _CountingNet()
    reg = regularizer(n_pairs=8, step_rule=step_rule)
    reg.reset()
    X = torch.randn(16, 5)
    for _ in range(3):
        _, penalty = reg.terms(net, X, None, _CONTEXT)
        penalty.backward()
    net.calls = 0
    reg.terms(net, X, None, _CONTEXT)
    assert net.calls == passes


def test_sign_rule_grows_steps_while_climbing_and_shrinks_after_a_ridge():
    search = PairSearch(2, step_size=0.1, step_factor=2.0)
    search.seed(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    up = torch.ones_like(search.pairs)
    search.climb(up)            # first step: nothing to compare with
    torch.testing.assert_close(search.step_sizes, torch.full((2,), 0.1))
    search.climb(up)            # same direction: still climbing
    torch.testing.assert_close(search.step_sizes, torch.full((2,), 0.2))
    back = up.clone()
    back[[0, 2]] = -1           # pair 0 turns back, pair 1 goes on
    search.climb(back)
    torch.testing.assert_close(search.step_sizes, torch.tensor([0.1, 0.4]))


def test_reg_max_leaves_a_huge_term_out():
    net = _net()
    X = torch.randn(16, 5)
    reg = CLIPRegularizer(n_pairs=10, reg_max=1e-8)
    reg.reset()
    _, penalty = reg.terms(net, X, None, _CONTEXT)
    assert float(penalty) == 0.0


@pytest.fixture(scope="module")
def polynomial_fits(polynomial_data):
    X, y = polynomial_data
    common = dict(hidden_layer_sizes=(64, 64), max_epochs=300, lr=0.01,
                  batch_size=32, random_state=0)
    plain = LipschitzRegressor(regularizer="none", **common).fit(X, y)
    clipped = LipschitzRegressor(regularizer="clip", reg_lambda=0.01,
                                 **common).fit(X, y)
    return X, y, plain, clipped


def test_clip_flattens_the_polynomial_fit_while_fitting_it(polynomial_fits):
    """The slides' Figure 7: same network, same data, with and without CLIP.

    Measured with ``random_state`` 0 and 1: the true Lipschitz constant
    (largest |f'| on [-3, 3]) falls from about 1.48 to about 0.82 while R²
    stays above 0.9.
    """
    X, y, plain, clipped = polynomial_fits
    lip_plain = lipschitz_exact_1d(plain, -3, 3)
    lip_clip = lipschitz_exact_1d(clipped, -3, 3)
    assert plain.score(X, y) > 0.95
    assert clipped.score(X, y) > 0.85
    assert lip_clip < 0.75 * lip_plain
    # The history's per-epoch estimate is a lower bound of the true value.
    assert clipped.history[-1, "lipschitz"] <= lip_clip * 1.01


