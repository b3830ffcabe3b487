"""Tests of sklip.lipschitz.certify: the product, pairwise and local bounds
are sound, nested, and the tightest applicable one is taken by default."""

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from sklip.attacks import WorstCaseAttack
from sklip.lipschitz import (Certificate, certified_accuracy, certify,
                             lipschitz_upper_bound)
from sklip.lipschitz._chain_plan import final_linear, local_plan
from sklip.lipschitz._margin_bounds import (local_constants,
                                            local_lower_constants,
                                            masked_norm_lower_bounds,
                                            masked_spectral_norms,
                                            pairwise_constants)
from sklip.modules import MLP, OneLipschitzMLP

BOUNDS = ["product", "pairwise", "local"]


def _own_labels(net, X):
    """The network's own predictions: every point is then correct, so the
    certificates differ only by their bounds."""
    with torch.no_grad():
        return net(torch.as_tensor(X)).argmax(1).numpy()


# ----------------------------------------------------------------------
# Hand-computed
# ----------------------------------------------------------------------
def test_pairwise_hand_computed():
    # Rows w0 = (1, 0), w1 = (0, 1), w2 = (0, 3): ||w0 - w1|| = √2,
    # ||w0 - w2|| = ||w2 - w0|| = √10, ||w2 - w1|| = 2 and ||W||₂ = √10.
    net = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 3.0]]))
    # Logits (2, 0, 0): radius min(2/√2, 2/√10) = 0.632.
    # Logits (0, 1, 3): radius min(3/√10, 2/2) = 0.949, set by the rival
    # with the larger margin. Logits (1, 1, 3) with label 1: wrong.
    X = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = [0, 2, 1]
    radii = [0.0, 0.6, 0.64, 0.94, 0.95]
    pairwise = certify(net, X, y, radii, bound="pairwise")
    assert pairwise.bound == "pairwise"
    np.testing.assert_array_equal(pairwise.certified, [
        [True, True, False, False, False],
        [True, True, True, True, False],
        [False] * 5])
    np.testing.assert_allclose(pairwise.accuracy, [2 / 3, 2 / 3, 1 / 3,
                                                   1 / 3, 0.0])
    # The product rule: both smallest margins are 2, radius 2/(√2·√10).
    product = certify(net, X, y, [0.44, 0.45], bound="product")
    np.testing.assert_array_equal(product.certified[:, 0], [True, True,
                                                            False])
    assert not product.certified[:, 1].any()
    assert 2 / math.sqrt(20) == pytest.approx(0.4472, abs=1e-4)
    # A single linear layer has nothing to switch off: local = pairwise.
    local = certify(net, X, y, radii, bound="local")
    np.testing.assert_array_equal(local.certified, pairwise.certified)
    assert certify(net, X, y, radii).bound == "local"


@pytest.mark.parametrize("n_out, n_in, all_inputs", [
    (7, 12, False), (12, 7, False), (7, 12, True)])
def test_masked_spectral_norm_is_exact(n_out, n_in, all_inputs):
    # Both sides of the Gram matrix, and the shortcut for all-live inputs.
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(n_out, n_in, generator=generator,
                         dtype=torch.float64)
    out_live = torch.rand(5, n_out, generator=generator) > 0.4
    in_live = torch.rand(5, n_in, generator=generator) > 0.3
    out_live[1] = False
    if all_inputs:
        in_live[:] = True
    norms = masked_spectral_norms(weight, out_live, in_live)
    for i in range(5):
        masked = weight * out_live[i, :, None] * in_live[i, None, :]
        exact = float(torch.linalg.matrix_norm(masked, ord=2))
        # Rounded up, by no more than the safety margin.
        assert exact <= float(norms[i]) <= exact * (1 + 1e-8) + 1e-11
    assert float(norms[1]) < 1e-11


# ----------------------------------------------------------------------
# Soundness against exact constants of one-input networks
# ----------------------------------------------------------------------
def _one_input_nets():
    torch.manual_seed(0)
    mlp = MLP(1, 3, hidden_layer_sizes=(16, 16))
    torch.manual_seed(1)
    # A ReLU on the input, a linear layer without ReLU, two ReLUs in a row.
    odd = nn.Sequential(nn.ReLU(), nn.Linear(1, 12), nn.Dropout(),
                        nn.ReLU(), nn.Linear(12, 12), nn.Linear(12, 12),
                        nn.ReLU(), nn.ReLU(), nn.Identity(), nn.Linear(12, 3))
    return [mlp, odd]


def _margin_slopes(net, grid):
    """|Δ(f_y - f_j)| / Δx between neighbouring grid points, float64, shape
    (n_cells, n_classes, n_classes)."""
    net64 = copy.deepcopy(net).double().eval()
    with torch.no_grad():
        logits = net64(torch.as_tensor(grid, dtype=torch.float64)
                       .view(-1, 1))
    margins = logits[:, :, None] - logits[:, None, :]
    return (margins.diff(dim=0).abs() / float(grid[1] - grid[0])).numpy()


