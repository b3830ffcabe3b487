"""Training that fails says so: divergence raises, a collapse to chance or
to a constant predictor warns, an interrupted fit warns and is recorded,
and a module that does not fit the data is refused before training."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.datasets import load_digits_scaled

FAST = dict(max_epochs=6, hidden_layer_sizes=(32,), random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits_scaled()
    return X[:600], y[:600]


def _fit(est, X, y):
    """Fit, returning the estimator (or the error) and the
    ConvergenceWarnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X, y)
            outcome = est
        except FloatingPointError as exc:
            outcome = exc
    return outcome, [str(w.message) for w in caught
                     if issubclass(w.category, ConvergenceWarning)]


@pytest.fixture
def no_training(monkeypatch):
    """Make any training fail loudly: errors must come before it."""
    def fail(*args, **kwargs):
        raise AssertionError("training started")
    monkeypatch.setattr(NeuralNet, "fit_loop", fail)


# Divergence and collapse -------------------------------------------------
@pytest.mark.parametrize("optimizer", ["adam", "sgdm", "nag"])
@pytest.mark.parametrize("regularizer", ["none", "clip"])
def test_a_huge_learning_rate_is_reported(digits, optimizer, regularizer):
    X, y = digits
    params = {} if regularizer == "none" else {"reg_lambda": 0.1}
    clf = LipschitzClassifier(regularizer=regularizer, optimizer=optimizer,
                              lr=10, **params, **FAST)
    outcome, collapsed = _fit(clf, X, y)
    messages = collapsed + ([str(outcome)]
                            if isinstance(outcome, Exception) else [])
    assert messages, "lr=10 trained silently"
    # The cause named first is the step size, not λ.
    for message in messages:
        causes = message.split("most likely first:")[1]
        assert causes.strip().startswith(f"lr=10 is large for "
                                         f"optimizer={optimizer!r}")
    if not isinstance(outcome, Exception):
        assert outcome.score(X, y) < 0.3  # the warning was right


def test_a_finite_blow_up_raises(digits):
    # The loss stays finite (about 1e4) but is thousands of times what the
    # fit started from: an error, not a returned network.
    X, y = digits
    clf = LipschitzClassifier(regularizer="clip", reg_lambda=0.1, lr=10,
                              **FAST)
    with pytest.raises(FloatingPointError, match=r"diverged.*over 10×"):
        clf.fit(X, y)


@pytest.mark.parametrize("regularizer", ["clip", "sumlip", "tv", "ptv"])
def test_a_huge_lambda_warns_that_it_collapsed(digits, regularizer):
    X, y = digits
    clf = LipschitzClassifier(regularizer=regularizer, reg_lambda=1e3,
                              **FAST)
    outcome, collapsed = _fit(clf, X, y)
    assert collapsed, f"{regularizer} at λ=1e3 trained silently"
    assert "reg_lambda" in collapsed[0] and f"'{regularizer}'" in collapsed[0]
    assert outcome.score(X, y) < 0.3


def test_a_normal_fit_neither_warns_nor_raises(digits):
    X, y = digits
    outcome, collapsed = _fit(LipschitzClassifier(regularizer="clip",
                                                  lr=0.01, **FAST), X, y)
    assert collapsed == []
    assert outcome.score(X, y) > 0.8


def test_huge_inputs_point_at_the_input_scale(digits):
    X, y = digits
    outcome, collapsed = _fit(LipschitzClassifier(regularizer="none",
                                                  **FAST), X * 1e30, y)
    messages = collapsed + ([str(outcome)]
                            if isinstance(outcome, Exception) else [])
    assert messages
    assert all("most likely first: the inputs X reach 1e+30" in m
               for m in messages)


def test_huge_targets_point_at_the_target_scale(digits):
    X, y = digits
    outcome, collapsed = _fit(LipschitzRegressor(regularizer="none",
                                                 **FAST), X, y * 1e6)
    assert collapsed
    assert "most likely first: the targets y have a standard deviation" \
        in collapsed[0]


def test_the_data_loss_is_recorded_every_epoch(digits):
    X, y = digits
    clf = LipschitzClassifier(regularizer="clip", reg_lambda=0.1,
                              **FAST).fit(X, y)
    data_loss = clf.history[:, "train_data_loss"]
    assert len(data_loss) == FAST["max_epochs"]
    assert data_loss[-1] < data_loss[0]
    # The training loss adds the (non-negative) penalty to it.
    assert all(d <= t + 1e-6 for d, t in zip(
        data_loss, clf.history[:, "train_loss"]))


# Interruption -----------------------------------------------------------
class _CtrlC(Callback):
    """Ctrl-C during the training step of the third epoch."""

    def on_batch_begin(self, net, training=False, **kwargs):
        if training and len(net.history) == 3:
            _press_ctrl_c()


