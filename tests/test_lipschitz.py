"""Tests of sklip.lipschitz: lower <= exact <= upper, and certificates."""

import copy
import math

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score
from torch import nn

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.lipschitz import (certified_accuracy, lipschitz_exact_1d,
                             lipschitz_lower_bound, lipschitz_upper_bound)
from sklip.modules import MLP

# Interval holding every kink of the small 1-D ReLU nets below, so that the
# exact value on it is the global constant the lower bounds may reach.
WIDE = (-20.0, 20.0)


def _spectral_norm(matrix):
    return float(torch.linalg.matrix_norm(matrix.detach().double(), ord=2))


def _one_input_net(seed, activation, n_outputs=1):
    torch.manual_seed(seed)
    return MLP(1, n_outputs, hidden_layer_sizes=(16, 16),
               activation=activation)



@pytest.fixture(scope="module")
def digits_classifier(digits):
    X_train, X_test, y_train, y_test = digits
    clf = LipschitzClassifier(regularizer="none", hidden_layer_sizes=(32,),
                              max_epochs=15, lr=0.01, random_state=0)
    return clf.fit(X_train[:600], y_train[:600]), X_test[:200], y_test[:200]


# ----------------------------------------------------------------------
# lower <= exact <= upper
# ----------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bounds_bracket_exact_value_in_1d(activation, seed):
    net = _one_input_net(seed, activation, n_outputs=1 + seed % 2)
    X = torch.linspace(-3, 3, 40).unsqueeze(1)
    exact = lipschitz_exact_1d(net, *WIDE)
    exact_on_data = lipschitz_exact_1d(net, -3.0, 3.0)
    pairs = lipschitz_lower_bound(net, X, n_iter=50, random_state=seed)
    jacobian = lipschitz_lower_bound(net, X, method="jacobian")
    upper = lipschitz_upper_bound(net)
    # Relative slack for rounding (the pair search runs in float64, the
    # Jacobian in the network's float32) and, for tanh, for the grid: its
    # maximum of |f'| misses the peak by O(step²).
    assert 0 < pairs <= exact * (1 + 1e-6)
    assert 0 < jacobian <= exact_on_data * (1 + 1e-5)
    assert exact_on_data <= exact * (1 + 1e-6)
    assert exact <= upper
    # The pair search should get close to the exact value on such a net.
    assert pairs >= 0.9 * exact_on_data


def test_bounds_bracket_trained_regressor(polynomial_data):
    X, y = polynomial_data
    reg = LipschitzRegressor(hidden_layer_sizes=(16, 16), max_epochs=30,
                             lr=0.01, random_state=0).fit(X, y)
    exact = lipschitz_exact_1d(reg, -50.0, 50.0)
    lower = lipschitz_lower_bound(reg, X, method="both", n_iter=50,
                                  random_state=0)
    assert 0 < lower <= exact * (1 + 1e-6)
    assert exact <= lipschitz_upper_bound(reg)


def test_exact_1d_relu_kink_between_grid_points():
    # |x| has slope 1 on both sides; a grid that skips the kink still sees it.
    net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
        net[0].bias.zero_()
        net[2].weight.copy_(torch.tensor([[3.0, 3.0]]))
        net[2].bias.zero_()
    assert lipschitz_exact_1d(net, -1.0, 2.0, n_points=4) == \
        pytest.approx(3.0)


def test_exact_1d_narrow_steep_piece_is_seen_by_quotients():
    # A ramp of slope 100 on [0, 0.01] falls between two grid points 1 apart:
    # no grid derivative sees it, the neighbour quotient does (averaged).
    net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.copy_(torch.tensor([0.0, -0.01]))
        net[2].weight.copy_(torch.tensor([[100.0, -100.0]]))
        net[2].bias.zero_()
    value = lipschitz_exact_1d(net, -0.5, 0.5, n_points=2)
    assert value == pytest.approx(1.0)
    assert lipschitz_exact_1d(net, -0.5, 0.5) == pytest.approx(100.0)


def test_exact_1d_vector_output_uses_euclidean_norm():
    net = nn.Linear(1, 2, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[3.0], [4.0]]))
    assert lipschitz_exact_1d(net, 0.0, 1.0, n_points=11) == \
        pytest.approx(5.0)