@pytest.mark.parametrize("index", [0, 1])
def test_pairwise_bounds_every_margin_slope(index):
    net = _one_input_nets()[index].eval()
    grid = np.linspace(-20.0, 20.0, 200_001)  # holds every kink
    exact = _margin_slopes(net, grid).max(axis=0)
    sample = torch.zeros(1, 1)
    pairwise = pairwise_constants(*final_linear(net, sample)).numpy()
    off_diagonal = ~np.eye(3, dtype=bool)
    assert np.all(exact <= pairwise * (1 + 1e-6))
    # Tighter than the product rule's √2·L for some pair.
    product = math.sqrt(2) * lipschitz_upper_bound(net)
    assert pairwise[off_diagonal].min() < product * (1 - 1e-3)
    assert exact[off_diagonal].min() > 0


@pytest.mark.parametrize("index", [0, 1])
def test_local_bounds_slopes_within_the_ball(index):
    net = _one_input_nets()[index].eval()
    centres = np.linspace(-3.0, 3.0, 13)
    steps = local_plan(net, torch.zeros(1, 1))
    pairwise = pairwise_constants(*final_linear(net, torch.zeros(1, 1)))
    tighter = 0
    for radius in [0.05, 0.5, 3.0]:
        for y in range(3):
            local = local_constants(
                steps, torch.as_tensor(centres, dtype=torch.float64)
                .view(-1, 1), torch.full((13,), y), radius).numpy()
            for i, centre in enumerate(centres):
                grid = np.linspace(centre - radius, centre + radius, 4001)
                slopes = _margin_slopes(net, grid).max(axis=0)[y]
                # Rounding noise of the quotients of a constant margin aside.
                assert np.all(slopes <= local[i] * (1 + 1e-6) + 1e-8)
            assert np.all(local <= pairwise[y].numpy() * (1 + 1e-8) + 1e-9)
            tighter += int((local < 0.9 * pairwise[y].numpy()).sum())
    assert tighter > 0  # the local bound switches neurons off somewhere


@pytest.mark.parametrize("bound", BOUNDS)
def test_certified_one_input_points_keep_their_class_on_the_ball(bound):
    net = _one_input_nets()[0].eval()
    centres = np.linspace(-3.0, 3.0, 61, dtype=np.float32).reshape(-1, 1)
    y = _own_labels(net, centres)
    radii = [0.05, 0.2, 0.5]
    cert = certify(net, centres, y, radii, bound=bound)
    assert cert.bound == bound and cert.certified.any()
    net64 = copy.deepcopy(net).double()
    for k, radius in enumerate(radii):
        for i in np.flatnonzero(cert.certified[:, k]):
            grid = np.linspace(centres[i, 0] - radius,
                               centres[i, 0] + radius, 2001)
            with torch.no_grad():
                predicted = net64(torch.as_tensor(
                    grid, dtype=torch.float64).view(-1, 1)).argmax(1)
            assert bool((predicted == int(y[i])).all())


# ----------------------------------------------------------------------
# Ordering on a trained classifier, and attacks
# ----------------------------------------------------------------------
def test_product_within_pairwise_within_local(digits_clf, digits):
    _, X, _, y = digits
    X, y = X[:200], y[:200]
    radii = np.linspace(0.0, 0.6, 7)
    certs = {bound: certify(digits_clf, X, y, radii, bound=bound)
             for bound in BOUNDS}
    product, pairwise, local = (certs[b].certified for b in BOUNDS)
    assert np.all(pairwise | ~product) and np.all(local | ~pairwise)
    # Strictly tighter somewhere; all equal the clean accuracy at eps = 0.
    assert certs["pairwise"].accuracy[3] > certs["product"].accuracy[3]
    assert certs["local"].accuracy.sum() > certs["pairwise"].accuracy.sum()
    clean = np.mean(digits_clf.predict(X) == y)
    for cert in certs.values():
        assert cert.accuracy[0] == pytest.approx(clean)
        assert np.all(cert.certified[:, 1:] <= cert.certified[:, :-1])
    auto = certify(digits_clf, X, y, radii)
    assert auto.bound == "local"
    np.testing.assert_array_equal(auto.certified, local)
    np.testing.assert_allclose(certified_accuracy(digits_clf, X, y, radii),
                               certs["local"].accuracy)
    scalar = certified_accuracy(digits_clf, X, y, 0.2, bound="pairwise")
    assert isinstance(scalar, float)
    assert scalar == pytest.approx(certs["pairwise"].accuracy[2])


