"""Tests of sklip.attacks.SquareAttack: against ART's Square Attack, the
ball and the data range, image shapes, regressors and validation."""

import numpy as np
import pytest
import torch
from torch import nn

from sklip import LipschitzRegressor
from sklip.attacks import SquareAttack
from sklip.attacks._square import _pair_of_bumps, window_fraction
from sklip.metrics import adversarial_accuracy

art_classification = pytest.importorskip("art.estimators.classification")
art_evasion = pytest.importorskip("art.attacks.evasion")


def _art_square_accuracy(clf, X, y, side, norm, eps, n_queries):
    # ART's Square Attack takes images only: show it (n, 1, side, side).
    module = nn.Sequential(nn.Flatten(), clf.module_)
    art_clf = art_classification.PyTorchClassifier(
        module, loss=nn.CrossEntropyLoss(), input_shape=(1, side, side),
        nb_classes=len(clf.classes_), clip_values=(0.0, 1.0),
        device_type="cpu")
    attack = art_evasion.SquareAttack(
        art_clf, norm=np.inf if norm == "inf" else 2, eps=eps,
        max_iter=n_queries, p_init=0.8, nb_restarts=1, batch_size=len(X),
        verbose=False)
    with np.errstate(all="ignore"):  # ART's L2 update divides by zero
        X_adv = attack.generate(X.reshape(-1, 1, side, side), y=y)
    return clf.score(X_adv.reshape(len(X), -1), y)


@pytest.mark.parametrize("norm, eps", [(2, 0.5), ("inf", 0.1)])
def test_at_least_as_strong_as_art_on_digits(digits, digits_clf, norm, eps):
    _, X_test, _, y_test = digits
    art_acc = _art_square_accuracy(digits_clf, X_test, y_test, 8, norm, eps,
                                   300)
    ours = adversarial_accuracy(digits_clf, X_test, y_test, SquareAttack(
        eps, norm=norm, n_queries=300, clamp=(0, 1), random_state=0))
    assert ours <= art_acc + 0.02, (ours, art_acc)
    assert ours < digits_clf.score(X_test, y_test) - 0.1


@pytest.mark.parametrize("norm, eps", [(2, 2.0), ("inf", 0.05)])
def test_at_least_as_strong_as_art_on_mnist(mnist, mnist_clf, norm, eps):
    _, X_test, _, y_test = mnist
    clf = mnist_clf
    X_test, y_test = X_test[:200], y_test[:200]
    art_acc = _art_square_accuracy(clf, X_test, y_test, 28, norm, eps, 300)
    ours = adversarial_accuracy(clf, X_test, y_test, SquareAttack(
        eps, norm=norm, n_queries=300, clamp=(0, 1), random_state=0))
    assert ours <= art_acc + 0.03, (ours, art_acc)
    assert ours < clf.score(X_test, y_test) - 0.1


def test_breaks_an_undefended_network_at_a_large_radius(digits, digits_clf):
    _, X_test, _, y_test = digits
    for attack in (SquareAttack(3.0, n_queries=500, clamp=(0, 1),
                                random_state=0),
                   SquareAttack(0.3, norm="inf", n_queries=500, clamp=(0, 1),
                                random_state=0)):
        assert adversarial_accuracy(digits_clf, X_test, y_test,
                                    attack) <= 0.05


@pytest.mark.parametrize("norm, eps", [(2, 0.7), ("inf", 0.1)])
def test_stays_in_the_ball_and_the_data_range(digits, digits_clf, norm, eps):
    _, X_test, _, y_test = digits
    X_adv = SquareAttack(eps, norm=norm, n_queries=100, clamp=(0, 1),
                         random_state=0).generate(digits_clf, X_test, y_test)
    assert X_adv.min() >= 0 and X_adv.max() <= 1
    delta = X_adv - X_test
    norms = (np.abs(delta).max(1) if norm == "inf"
             else np.linalg.norm(delta, axis=1))
    assert norms.max() <= eps * (1 + 1e-5)
    assert norms.mean() > 0.3 * eps