# ----------------------------------------------------------------------
# Linear models: every estimate is the spectral norm
# ----------------------------------------------------------------------
def test_single_linear_layer_all_estimates_equal_spectral_norm():
    torch.manual_seed(0)
    net = nn.Linear(5, 3)
    X = torch.randn(40, 5)
    expected = _spectral_norm(net.weight)
    assert lipschitz_upper_bound(net) == pytest.approx(expected, rel=1e-12)
    assert lipschitz_lower_bound(net, X, method="jacobian") == \
        pytest.approx(expected, rel=1e-5)
    pairs = lipschitz_lower_bound(net, X, random_state=0)
    assert expected * (1 - 1e-6) <= pairs <= expected * (1 + 1e-9)


def test_identity_mlp_lower_bounds_equal_norm_of_weight_product():
    torch.manual_seed(1)
    net = MLP(6, 4, hidden_layer_sizes=(8, 7), activation="identity")
    X = torch.randn(40, 6)
    weights = [m.weight for m in net.modules() if isinstance(m, nn.Linear)]
    product = weights[2].double() @ weights[1].double() @ weights[0].double()
    expected = _spectral_norm(product)
    assert lipschitz_lower_bound(net, X, method="jacobian") == \
        pytest.approx(expected, rel=1e-5)
    assert lipschitz_lower_bound(net, X, random_state=0) == \
        pytest.approx(expected, rel=1e-6)
    # The layer-product bound is a product of norms, not the norm of the
    # product: valid, and here strictly larger.
    upper = lipschitz_upper_bound(net)
    assert upper == pytest.approx(
        math.prod(_spectral_norm(w) for w in weights), rel=1e-12)
    assert upper > expected * 1.01


# ----------------------------------------------------------------------
# Layers of the upper bound
# ----------------------------------------------------------------------
def _dense_operator_norm(layer, shape):
    """Exact norm from the matrix of the layer's linear part."""
    layer = layer.double()
    n = math.prod(shape)
    with torch.no_grad():
        basis = torch.eye(n, dtype=torch.float64).view(n, *shape)
        zero = torch.zeros(1, *shape, dtype=torch.float64)
        matrix = (layer(basis) - layer(zero)).reshape(n, -1)
    return _spectral_norm(matrix)


@pytest.mark.parametrize("make_layer, shape", [
    (lambda: nn.Conv1d(2, 4, 3, padding=2, dilation=2,
                       padding_mode="circular"), (2, 7)),
    (lambda: nn.Conv2d(2, 3, 3, padding=1, stride=2), (2, 5, 5)),
    (lambda: nn.Conv2d(4, 2, (2, 3), stride=(1, 2), groups=2), (4, 4, 6)),
    (lambda: nn.Conv2d(1, 2, 3, padding="same", padding_mode="reflect"),
     (1, 5, 4)),
    (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2), (2, 3, 3)),
    (lambda: nn.AvgPool2d(3, stride=1, padding=1), (1, 4, 4)),
    (lambda: nn.AdaptiveAvgPool1d(3), (2, 7)),
], ids=["conv1d-circular", "conv2d-stride", "conv2d-groups",
        "conv2d-reflect", "convtranspose2d", "avgpool2d", "adaptiveavgpool"])
def test_power_iteration_matches_dense_operator_norm(make_layer, shape):
    torch.manual_seed(0)
    layer = make_layer()
    bound = lipschitz_upper_bound(nn.Sequential(layer), input_shape=shape)
    assert bound == pytest.approx(_dense_operator_norm(layer, shape),
                                  rel=1e-6)


def test_conv_bound_of_fitted_estimator_uses_its_input_shape(digits):
    X_train, _, y_train, _ = digits
    images = X_train[:200].reshape(-1, 1, 8, 8)
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                           nn.MaxPool2d(2), nn.Flatten(),
                           nn.Linear(64, 10))
    clf = LipschitzClassifier(module, regularizer="none", max_epochs=2,
                              random_state=0).fit(images, y_train[:200])
    conv, linear = clf.module_[0], clf.module_[4]
    expected = (_dense_operator_norm(copy.deepcopy(conv), (1, 8, 8))
                * _spectral_norm(linear.weight))
    assert lipschitz_upper_bound(clf) == pytest.approx(expected, rel=1e-6)
    assert lipschitz_lower_bound(clf, images, method="both", n_iter=20,
                                 random_state=0) <= expected