def test_screened_local_certificate_equals_the_exact_one(digits_clf,
                                                         digits):
    # certify computes exact local constants only for the points that the
    # pairwise bound and a cheap lower bound leave undecided; the result
    # must be the one of exact constants for every point.
    _, X, _, y = digits
    module = digits_clf.module_
    X_t = torch.as_tensor(X)
    labels = torch.as_tensor(np.searchsorted(digits_clf.classes_, y))
    radii = np.array([0.05, 0.2, 0.4, 0.8])
    with torch.no_grad():
        logits = module(X_t).double()
        true = logits.gather(1, labels[:, None])
        gaps = (true - logits).scatter(1, labels[:, None], math.inf)
        steps = local_plan(module, X_t)
        pairwise = pairwise_constants(*final_linear(module, X_t))[labels]
        flat = X_t.double()
        exact, lower = {}, {}
        for r in radii:
            exact[r] = local_constants(steps, flat, labels, r)
            lower[r] = local_lower_constants(steps, flat, labels, r)
    expected = np.stack([(gaps > r * torch.minimum(exact[r], pairwise))
                         .all(1).numpy() for r in radii], axis=1)
    cert = certify(digits_clf, X, y, radii, bound="local")
    np.testing.assert_array_equal(cert.certified, expected)
    # The screen must decide something for the test to mean anything: some
    # correct points, not certified by the pairwise bound, are refused by
    # the lower bound alone.
    refused_early = [
        ((gaps > 0).all(1) & ~(gaps > r * pairwise).all(1)
         & ~(gaps > r * torch.minimum(lower[r], pairwise)).all(1)).sum()
        for r in radii]
    assert sum(int(n) for n in refused_early) > 50
    for r in radii:
        assert torch.all(lower[r] <= exact[r])
        # ...and the lower bound is close enough to be useful.
        assert torch.median(lower[r] / exact[r]) > 0.5


def test_masked_norm_lower_bounds_are_below_and_close_to_exact():
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(30, 50, generator=generator, dtype=torch.float64)
    out_live = torch.rand(40, 30, generator=generator) > 0.3
    in_live = torch.rand(40, 50, generator=generator) > 0.3
    out_live[0] = False  # no live neuron: the bound is 0
    lower = masked_norm_lower_bounds(weight, out_live, in_live)
    exact = masked_spectral_norms(weight, out_live, in_live)
    assert lower[0] == 0
    assert torch.all(lower <= exact)
    assert torch.all(lower[1:] >= 0.9 * exact[1:])


@pytest.mark.parametrize("bound", ["local", "pairwise"])
def test_no_certified_point_is_broken_by_the_worst_case_attack(
        digits_clf, digits, bound):
    _, X, _, y = digits
    X, y = X[:80], y[:80]
    # A radius where both certified and uncertified correct points exist.
    grid = np.linspace(0.05, 1.0, 20)
    shares = certify(digits_clf, X, y, grid, bound=bound).accuracy
    eps = float(grid[np.argmin(np.abs(shares - 0.5))])
    certified = certify(digits_clf, X, y, eps, bound=bound).certified[:, 0]
    assert 0.2 < certified.mean() < 0.8
    attack = WorstCaseAttack(eps, norm=2, n_iter=30, n_queries=300,
                             random_state=0)
    X_adv = attack.generate(digits_clf, X, y)
    assert np.linalg.norm(X_adv - X, axis=1).max() <= eps * (1 + 1e-5)
    robust = digits_clf.predict(X_adv) == y
    assert np.all(robust[certified])
    assert not robust.all()  # the attack is strong enough to matter


# ----------------------------------------------------------------------
# Networks the local bound does not cover
# ----------------------------------------------------------------------
def test_pairwise_on_a_conv_net(digits):
    _, X, _, _ = digits
    X = X[:100].reshape(-1, 1, 8, 8)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                        nn.Flatten(), nn.Linear(4 * 64, 10))
    y = _own_labels(net, X)
    radii = np.linspace(0.0, 0.05, 6)
    auto = certify(net, X, y, radii)
    product = certify(net, X, y, radii, bound="product")
    assert auto.bound == "pairwise"
    assert np.all(auto.certified | ~product.certified)
    assert auto.accuracy.sum() > product.accuracy.sum()
    with pytest.raises(TypeError, match=r"'Sequential.0' is Conv2d"):
        certify(net, X, y, 0.1, bound="local")


def test_one_lipschitz_mlp_gets_pairwise():
    torch.manual_seed(0)
    net = OneLipschitzMLP(6, 4, hidden_layer_sizes=(16, 16))
    X = np.random.default_rng(0).standard_normal((200, 6)).astype(np.float32)
    y = _own_labels(net, X)
    radii = np.linspace(0.0, 0.2, 5)
    auto = certify(net, X, y, radii)
    product = certify(net, X, y, radii, bound="product")
    assert auto.bound == "pairwise"  # GroupSort is not a ReLU
    assert np.all(auto.certified | ~product.certified)
    assert np.all(auto.accuracy >= product.accuracy)
    assert auto.accuracy[1:].sum() > product.accuracy[1:].sum()


