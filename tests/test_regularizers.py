"""Every regulariser through the estimators: the slides' polynomial task,
any module (convolutions, several targets), and bad parameters named."""

import numpy as np
import pytest
import torch
from torch import nn

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.lipschitz import lipschitz_exact_1d
from sklip.regularizers import REGULARIZERS, regularizer_names


def _value(tensor):
    return tensor.detach().item()


def _mlp(n_in, n_out, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, 16), nn.Tanh(), nn.Linear(16, n_out))


# ----------------------------------------------------------------------
# TV against closed forms
# ----------------------------------------------------------------------


# ----------------------------------------------------------------------
# pTV pairs
# ----------------------------------------------------------------------


# ----------------------------------------------------------------------
# The slides' polynomial task
# ----------------------------------------------------------------------
#: Settings of each regulariser on the polynomial task. Every registered
#: regulariser must have an entry (test below): add one for a new method.
POLYNOMIAL_SETTINGS = {
    "tv": dict(reg_lambda=0.02),
    # The slides' ε schedule: 1.0, shrinking by 0.9 a epoch to the 1e-3
    # floor (the default fixed ε = 3 is meant for images). λ = 0.015 keeps
    # R² > 0.9 on seeds 0-9; at 0.02 two seeds in ten flattened to R² < 0.8.
    "ptv": dict(reg_lambda=0.015, epsilon=1.0, epsilon_decay=0.9),
    "clip": dict(reg_lambda=0.01),
    "sumlip": dict(reg_lambda=0.02),
    # λ only switches adversarial training on; the radius does the work.
    "adversarial": dict(reg_lambda=1.0, epsilon=0.25),
}

#: λ values of the TV trend (the middle one is POLYNOMIAL_SETTINGS["tv"]).
TV_LAMBDAS = (0.005, 0.02, 0.08)

# ReLU (the default), so that max |f'| on a grid is the exact Lipschitz
# constant; full batches so that 400 epochs take about a second. With
# random_state 0-4, standard training reaches R² 0.97-1.00 and a true
# Lipschitz constant 1.32-1.62; every regulariser above keeps R² in
# 0.87-0.94 with constants 0.72-0.92 (at most 0.70 of the unregularised
# one for the same seed); the TV trend is about 1.23 / 0.85 / 0.37.
POLYNOMIAL_COMMON = dict(hidden_layer_sizes=(64, 64), lr=0.01,
                         max_epochs=400, batch_size=-1, random_state=1,
                         callbacks__lipschitz=None)


@pytest.fixture(scope="module")
def polynomial_fit(polynomial_data):
    X, y = polynomial_data
    cache = {}

    def fit(regularizer, **params):
        key = (regularizer, tuple(sorted(params.items())))
        if key not in cache:
            est = LipschitzRegressor(regularizer=regularizer,
                                     **POLYNOMIAL_COMMON, **params).fit(X, y)
            cache[key] = (est.score(X, y),
                          lipschitz_exact_1d(est, -3.0, 3.0,
                                             n_points=20_001))
        return cache[key]

    return fit


def test_every_regularizer_has_polynomial_settings():
    # The polynomial task is a regression: margin training needs classes.
    regressors = {name for name in regularizer_names()
                  if not REGULARIZERS[name].needs_classes}
    assert set(POLYNOMIAL_SETTINGS) == regressors - {"none"}


@pytest.mark.parametrize("regularizer", sorted(POLYNOMIAL_SETTINGS))
def test_regularizer_flattens_the_polynomial_fit(polynomial_fit,
                                                 regularizer):
    """The slides' Figure 7: a clearly smaller true Lipschitz constant than
    standard training at a comparable fit."""
    r2_plain, lip_plain = polynomial_fit("none")
    r2, lip = polynomial_fit(regularizer, **POLYNOMIAL_SETTINGS[regularizer])
    assert r2_plain > 0.95
    assert r2 > 0.85
    assert lip < 0.75 * lip_plain


def test_larger_tv_lambda_gives_a_flatter_function(polynomial_fit):
    lips = [polynomial_fit("tv", reg_lambda=lam)[1] for lam in TV_LAMBDAS]
    for flatter, steeper in zip(lips[1:], lips[:-1]):
        assert flatter < 0.85 * steeper