@pytest.mark.parametrize("layer", [
    nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(0.1), nn.LeakyReLU(-2.5),
    nn.PReLU(init=0.25), nn.ELU(), nn.ELU(alpha=2.0), nn.CELU(0.5), nn.SELU(),
    nn.GELU(), nn.GELU(approximate="tanh"), nn.SiLU(), nn.Tanh(),
    nn.Hardtanh(), nn.Sigmoid(), nn.Hardsigmoid(), nn.Hardswish(),
    nn.LogSigmoid(), nn.Softplus(beta=2.0), nn.Softsign(), nn.Softshrink(),
    nn.Tanhshrink(),
], ids=lambda layer: repr(layer))
def test_activation_constant_is_its_largest_slope(layer):
    # Difference quotients of the forward pass on a fine grid: the slopes of
    # the function itself (autograd's backward may round its constants).
    x = torch.linspace(-12, 12, 480_001, dtype=torch.float64)
    with torch.no_grad():
        values = layer.double()(x)
    largest = float(((values[1:] - values[:-1]) / (x[1:] - x[:-1]))
                    .abs().max())
    constant = lipschitz_upper_bound(layer)
    assert largest <= constant * (1 + 1e-9)
    assert constant <= largest * (1 + 1e-3)


def test_max_pool_constant_counts_overlapping_windows():
    assert lipschitz_upper_bound(nn.MaxPool2d(2)) == 1.0
    pool = nn.MaxPool2d(3, stride=1)
    assert lipschitz_upper_bound(pool) == pytest.approx(3.0)
    # Attained: the centre of a 5x5 image is the maximum of all 9 windows.
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    lower = lipschitz_lower_bound(nn.Sequential(pool, nn.Flatten()), x,
                                  method="jacobian")
    assert lower == pytest.approx(3.0)


def test_batch_norm_bound_uses_running_statistics_and_keeps_mode():
    net = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    with torch.no_grad():
        net[0].weight.copy_(torch.eye(3))
        net[1].running_var.copy_(torch.tensor([4.0, 1.0, 0.25]))
        net[1].weight.copy_(torch.tensor([1.0, -3.0, 1.0]))
    net.train()
    net[0].eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    bound = lipschitz_upper_bound(net)
    expected = max(1 / math.sqrt(4 + 1e-5), 3 / math.sqrt(1 + 1e-5),
                   1 / math.sqrt(0.25 + 1e-5))
    assert bound == pytest.approx(expected)
    lipschitz_lower_bound(net, torch.randn(10, 3), method="both", n_iter=5,
                          random_state=0)
    assert net.training and net[1].training and not net[0].training
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_dropout_is_the_identity_for_bounds():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    net.train()
    product = net[2].weight.double() @ net[0].weight.double()
    X = torch.randn(20, 4)
    # Evaluation mode: the network is linear, so the Jacobian is exact.
    assert lipschitz_lower_bound(net, X, method="jacobian") == \
        pytest.approx(_spectral_norm(product), rel=1e-5)
    assert net.training


# ----------------------------------------------------------------------
# Certified accuracy
# ----------------------------------------------------------------------
def test_certified_accuracy_hand_computed():
    net = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.eye(2))
    X = torch.tensor([[1.0, 0.0], [0.0, 3.0], [2.0, 0.0]])
    y = [0, 1, 1]  # margins 1, 3 and -2 (misclassified)
    radii = [0.0, 0.5, 1.0, 2.2]
    np.testing.assert_allclose(certified_accuracy(net, X, y, radii),
                               [2 / 3, 2 / 3, 1 / 3, 0.0])
    # A larger L certifies less; the threshold is sqrt(2)·L·r.
    assert certified_accuracy(net, X, y, 1.0, lipschitz=3 / math.sqrt(2)
                              - 1e-9) == pytest.approx(1 / 3)
    assert certified_accuracy(net, X, y, 1.0, lipschitz=3 / math.sqrt(2)) \
        == 0.0


def test_certified_accuracy_of_classifier(digits_classifier):
    clf, X, y = digits_classifier
    clean = accuracy_score(y, clf.predict(X))
    radii = np.linspace(0, 0.5, 11)
    certified = certified_accuracy(clf, X, y, radii)
    assert isinstance(certified, np.ndarray) and certified.shape == (11,)
    assert np.all(np.diff(certified) <= 0)
    assert np.all(certified <= clean)
    assert certified[0] == pytest.approx(clean, abs=1 / len(y))
    assert certified[-1] < certified[0]
    scalar = certified_accuracy(clf, X, y, 0.1)
    assert isinstance(scalar, float) and scalar == pytest.approx(certified[2])
    # The product rule's default L is the upper bound.
    assert certified_accuracy(clf, X, y, 0.1, bound="product") == \
        certified_accuracy(clf, X, y, 0.1,
                           lipschitz=lipschitz_upper_bound(clf))