def test_dropout_and_identity_layers_are_transparent():
    torch.manual_seed(0)
    plain = MLP(5, 3, hidden_layer_sizes=(8, 8))
    layers = list(plain.layers)
    padded = nn.Sequential(layers[0], nn.Sequential(layers[1], nn.Dropout(),
                                                    layers[2]),
                           nn.Identity(), *layers[3:], nn.Dropout())
    padded.train()
    X = np.random.default_rng(0).standard_normal((50, 5)).astype(np.float32)
    y = _own_labels(plain, X)
    radii = [0.0, 0.1, 0.3]
    expected = certify(plain, X, y, radii, bound="local").certified
    cert = certify(padded, X, y, radii)
    assert cert.bound == "local"
    np.testing.assert_array_equal(cert.certified, expected)
    assert padded.training


# ----------------------------------------------------------------------
# API and errors
# ----------------------------------------------------------------------
def test_certificate_is_frozen_and_lipschitz_means_product():
    net = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.eye(2))
    X, y = torch.tensor([[1.0, 0.0], [0.0, 3.0]]), [0, 1]
    cert = certify(net, X, y, 0.5, lipschitz=2.0)
    assert isinstance(cert, Certificate) and cert.bound == "product"
    # Margins 1 and 3 against √2·2·0.5 = 1.41.
    np.testing.assert_array_equal(cert.certified, [[False], [True]])
    assert cert.eps.shape == (1,) and cert.accuracy.shape == (1,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cert.bound = "local"
    with pytest.raises(ValueError, match="read-only"):
        cert.certified[0, 0] = True


@pytest.mark.parametrize("kwargs, error, match", [
    ({"bound": "tight"}, ValueError,
     r"bound must be one of \['auto', 'local', 'pairwise', 'product'\], "
     "got 'tight'"),
    # The bound is checked before anything else, even a bad eps.
    ({"bound": None, "eps": -1.0}, ValueError, "bound must be one of"),
    ({"bound": "local", "lipschitz": 1.0}, ValueError,
     "bound='local'"),
    ({"bound": "pairwise", "lipschitz": 1.0}, ValueError, "lipschitz"),
    ({"bound": "local"}, TypeError, r"'MLP.layers.2' is Tanh"),
    ({"bound": "local", "net": "relu_last"}, TypeError,
     "not followed by a ReLU"),
    ({"bound": "pairwise", "net": "relu_last"}, TypeError,
     r"last layer is linear.*'Sequential.1' is ReLU"),
    ({"bound": "local", "net": "image_linear"}, TypeError,
     r"flat inputs.*\(3, 4\)"),
])
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    torch.manual_seed(0)
    nets = {"tanh": MLP(4, 3, hidden_layer_sizes=(5,), activation="tanh"),
            "relu_last": nn.Sequential(nn.Linear(4, 3), nn.ReLU()),
            "image_linear": nn.Sequential(nn.Unflatten(1, (3, 4)),
                                          nn.Linear(4, 3), nn.Flatten())}
    kwargs = dict(kwargs)
    net = nets[kwargs.pop("net", "tanh")]
    eps = kwargs.pop("eps", 0.1)
    X = np.random.default_rng(0).standard_normal((6, 12 if net is
                                                  nets["image_linear"] else 4))
    with pytest.raises(error, match=match):
        certify(net, X.astype(np.float32), [0, 1, 2, 0, 1, 2], eps, **kwargs)


def test_auto_falls_back_to_product_for_other_chains():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.Tanh())
    X = np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32)
    y = _own_labels(net, X)
    cert = certify(net, X, y, [0.0, 0.1])
    assert cert.bound == "product"
    np.testing.assert_array_equal(
        cert.accuracy, certified_accuracy(net, X, y, [0.0, 0.1],
                                          lipschitz=lipschitz_upper_bound(
                                              net)))


class _Doubler(nn.Module):
    def forward(self, x):
        return 2 * x


def test_unsupported_layer_needs_lipschitz():
    # No bound can be computed through a custom module; a given L still
    # certifies with the product rule.
    net = nn.Sequential(nn.Linear(2, 2), _Doubler())
    X = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    for bound in ["auto", "local", "pairwise", "product"]:
        with pytest.raises(TypeError, match=r"'Sequential.1' of type "
                                             "_Doubler"):
            certify(net, X, [0, 1], 0.1, bound=bound)
    assert certify(net, X, [0, 1], 0.1, lipschitz=1.0).bound == "product"
