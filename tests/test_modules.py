"""Tests of sklip.modules: the default MLP's 1-Lipschitz siblings."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklip import LipschitzClassifier
from sklip.lipschitz import lipschitz_lower_bound, lipschitz_upper_bound
from sklip.modules import AOLLinear, GroupSort, OneLipschitzMLP, \
    SpectralLinear, _Gram


@pytest.mark.parametrize("group_size", [2, 3, 4])
def test_groupsort_sorts_within_groups_and_is_a_permutation(group_size):
    X = torch.randn(5, 12, generator=torch.Generator().manual_seed(0))
    out = GroupSort(group_size)(X)
    groups = out.reshape(5, -1, group_size)
    assert torch.all(groups[..., :-1] >= groups[..., 1:])
    torch.testing.assert_close(groups.sort(-1).values,
                               X.reshape(5, -1, group_size).sort(-1).values)


def test_groupsort_is_1_lipschitz_and_preserves_gradient_norms():
    generator = torch.Generator().manual_seed(1)
    a, b = torch.randn(2, 200, 8, generator=generator)
    layer = GroupSort()
    ratios = (layer(a) - layer(b)).norm(dim=1) / (a - b).norm(dim=1)
    assert float(ratios.max()) <= 1 + 1e-6
    # Its Jacobian is a permutation: a vector keeps its norm (ReLU's does
    # not, which is why 1-Lipschitz networks use GroupSort).
    x = torch.randn(8, generator=generator)
    v = torch.randn(8, generator=generator)
    _, jv = torch.func.jvp(lambda t: layer(t[None])[0], (x,), (v,))
    assert float(jv.norm()) == pytest.approx(float(v.norm()), rel=1e-6)


def test_groupsort_refuses_bad_sizes():
    with pytest.raises(ValueError, match="group_size must be"):
        GroupSort(0)
    with pytest.raises(ValueError, match="divisible by the group size"):
        GroupSort(3)(torch.zeros(2, 4))


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (7, 7)])
def test_aol_layer_has_norm_at_most_one(shape):
    layer = AOLLinear(shape[1], shape[0])
    for seed in range(5):
        with torch.no_grad():
            layer.weight.normal_(generator=torch.Generator().manual_seed(seed))
        weight = layer.normalized_weight().detach().double()
        assert float(torch.linalg.matrix_norm(weight, 2)) <= 1 + 1e-6


def test_aol_layer_keeps_orthogonal_weights():
    layer = AOLLinear(6, 4)
    with torch.no_grad():
        layer.weight.copy_(torch.linalg.qr(torch.randn(6, 4)).Q.T)
    torch.testing.assert_close(layer.normalized_weight(), layer.weight)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3)])
def test_aol_gram_backward_matches_autograd(shape):
    # The Gram matrix's one-product backward must give the gradient (and
    # the second derivative, for penalties that differentiate the
    # gradient) of the plain two-operand product, on both Gram sides.
    layer = AOLLinear(shape[1], shape[0]).double()
    weight = layer.weight

    def plain(w):
        if w.shape[0] <= w.shape[1]:
            return w * (w @ w.T).abs().sum(1).rsqrt()[:, None]
        return w * (w.T @ w).abs().sum(1).rsqrt()[None, :]

    direction = torch.randn(shape, dtype=torch.float64,
                            generator=torch.Generator().manual_seed(0))
    grads = []
    for normalise in (lambda w: layer.normalized_weight(), plain):
        (grad,) = torch.autograd.grad(
            (normalise(weight) * direction).sin().sum(), weight,
            create_graph=True)
        (second,) = torch.autograd.grad(grad.square().sum(), weight)
        grads.append((grad.detach(), second))
    torch.testing.assert_close(grads[0], grads[1])
    assert torch.autograd.gradcheck(_Gram.apply, (weight.detach().clone()
                                                  .requires_grad_(),))


def test_spectral_layer_tracks_its_norm_and_is_exact_in_evaluation():
    layer = SpectralLinear(20, 10)
    X = torch.randn(4, 20)
    estimates = []
    for _ in range(30):  # training forward passes move the estimate up
        weight = layer.normalized_weight()
        estimates.append(float(torch.linalg.matrix_norm(weight.detach(), 2)))
    assert estimates[-1] == pytest.approx(1.0, abs=1e-3)
    assert estimates[0] >= estimates[-1] - 1e-6
    layer.eval()
    norm = torch.linalg.matrix_norm(layer.normalized_weight().double(), 2)
    assert float(norm) == pytest.approx(1.0, abs=1e-6)
    assert layer(X).shape == (4, 10)


@pytest.mark.parametrize("layer", ["aol", "spectral"])
def test_one_lipschitz_mlp_is_bounded_by_one(layer):
    net = OneLipschitzMLP(30, 4, hidden_layer_sizes=(16, 8), layer=layer)
    net(torch.randn(8, 30))  # one training-mode pass
    upper = lipschitz_upper_bound(net)
    assert upper <= 1 + 1e-6
    lower = lipschitz_lower_bound(net, torch.randn(64, 30), random_state=0)
    assert 0 < lower <= upper


@pytest.mark.parametrize("layer", ["aol", "spectral"])
def test_export_is_plain_torch_and_computes_the_same(layer, tmp_path):
    net = OneLipschitzMLP(30, 4, hidden_layer_sizes=(16,), layer=layer)
    net(torch.randn(8, 30))
    net.eval()
    exported = net.export()
    X = torch.randn(10, 30)
    torch.testing.assert_close(exported(X), net(X))
    assert not any(isinstance(m, (AOLLinear, SpectralLinear))
                   for m in exported.modules())
    path = tmp_path / "net.pt2"
    torch.export.save(torch.export.export(exported, (X,)), str(path))
    torch.save(X, tmp_path / "X.pt")
    # Loaded in a fresh interpreter that never imports sklip.
    code = ("import sys, torch; "
            "m = torch.export.load(sys.argv[1]).module(); "
            "X = torch.load(sys.argv[2]); torch.save(m(X), sys.argv[3]); "
            "assert 'sklip' not in sys.modules")
    subprocess.run([sys.executable, "-c", code, str(path),
                    str(tmp_path / "X.pt"), str(tmp_path / "out.pt")],
                   check=True)
    torch.testing.assert_close(torch.load(tmp_path / "out.pt"), net(X))


def test_one_lipschitz_mlp_refuses_bad_parameters():
    with pytest.raises(ValueError, match="layer must be one of"):
        OneLipschitzMLP(4, 2, layer="orthogonal-ish")
    with pytest.raises(ValueError, match="multiples of group_size"):
        OneLipschitzMLP(4, 2, hidden_layer_sizes=(7,))


@pytest.mark.parametrize("layer", ["aol", "spectral"])
def test_estimator_sizes_a_module_class_from_the_data(digits, layer):
    X, X_test, y, y_test = digits
    clf = LipschitzClassifier(
        module=OneLipschitzMLP, module__hidden_layer_sizes=(64,),
        module__layer=layer, max_epochs=15, lr=0.01, random_state=0)
    clf.fit(X, y)
    assert clf.module_.layers[1].in_features == X.shape[1]
    assert clf.score(X_test, y_test) > 0.8
    assert lipschitz_upper_bound(clf) <= 1 + 1e-6
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X_test),
                                  clf.predict_proba(X_test))
    refit = clone(clf).fit(X, y)
    np.testing.assert_array_equal(refit.predict_proba(X_test),
                                  clf.predict_proba(X_test))
