"""Shared fixtures: small real data sets with fixed seeds."""

from pathlib import Path

import numpy as np
import pytest
import torch

from sklip import LipschitzClassifier
from sklip.datasets import load_digits_scaled, load_mnist, make_polynomial

# The networks in the tests are tiny: one thread is faster than two and
# keeps timings stable when the machine is busy.
torch.set_num_threads(1)

#: The real MNIST test split, outside the repository (see shared/data/mnist).
MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


@pytest.fixture(autouse=True)
def _fixed_torch_state():
    """Every test starts from the same global torch seed and 1-2 threads."""
    torch.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits in [0, 1]: (X_train, X_test, y_train, y_test)."""
    X, y = load_digits_scaled()
    return X[:1400], X[1400:], y[:1400], y[1400:]


@pytest.fixture(scope="session")
def polynomial_data():
    """The slides' polynomial task: 60 points on [-3, -2] ∪ [2, 3]."""
    return make_polynomial(60, random_state=0)


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST test split as the 8,000 / 2,000 split of the SPEC."""
    X, y = load_mnist(MNIST_DIR)
    return X[:8000], X[8000:], y[:8000], y[8000:]


@pytest.fixture(scope="session")
def digits_clf(digits):
    """A standard (unregularised) classifier trained on the digits split,
    shared by the attack and metric tests."""
    X_train, _, y_train, _ = digits
    return LipschitzClassifier(regularizer="none", hidden_layer_sizes=(64,),
                               max_epochs=20, lr=0.003,
                               random_state=0).fit(X_train, y_train)


@pytest.fixture(scope="session")
def mnist_clf(mnist):
    """The SPEC's evaluation network (MLP 784-200-80-10) trained briefly on
    the MNIST split, shared by the tests that check attacks against ART."""
    X_train, _, y_train, _ = mnist
    return LipschitzClassifier(regularizer="none",
                               hidden_layer_sizes=(200, 80), max_epochs=3,
                               random_state=0).fit(X_train, y_train)