# ----------------------------------------------------------------------
# Any module, both estimators
# ----------------------------------------------------------------------
class _TinyConvNet(nn.Module):
    def __init__(self, n_outputs):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3), nn.ReLU(), nn.Flatten(),
            nn.Linear(4 * 6 * 6, n_outputs))

    def forward(self, X):
        return self.layers(X)


@pytest.mark.parametrize("regularizer, params", [
    ("tv", {}),                                     # 10 logits: projected
    ("tv", {"regularizer__max_exact_outputs": 10}),  # 10 logits: exact
    ("ptv", {"regularizer__n_iter": 2}),
])
def test_classifier_with_a_conv_module(digits, regularizer, params):
    X_train, X_test, y_train, y_test = digits
    clf = LipschitzClassifier(
        module=_TinyConvNet(10), regularizer=regularizer, reg_lambda=0.01,
        lr=0.01, max_epochs=4, batch_size=128, random_state=0,
        **params).fit(X_train.reshape(-1, 1, 8, 8), y_train)
    penalties = clf.history[:, "penalty"]
    assert all(np.isfinite(p) and p > 0 for p in penalties)
    # Held-out accuracy measured 0.87-0.88.
    assert clf.score(X_test.reshape(-1, 1, 8, 8), y_test) > 0.8


@pytest.mark.parametrize("regularizer", ["tv", "ptv"])
@pytest.mark.parametrize("n_targets", [1, 2])
def test_regressor_with_a_conv_module(digits, regularizer, n_targets):
    X_train, _, y_train, _ = digits
    X = X_train.reshape(-1, 1, 8, 8)
    y = (y_train / 9.0).astype(np.float32)
    if n_targets == 2:
        y = np.column_stack([y, 1.0 - y])
    reg = LipschitzRegressor(
        module=_TinyConvNet(n_targets), regularizer=regularizer,
        reg_lambda=0.01, lr=0.01, max_epochs=8, batch_size=128,
        random_state=0).fit(X, y)
    assert reg.predict(X).shape == y.shape
    assert all(np.isfinite(p) and p > 0 for p in reg.history[:, "penalty"])
    assert reg.score(X, y) > 0.4  # measured 0.64-0.75


# ----------------------------------------------------------------------
# Bad parameters
# ----------------------------------------------------------------------
@pytest.mark.parametrize("regularizer, name, value, error", [
    ("tv", "max_exact_outputs", 0, ValueError),
    ("tv", "max_exact_outputs", 2.5, TypeError),
    ("tv", "n_projections", 0, ValueError),
    ("tv", "n_projections", True, TypeError),
    ("ptv", "n_iter", -1, ValueError),
    ("ptv", "n_iter", 1.5, TypeError),
    ("ptv", "relative_step_size", 0.0, ValueError),
    ("ptv", "relative_step_size", "large", TypeError),
    ("ptv", "step_factor", 1.0, ValueError),
    ("ptv", "min_epsilon", -1e-3, ValueError),
    ("ptv", "min_epsilon", float("nan"), ValueError),
    ("tv", "radius", 1.0, ValueError),  # not a parameter of TV
])
def test_bad_regularizer_parameters_name_the_parameter(
        polynomial_data, regularizer, name, value, error):
    X, y = polynomial_data
    reg = LipschitzRegressor(regularizer=regularizer, max_epochs=1,
                             **{f"regularizer__{name}": value})
    with pytest.raises(error, match=f"regularizer__{name}"):
        reg.fit(X, y)


@pytest.mark.parametrize("name, value", [
    ("epsilon", 0.0), ("epsilon", -1.0), ("epsilon", float("inf")),
    ("epsilon_decay", 0.0), ("epsilon_decay", -0.5),
    ("epsilon_decay", 1.5), ("epsilon_decay", "fast"),
])
def test_bad_epsilon_schedule_names_the_parameter(polynomial_data, name,
                                                  value):
    X, y = polynomial_data
    reg = LipschitzRegressor(regularizer="ptv", max_epochs=1,
                             **{name: value})
    with pytest.raises((ValueError, TypeError), match=name):
        reg.fit(X, y)


def test_bad_parameter_set_on_a_fitted_estimator(polynomial_data):
    X, y = polynomial_data
    reg = LipschitzRegressor(regularizer="tv", max_epochs=1,
                             hidden_layer_sizes=(4,)).fit(X, y)
    with pytest.raises(ValueError, match="regularizer__n_projections"):
        reg.set_params(regularizer__n_projections=0)