def test_certified_points_keep_their_prediction(digits_classifier):
    clf, X, y = digits_classifier
    radius = 0.05
    L = lipschitz_upper_bound(clf)
    logits = clf.forward(X).double()
    labels = torch.as_tensor(np.searchsorted(clf.classes_, y))
    true = logits.gather(1, labels.view(-1, 1)).squeeze(1)
    rival = logits.scatter(1, labels.view(-1, 1), -math.inf).max(1).values
    certified = (true - rival > math.sqrt(2) * L * radius).numpy()
    assert certified.mean() == pytest.approx(
        certified_accuracy(clf, X, y, radius, bound="product"))
    generator = np.random.default_rng(0)
    for _ in range(5):
        noise = generator.standard_normal(X.shape)
        noise *= radius / np.linalg.norm(noise, axis=1, keepdims=True)
        moved = clf.predict((X + noise).astype(np.float32))
        assert np.all(moved[certified] == y[certified])


# ----------------------------------------------------------------------
# Side effects and reproducibility
# ----------------------------------------------------------------------
def test_estimates_leave_module_and_global_state_untouched():
    torch.manual_seed(0)
    net = MLP(3, 2, hidden_layer_sizes=(8,))
    net.train()
    X = torch.randn(30, 3)
    one_input, conv = MLP(1, 1, (4,)), nn.Sequential(nn.Conv1d(1, 1, 3))
    state = torch.get_rng_state()
    first = lipschitz_lower_bound(net, X, method="both", n_iter=10,
                                  random_state=3)
    lipschitz_lower_bound(net, X, n_iter=2, random_state=None)
    lipschitz_exact_1d(one_input, 0.0, 1.0, n_points=101)
    lipschitz_upper_bound(conv, input_shape=(1, 5))
    certified_accuracy(net, X, np.zeros(30, dtype=int), [0.0, 0.1])
    assert torch.equal(torch.get_rng_state(), state)
    assert all(p.grad is None for p in net.parameters())
    assert all(p.dtype == torch.float32 for p in net.parameters())
    assert all(m.training for m in net.modules())
    assert first == lipschitz_lower_bound(net, X, method="both", n_iter=10,
                                          random_state=3)


def test_both_is_the_larger_of_pairs_and_jacobian():
    torch.manual_seed(0)
    net = MLP(3, 2, hidden_layer_sizes=(8,))
    X = torch.randn(30, 3)
    kwargs = {"n_iter": 10, "random_state": 0}
    assert lipschitz_lower_bound(net, X, method="both", **kwargs) == max(
        lipschitz_lower_bound(net, X, method="pairs", **kwargs),
        lipschitz_lower_bound(net, X, method="jacobian"))


def test_lower_bound_accepts_float64_pandas_and_a_single_sample():
    pd = pytest.importorskip("pandas")
    torch.manual_seed(0)
    net = MLP(2, 1, hidden_layer_sizes=(4,))
    X = np.random.default_rng(0).standard_normal((10, 2))
    kwargs = {"n_pairs": 8, "n_iter": 5, "random_state": 0}
    assert lipschitz_lower_bound(net, pd.DataFrame(X), **kwargs) == \
        lipschitz_lower_bound(net, torch.as_tensor(X, dtype=torch.float32),
                              **kwargs)
    for method in ("pairs", "jacobian"):
        assert lipschitz_lower_bound(net, X[:1], method=method, n_pairs=1,
                                     n_iter=5, random_state=0) > 0


# ----------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------
class _Doubler(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)

    def forward(self, x):
        return 2 * self.linear(x)


class _ResidualSequential(nn.Sequential):
    def forward(self, x):
        return x + super().forward(x)