def _press_ctrl_c():
    raise KeyboardInterrupt


def test_an_interrupted_fit_warns_and_is_recorded(digits):
    X, y = digits
    clf = LipschitzClassifier(regularizer="clip", callbacks=[_CtrlC()],
                              **FAST)
    with pytest.warns(ConvergenceWarning,
                      match=r"interrupted .* in epoch 3 of max_epochs=6"):
        clf.fit(X, y)
    assert len(clf.history) == 3
    assert clf.history[-1, "interrupted"] is True
    assert "interrupted" not in clf.history[-2]
    assert clf.predict(X).shape == (len(X),)  # still a usable estimator


def test_early_stopping_is_not_an_interruption(digits):
    X, y = digits
    clf = LipschitzClassifier(
        regularizer="none", lr=0.01,
        callbacks=[EarlyStopping(monitor="train_loss", patience=1,
                                 threshold=10.0)], **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y)
    assert len(clf.history) < FAST["max_epochs"]
    assert "interrupted" not in clf.history[-1]


# The module probe --------------------------------------------------------
class _Linear(torch.nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.linear = torch.nn.Linear(n_in, n_out)

    def forward(self, X):
        return self.linear(X)


@pytest.mark.parametrize("estimator, module, match", [
    (LipschitzClassifier, _Linear(10, 10),
     r"module _Linear cannot take the samples of X.*64 values"),
    (LipschitzClassifier, _Linear(64, 5),
     r"output of shape \(256, 5\).*needs \(256, 10\).*10 classes"),
    (LipschitzRegressor, _Linear(64, 3),
     r"output of shape \(256, 3\), but y has 1 target"),
    (LipschitzRegressor, _Linear(7, 1),
     r"module _Linear cannot take the samples of X"),
])
def test_a_module_that_does_not_fit_the_data_is_refused(
        digits, no_training, estimator, module, match):
    X, y = digits
    with pytest.raises(ValueError, match=match):
        estimator(module, max_epochs=2, random_state=0).fit(
            X, y.astype(float) if estimator is LipschitzRegressor else y)


def test_the_probe_reads_one_item_of_a_dataset(digits, no_training):
    X, y = digits
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(X),
                                             torch.as_tensor(y))
    clf = LipschitzClassifier(_Linear(10, 10), classes=range(10),
                              max_epochs=2, random_state=0)
    with pytest.raises(ValueError, match=r"1 sample\(s\) of shape \(64,\)"):
        clf.fit(dataset)


def test_the_probe_leaves_batch_norm_and_dropout_modules_alone(digits):
    X, y = digits
    module = torch.nn.Sequential(torch.nn.Linear(64, 32),
                                 torch.nn.BatchNorm1d(32), torch.nn.ReLU(),
                                 torch.nn.Dropout(0.2),
                                 torch.nn.Linear(32, 10))
    first = LipschitzClassifier(module, regularizer="none", lr=0.01,
                                **FAST).fit(X, y)
    again = LipschitzClassifier(module, regularizer="none", lr=0.01,
                                **FAST).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X),
                                  again.predict_proba(X))
    assert first.score(X, y) > 0.8


def test_warm_start_with_a_new_input_shape_is_refused(digits):
    X, y = digits
    clf = LipschitzClassifier(warm_start=True, **FAST).fit(X, y)
    weights = next(clf.module_.parameters()).detach().clone()
    with pytest.raises(ValueError,
                       match=r"X has 32 features.*warm_start=True"):
        clf.fit(X[:, :32], y)
    # The refused call changed nothing; the same shape keeps training.
    assert clf.input_shape_ == (64,)
    np.testing.assert_array_equal(next(clf.module_.parameters()).detach(),
                                  weights)
    epochs = len(clf.history)
    clf.fit(X, y)
    assert len(clf.history) == 2 * epochs


def test_warm_start_with_new_classes_is_refused(digits):
    X, y = digits
    keep = y < 5
    clf = LipschitzClassifier(warm_start=True, **FAST).fit(X[keep], y[keep])
    with pytest.raises(ValueError, match=r"labels \[5, 6, 7, 8, 9\].*"
                                         r"warm_start=True"):
        clf.fit(X, y)


@pytest.mark.parametrize("as_frame", [False, True])
def test_string_columns_name_x(digits, as_frame, no_training):
    X, y = digits
    X = X[:20].astype(object)
    X[3, 5] = "seven"
    if as_frame:
        pd = pytest.importorskip("pandas")
        X = pd.DataFrame(X)
    with pytest.raises(ValueError, match=r"X must hold numbers only.*seven"):
        LipschitzClassifier(max_epochs=2).fit(X, y[:20])
