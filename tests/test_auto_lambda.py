"""reg_lambda="auto" on other data than MNIST, the collapse warning, and the
documented defaults (sklip._auto_lambda, sklip._collapse)."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from torch import nn

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip._auto_lambda import auto_lambda_scale, auto_radius_scale, \
    loss_and_separation
from sklip.regularizers import (CLIPRegularizer, MarginRegularizer,
                                PTVRegularizer,
                                REGULARIZERS, get_regularizer)

from .conftest import MNIST_DIR

ROOT = Path(__file__).resolve().parents[1]
REGS = ("clip", "sumlip", "tv", "ptv", "adversarial", "margin")


class _SmallCNN(nn.Module):
    """Conv2d(1, 8, 3)-ReLU-MaxPool-Flatten-Linear on 8x8 images."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(72, 10))

    def forward(self, X):
        return self.body(X)


def _fit(X, y, regularizer, **params):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf = LipschitzClassifier(regularizer=regularizer, random_state=0,
                                  **params).fit(X, y)
    collapsed = [w for w in caught
                 if issubclass(w.category, ConvergenceWarning)]
    return clf, collapsed


@pytest.fixture(scope="module")
def digits_small(digits):
    X_train, X_test, y_train, y_test = digits
    return X_train[:700], X_test, y_train[:700], y_test


@pytest.mark.parametrize("module", ["mlp", "cnn"])
@pytest.mark.parametrize("lr", [0.001, 0.01])
def test_auto_trains_like_standard_training(digits_small, module, lr):
    # The user's report: pTV (λ 3) and TV (λ 0.5) trained constant networks
    # on the digits; "auto" scales λ to the 8x8 images and every
    # regulariser keeps 90 % of standard training's accuracy.
    X, X_test, y, y_test = digits_small
    params = {"lr": lr, "max_epochs": 6 if lr == 0.01 else 12,
              "hidden_layer_sizes": (64,)}
    if module == "cnn":
        X, X_test = X.reshape(-1, 1, 8, 8), X_test.reshape(-1, 1, 8, 8)
        params.update(module=_SmallCNN, max_epochs=8 if lr == 0.01 else 16)
    base, _ = _fit(X, y, "none", **params)
    reference = base.score(X_test, y_test)
    assert reference > 0.5
    for name in REGS:
        if name == "margin" and module == "cnn":
            continue  # margin training needs a bound the CNN's pool lacks
        clf, collapsed = _fit(X, y, name, **params)
        assert not collapsed, (name, collapsed)
        assert clf.score(X_test, y_test) > 0.9 * reference, name
        default = get_regularizer(name).default_lambda
        assert clf.reg_lambda_ <= default


def test_auto_scales_lambda_by_the_data():
    # (L0 / log 10) · (ℓ / 10)^p, never above the searched value.
    assert auto_lambda_scale((np.log(10), 5.0), 1) == pytest.approx(0.5)
    assert auto_lambda_scale((np.log(10), 5.0), 2) == pytest.approx(0.25)
    assert auto_lambda_scale((np.log(10), 50.0), 1) == 1.0
    assert auto_lambda_scale((np.log(10), 5.0), 0) == 1.0
    assert auto_lambda_scale(None, 1) == 1.0
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 3)), rng.integers(0, 2, 200)
    loss, length = loss_and_separation(X, y, True)
    assert loss == pytest.approx(np.log(2), abs=0.01)
    # Scaling the inputs scales ℓ; a regressor's ℓ is per unit of target.
    assert loss_and_separation(3 * X, y, True)[1] == pytest.approx(3 * length)
    t = X[:, 0] * 2.0
    # L0 is estimated on the rows of the drawn pairs.
    assert loss_and_separation(X, t, False)[0] == pytest.approx(t.var(),
                                                                rel=0.15)
    assert loss_and_separation(X, t, False)[1] == pytest.approx(
        loss_and_separation(X, 2 * t, False)[1] * 2)


def test_auto_on_digits_and_an_explicit_lambda():
    X = np.random.default_rng(0).random((120, 64), dtype=np.float32)
    y = np.arange(120) % 10
    clf = LipschitzClassifier(regularizer="clip", max_epochs=0).fit(X, y)
    loss, length = loss_and_separation(X, y, True)
    assert loss == pytest.approx(np.log(10), rel=0.01)
    expected = CLIPRegularizer.default_lambda * (loss / np.log(10)) * (
        length / 10) ** 2
    assert clf.reg_lambda_ == pytest.approx(expected)
    # An explicit λ means what it says, whatever the data.
    clf = LipschitzClassifier(regularizer="clip", reg_lambda=0.3,
                              max_epochs=0).fit(X, y)
    assert clf.reg_lambda_ == 0.3