@pytest.mark.parametrize("call, error, match", [
    (lambda net, X: lipschitz_lower_bound(net, X, method="max"),
     ValueError, "method must be one of"),
    (lambda net, X: lipschitz_lower_bound(net, X, n_pairs=0),
     ValueError, "n_pairs"),
    (lambda net, X: lipschitz_lower_bound(net, X, n_iter=-1),
     ValueError, "n_iter"),
    (lambda net, X: lipschitz_lower_bound(net, X[:, 0]),
     ValueError, "X must have shape"),
    (lambda net, X: lipschitz_lower_bound(net, np.full((3, 2), np.nan)),
     ValueError, "NaN"),
    (lambda net, X: lipschitz_exact_1d(net, 0.0, 1.0),
     ValueError, "1-D input"),
    (lambda net, X: lipschitz_exact_1d(nn.Linear(1, 1), 1.0, 0.0),
     ValueError, "low must be smaller than high"),
    (lambda net, X: lipschitz_exact_1d(nn.Linear(1, 1), 0.0, 1.0, 1),
     ValueError, "n_points"),
    (lambda net, X: certified_accuracy(net, X, [0, 1, 1], -0.1),
     ValueError, "eps must"),
    (lambda net, X: certified_accuracy(net, X, [0, 1, 1], [0.0, -1.0]),
     ValueError, "eps must"),
    (lambda net, X: certified_accuracy(net, X, [0, 1, 1], [[0.1]]),
     ValueError, "eps must"),
    (lambda net, X: certified_accuracy(net, X, [0, 1, 1], "big"),
     TypeError, "eps must"),
    (lambda net, X: certified_accuracy(net, X, [0, 1, 1], 0.1,
                                       lipschitz=-1.0),
     ValueError, "lipschitz"),
    (lambda net, X: certified_accuracy(net, X, [0, 1], 0.1),
     ValueError, "one label per sample"),
    (lambda net, X: certified_accuracy(net, X, [0, 1, 2], 0.1),
     ValueError, "class indices"),
    (lambda net, X: lipschitz_upper_bound(nn.Sequential(net, nn.LSTM(2, 2))),
     TypeError, "LSTM"),
    (lambda net, X: lipschitz_upper_bound(_Doubler()),
     TypeError, "_Doubler"),
    (lambda net, X: lipschitz_upper_bound(
        _ResidualSequential(nn.Linear(2, 2))),
     TypeError, "_ResidualSequential"),
    (lambda net, X: lipschitz_upper_bound(nn.Sequential(net, nn.Softmax(1))),
     TypeError, "'Sequential.1' of type Softmax"),
    (lambda net, X: lipschitz_upper_bound(
        nn.BatchNorm1d(2, track_running_stats=False)),
     TypeError, "track_running_stats"),
    (lambda net, X: lipschitz_upper_bound(nn.Sequential(nn.Conv1d(1, 1, 3))),
     ValueError, "input_shape"),
    (lambda net, X: lipschitz_upper_bound(
        nn.Sequential(nn.Flatten(), nn.Linear(4, 2), nn.Conv1d(1, 1, 3)),
        input_shape=(5,)),
     ValueError, "input_shape does not fit"),
    (lambda net, X: lipschitz_upper_bound(net, input_shape=(0,)),
     ValueError, "input_shape"),
    (lambda net, X: lipschitz_lower_bound("net", X),
     TypeError, "torch.nn.Module"),
], ids=lambda value: getattr(value, "__name__", None))
def test_bad_input_raises_clear_error(call, error, match):
    torch.manual_seed(0)
    net = nn.Linear(2, 2)
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]], dtype=np.float32)
    with pytest.raises(error, match=match):
        call(net, X)


@pytest.mark.parametrize("call", [
    lambda model, X, y: lipschitz_lower_bound(model, X),
    lambda model, X, y: lipschitz_upper_bound(model),
    lambda model, X, y: lipschitz_exact_1d(model, 0.0, 1.0),
    lambda model, X, y: certified_accuracy(model, X, y, 0.1),
])
def test_unfitted_estimator_raises_not_fitted(call):
    X, y = np.zeros((4, 1), dtype=np.float32), np.array([0, 1, 0, 1])
    with pytest.raises(NotFittedError, match="not fitted"):
        call(LipschitzClassifier(), X, y)


def test_certified_accuracy_rejects_regressor(polynomial_data):
    X, y = polynomial_data
    reg = LipschitzRegressor(max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match="needs a classifier"):
        certified_accuracy(reg, X, y, 0.1)


def test_exact_1d_rejects_estimator_with_several_features(digits_classifier):
    clf, _, _ = digits_classifier
    with pytest.raises(ValueError, match=r"1-D input.*\(64,\)"):
        lipschitz_exact_1d(clf, 0.0, 1.0)
