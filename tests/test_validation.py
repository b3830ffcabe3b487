"""Bad input gets a clear error naming the parameter, before any training."""

import numpy as np
import pytest
import torch

from sklip import LipschitzClassifier, LipschitzRegressor, regularizer_names

FAST = dict(max_epochs=2, hidden_layer_sizes=(8,), random_state=0)


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(40, 3)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    return X, y


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a training step starts."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("training started before validation")
    monkeypatch.setattr(LipschitzClassifier, "train_step_single", refuse)
    monkeypatch.setattr(LipschitzRegressor, "train_step_single", refuse)


@pytest.mark.parametrize("Estimator", [LipschitzClassifier, LipschitzRegressor])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(Estimator, bad, data, no_training):
    X, y = data
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="(?i)X.*(NaN|infinity)"):
        Estimator(**FAST).fit(X, y)


@pytest.mark.parametrize("Estimator", [LipschitzClassifier, LipschitzRegressor])
def test_non_finite_y(Estimator, data, no_training):
    X, y = data
    y = y.astype(float)
    y[0] = np.nan
    with pytest.raises(ValueError, match="(?i)y.*NaN"):
        Estimator(**FAST).fit(X, y)


def test_regressor_y_overflowing_float32(data, no_training):
    X, y = data
    with pytest.raises(ValueError, match="(?i)y.*(NaN|infinity)"):
        LipschitzRegressor(**FAST).fit(X, y * 1e300)


@pytest.mark.parametrize("Estimator", [LipschitzClassifier, LipschitzRegressor])
def test_wrong_number_of_features_at_predict(Estimator, data):
    X, y = data
    est = Estimator(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="3 features"):
        est.predict(np.zeros((5, 4)))


@pytest.mark.parametrize("Estimator", [LipschitzClassifier, LipschitzRegressor])
def test_one_dimensional_X(Estimator, data, no_training):
    X, y = data
    with pytest.raises(ValueError, match="Expected 2D array"):
        Estimator(**FAST).fit(X[:, 0], y)


@pytest.mark.parametrize("Estimator", [LipschitzClassifier, LipschitzRegressor])
def test_empty_X(Estimator, no_training):
    with pytest.raises(ValueError, match="0 sample"):
        Estimator(**FAST).fit(np.zeros((0, 3)), np.zeros(0))


def test_mismatched_lengths(data, no_training):
    X, y = data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LipschitzClassifier(**FAST).fit(X, y[:-1])


def test_unknown_regularizer_lists_valid_names(data, no_training):
    X, y = data
    with pytest.raises(ValueError, match="regularizer must be one of") as info:
        LipschitzClassifier(regularizer="lasso", **FAST).fit(X, y)
    for name in regularizer_names():
        assert repr(name) in str(info.value)


def test_regularizer_of_wrong_type(data, no_training):
    X, y = data
    with pytest.raises(TypeError, match="regularizer"):
        LipschitzClassifier(regularizer=3, **FAST).fit(X, y)


def test_unknown_optimizer_lists_valid_names(data, no_training):
    X, y = data
    with pytest.raises(ValueError, match="optimizer must be one of") as info:
        LipschitzClassifier(optimizer="lbfgs2", **FAST).fit(X, y)
    for name in ("adam", "nag", "sgdm"):
        assert repr(name) in str(info.value)
    with pytest.raises(TypeError, match="optimizer"):
        LipschitzClassifier(optimizer=torch.nn.Linear, **FAST).fit(X, y)