def test_reproducible_and_uses_no_gradient(digits, digits_clf):
    _, X_test, _, y_test = digits
    attack = SquareAttack(0.5, n_queries=50, clamp=(0, 1), random_state=1)
    first = attack.generate(digits_clf, X_test, y_test)
    np.testing.assert_array_equal(first,
                                  attack.generate(digits_clf, X_test, y_test))
    assert not np.array_equal(first, attack.set_params(
        random_state=2).generate(digits_clf, X_test, y_test))

    class NoGradient(nn.Module):
        """A network whose input gradient is zero: gradient attacks fail,
        a black-box attack does not."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x.detach())

    masked = NoGradient(digits_clf.module_)
    X_t, y_t = torch.as_tensor(X_test), torch.as_tensor(y_test)
    X_adv = SquareAttack(1.0, n_queries=300, clamp=(0, 1),
                         random_state=0).perturb(masked, X_t, y_t)
    with torch.no_grad():
        acc = float((masked(X_adv).argmax(1) == y_t).float().mean())
    assert acc < digits_clf.score(X_test, y_test) - 0.3


def test_image_inputs_and_image_shape(digits, digits_clf):
    _, X_test, _, y_test = digits
    module = nn.Sequential(nn.Flatten(), digits_clf.module_).eval()
    images = torch.as_tensor(X_test).reshape(-1, 1, 8, 8)
    y_t = torch.as_tensor(y_test)
    attack = SquareAttack(0.5, n_queries=50, clamp=(0, 1), random_state=0)
    X_adv = attack.perturb(module, images, y_t)
    assert X_adv.shape == images.shape
    flat = attack.set_params(image_shape=(8, 8)).perturb(
        digits_clf.module_, torch.as_tensor(X_test), y_t)
    torch.testing.assert_close(flat.reshape(images.shape), X_adv)
    with pytest.raises(ValueError, match="has 63 elements"):
        attack.set_params(image_shape=(7, 9)).perturb(
            digits_clf.module_, torch.as_tensor(X_test), y_t)


def test_on_a_regressor_with_one_feature(polynomial_data):
    X, y = polynomial_data
    reg = LipschitzRegressor(regularizer="none", hidden_layer_sizes=(16,),
                             max_epochs=30, lr=0.01, random_state=0).fit(X, y)
    clean = np.mean((reg.predict(X) - y) ** 2)
    for norm in (2, "inf"):
        X_adv = SquareAttack(0.1, norm=norm, n_queries=30,
                             random_state=0).generate(reg, X, y)
        assert np.abs(X_adv - X).max() <= 0.1 + 1e-6
        assert np.mean((reg.predict(X_adv) - y) ** 2) > clean


def test_schedule_and_bumps():
    assert window_fraction(0.8, 0, 1000) == 0.8
    assert window_fraction(0.8, 999, 1000) == pytest.approx(0.8 / 512)
    assert window_fraction(0.8, 30, 1000) == pytest.approx(0.8 / 8)
    for shape in [(5, 5), (1, 3), (3, 1), (1, 1), (4, 7)]:
        bump = _pair_of_bumps(*shape, False)
        assert bump.shape == shape
        assert np.sum(bump ** 2) == pytest.approx(1.0)


@pytest.mark.parametrize("params, error, match", [
    ({"eps": -1}, ValueError, "eps"),
    ({"eps": 1, "n_queries": 0}, ValueError, "n_queries"),
    ({"eps": 1, "p_init": 0}, ValueError, "p_init"),
    ({"eps": 1, "image_shape": (8, -8)}, ValueError, "image_shape"),
    ({"eps": 1, "loss": "ce"}, ValueError, "loss must be"),
    ({"eps": 1, "loss": "squared_error"}, ValueError, "for regressors"),
])
def test_bad_parameters(digits, digits_clf, params, error, match):
    _, X_test, _, y_test = digits
    with pytest.raises(error, match=match):
        SquareAttack(**params).generate(digits_clf, X_test, y_test)