def test_margin_radius_scales_with_the_data_and_others_keep_theirs():
    X = np.random.default_rng(0).random((120, 64), dtype=np.float32)
    y = np.arange(120) % 10
    length = loss_and_separation(X, y, True)[1]
    assert length < 10
    clf = LipschitzClassifier(regularizer="margin", max_epochs=0).fit(X, y)
    assert clf.epsilon_ == pytest.approx(
        MarginRegularizer.default_epsilon * length / 10)
    assert auto_radius_scale((1.0, 25.0)) == 1.0  # never scaled up
    assert auto_radius_scale(None) == 1.0
    # An explicit radius means what it says; pTV's probing radius and the
    # adversarial (L∞) radius are kept.
    clf = LipschitzClassifier(regularizer="margin", epsilon=0.5,
                              max_epochs=0).fit(X, y)
    assert clf.epsilon_ == 0.5
    for name in ("ptv", "adversarial"):
        clf = LipschitzClassifier(regularizer=name, max_epochs=0).fit(X, y)
        assert clf.epsilon_ == get_regularizer(name).default_epsilon, name


def test_margin_trains_on_standardised_iris():
    # The user's case: margin training at MNIST's radius 0.5 ended at
    # 0.86 of standard training's accuracy on standardised iris
    # (classes about 3 apart); at the scaled radius it is within 3 points.
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y)
    scores = {name: _fit(X_train, y_train, name, lr=0.01)[0].score(
        X_test, y_test) for name in ("none", "margin")}
    assert scores["margin"] >= 0.95 * scores["none"], scores


@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="needs shared/data/mnist")
def test_auto_keeps_the_searched_lambda_on_mnist(mnist):
    # The benchmark's MNIST split: "auto" is default_lambda exactly.
    X_train, _, y_train, _ = mnist
    scale = loss_and_separation(X_train, y_train, True)
    for name, cls in REGULARIZERS.items():
        power = getattr(cls, "quotient_power", 0)
        assert auto_lambda_scale(scale, power) == 1.0, name
    assert auto_radius_scale(scale) == 1.0


def test_collapse_warns_for_a_huge_lambda(digits_small):
    X, _, y, _ = digits_small
    clf, collapsed = _fit(X, y, "tv", reg_lambda=1e3, max_epochs=4,
                          lr=0.01, hidden_layer_sizes=(32,))
    assert collapsed
    message = str(collapsed[0].message)
    assert "constant predictor" in message and "reg_lambda" in message
    assert "'tv'" in message and "1e+03" in message


def test_no_collapse_warning_for_a_normal_fit(digits_small):
    X, _, y, _ = digits_small
    _, collapsed = _fit(X, y, "tv", reg_lambda=0.05, max_epochs=4,
                        lr=0.01, hidden_layer_sizes=(32,))
    assert not collapsed
    _, collapsed = _fit(X, y, "none", max_epochs=4, lr=0.01,
                        hidden_layer_sizes=(32,),
                        callbacks__collapse=None)
    assert not collapsed


def test_regressor_collapse_warns(polynomial_data):
    X, y = polynomial_data
    with pytest.warns(ConvergenceWarning, match="R²|spread"):
        LipschitzRegressor(regularizer="sumlip", reg_lambda=1e3, lr=0.01,
                           max_epochs=30, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = LipschitzRegressor(regularizer="sumlip", lr=0.01,
                                 max_epochs=150, hidden_layer_sizes=(32, 32),
                                 random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.5


def _number(text):
    return float(text)


@pytest.mark.parametrize("path", ["docs/user_guide.rst", "docs/theory.rst",
                                  "README.md"])
def test_docs_state_ptv_defaults_of_the_code(path):
    # Every "default ε / decay / λ" sentence about pTV in the docs must
    # name the class attributes' values.
    text = " ".join((ROOT / path).read_text(encoding="utf-8").split())
    found = re.findall(
        r"pTV's defaults: ε = ([\d.]+), ``epsilon_decay`` = ([\d.]+), "
        r"λ = ([\d.]+)", text)
    if path != "README.md":
        assert found, f"{path} does not state pTV's defaults"
    for epsilon, decay, reg_lambda in found:
        assert _number(epsilon) == PTVRegularizer.default_epsilon
        assert _number(decay) == PTVRegularizer.default_epsilon_decay
        assert _number(reg_lambda) == PTVRegularizer.default_lambda


def test_ptv_docstring_states_its_defaults():
    doc = " ".join(PTVRegularizer.__doc__.split())
    assert (f"ε starts at ``epsilon`` (default :attr:`default_epsilon` = "
            f"{PTVRegularizer.default_epsilon:g})") in doc
    assert (f"default :attr:`default_epsilon_decay` = "
            f"{PTVRegularizer.default_epsilon_decay:g}") in doc


@pytest.mark.parametrize("k", [2, 10, 64, 65, 200])
def test_class_counts_are_the_confusion_margins(k):
    # Predicted, true and correctly predicted counts per class, whichever
    # way they are counted (one confusion matrix up to CONFUSION_CLASSES
    # classes, three counts above).
    import sklip._collapse as collapse

    generator = torch.Generator().manual_seed(k)
    y_pred = torch.randn(300, k, generator=generator)
    y_true = torch.randint(0, k, (300,), generator=generator)
    counts = collapse.CollapseCheck._class_counts(y_pred, y_true)
    labels = y_pred.argmax(1).numpy()
    expected = np.stack([np.bincount(labels, minlength=k),
                         np.bincount(y_true.numpy(), minlength=k),
                         np.bincount(y_true.numpy()[labels == y_true.numpy()],
                                     minlength=k)])
    np.testing.assert_array_equal(counts.numpy(), expected)