@pytest.mark.parametrize("params, match", [
    ({"reg_lambda": -0.1}, "reg_lambda"),
    ({"reg_lambda": np.nan}, "reg_lambda"),
    ({"reg_lambda": "big"}, "reg_lambda"),
    ({"lr": 0.0}, "lr"),
    ({"lr": -1e-3}, "lr"),
    ({"max_epochs": -1}, "max_epochs"),
    ({"max_epochs": 2.5}, "max_epochs"),
    ({"batch_size": 0}, "batch_size"),
    ({"target_accuracy": 1.5}, "target_accuracy"),
    ({"warm_up": True}, "warm_up"),
    ({"warm_up": "yes", "target_accuracy": 0.5}, "warm_up"),
    ({"reg_lambda_step": -1.0}, "reg_lambda_step"),
    ({"reg_lambda_step": 0.1}, "target_accuracy"),
    ({"reg_lambda_update": "step"}, "reg_lambda_update"),
    ({"epsilon": 0.0}, "epsilon"),
    ({"epsilon_decay": 1.5}, "epsilon_decay"),
    ({"epsilon_decay": 0.0}, "epsilon_decay"),
    ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes"),
    ({"activation": "swish"}, "activation"),
    ({"module": "mlp"}, "module"),
    ({"device": "tpu:7"}, "device"),
    ({"regularizer": "clip", "regularizer__n_pairs": 0}, "regularizer__n_pairs"),
    ({"regularizer": "clip", "regularizer__init": "zeros"},
     "regularizer__init"),
    ({"regularizer": "clip", "regularizer__step_factor": 1.0},
     "regularizer__step_factor"),
    ({"regularizer": "sumlip", "regularizer__typo": 1}, "regularizer__typo"),
])
def test_bad_hyperparameters(params, match, data, no_training):
    X, y = data
    with pytest.raises((ValueError, TypeError), match=match):
        LipschitzClassifier(**{**FAST, **params}).fit(X, y)


def test_cuda_device_without_cuda(data, no_training):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error is for machines without")
    X, y = data
    with pytest.raises(ValueError, match="device"):
        LipschitzClassifier(device="cuda", **FAST).fit(X, y)


def test_predict_before_fit():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        LipschitzRegressor().predict(np.zeros((2, 3)))


def test_classifier_rejects_continuous_targets(data, no_training):
    X, _ = data
    with pytest.raises(ValueError, match="Unknown label type"):
        LipschitzClassifier(**FAST).fit(X, np.linspace(0, 1, len(X)))


def test_diverging_training_raises_instead_of_returning_nan_weights():
    # A step too large for CLIP's penalty at λ = 1: the loss becomes NaN in
    # epoch 13 (seeded); without the check fit returned NaN weights.
    from sklip.datasets import load_digits_scaled

    X, y = load_digits_scaled()
    clf = LipschitzClassifier(regularizer="clip", reg_lambda=1.0,
                              optimizer="sgdm", lr=0.1,
                              hidden_layer_sizes=(64,), max_epochs=15,
                              random_state=0)
    with pytest.raises(FloatingPointError, match="diverged.*lr"):
        clf.fit(X, y)


@pytest.mark.parametrize("params, error, match", [
    ({"random_state": "x"}, ValueError, r"random_state must be None, an int"),
    ({"random_state": -1}, ValueError, r"random_state .*\[0, 2\*\*32 - 1\]"),
    ({"random_state": 2**40}, ValueError, r"random_state"),
    ({"target_accuracy": -0.1}, ValueError, "target_accuracy"),
    ({"criterion": "mse"}, TypeError, "criterion must be"),
    ({"callbacks": "x"}, TypeError, "callbacks must be"),
    ({"callbacks": [3]}, TypeError, "callbacks must be"),
    ({"train_split": "x"}, TypeError, "train_split must be"),
    ({"iterator_train__batch_size": 0}, ValueError,
     "iterator_train__batch_size"),
    ({"iterator_valid__batch_size": -2}, ValueError,
     "iterator_valid__batch_size"),
    ({"hidden_layer_sizes": (10**9,)}, ValueError,
     r"hidden_layer_sizes=\(1000000000,\) needs about"),
])
def test_bad_hyperparameters_are_named_before_training(params, error, match,
                                                       data, no_training):
    X, y = data
    with pytest.raises(error, match=match):
        LipschitzClassifier(**{**FAST, **params}).fit(X, y)


def test_huge_pair_count_is_refused_before_allocating(data):
    X, y = data
    with pytest.raises(ValueError, match=r"n_pairs=1000000000 needs about"):
        LipschitzClassifier(regularizer__n_pairs=10**9, **FAST).fit(X, y)


def test_zero_epochs_warn_that_nothing_is_trained(data):
    X, y = data
    with pytest.warns(UserWarning, match="max_epochs=0"):
        LipschitzClassifier(**{**FAST, "max_epochs": 0}).fit(X, y)
