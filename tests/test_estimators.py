"""The scikit-learn contract of LipschitzClassifier and LipschitzRegressor."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip._auto_lambda import auto_lambda_scale, loss_and_separation
from sklip.regularizers import CLIPRegularizer, SumLipRegularizer

FAST = dict(max_epochs=3, hidden_layer_sizes=(16,), lr=0.01, random_state=0)


def test_fitted_attributes(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(regularizer="clip", **FAST).fit(X, y)
    assert clf.n_features_in_ == 64
    assert clf.input_shape_ == (64,)
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    # reg_lambda="auto": CLIP's searched λ, scaled to the data (the digits'
    # classes are closer than MNIST's, so it shrinks).
    scale = auto_lambda_scale(loss_and_separation(X, y, classification=True),
                              CLIPRegularizer.quotient_power)
    assert 0 < scale < 1
    assert clf.reg_lambda_ == pytest.approx(
        scale * CLIPRegularizer.default_lambda)
    assert isinstance(clf.regularizer_, CLIPRegularizer)
    assert clf.regularizer == "clip"  # the hyperparameter is left as given
    keys = {"train_loss", "train_score", "reg_lambda", "penalty",
            "lipschitz", "warmed_up", "dur"}
    assert keys <= set(clf.history[-1])
    assert len(clf.history) == 3
    assert all(p > 0 for p in clf.history[:, "penalty"])
    assert all(lip > 0 for lip in clf.history[:, "lipschitz"])
    proba = clf.predict_proba(X[:5])
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)],
                                  clf.predict(X[:5]))


def test_clone_keeps_params_and_drops_fit(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(regularizer="sumlip", reg_lambda=0.3,
                              regularizer__n_pairs=8, **FAST).fit(X, y)
    twin = clone(clf)
    assert twin.get_params()["reg_lambda"] == 0.3
    assert twin.get_params()["regularizer__n_pairs"] == 8
    assert not hasattr(twin, "module_")
    twin.fit(X, y)
    np.testing.assert_allclose(twin.predict_proba(X[:50]),
                               clf.predict_proba(X[:50]), rtol=1e-5)


@pytest.mark.parametrize("Estimator", [LipschitzClassifier, LipschitzRegressor])
def test_pickle_round_trip_gives_identical_predictions(Estimator, digits):
    X, X_test, y, _ = digits
    est = Estimator(regularizer="clip", **FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X_test), est.predict(X_test))
    # The regulariser's pair state travels too, so training can continue.
    assert restored.regularizer_.search_.u.shape == est.regularizer_.search_.u.shape
    restored.partial_fit(X, y)


def test_pipeline_with_scaler(digits):
    X, X_test, y, y_test = digits
    pipe = make_pipeline(StandardScaler(),
                         LipschitzClassifier(max_epochs=10, lr=0.01,
                                             random_state=0))
    pipe.fit(X * 16, y)
    assert pipe.score(X_test * 16, y_test) > 0.85


def test_grid_search_over_lambda_and_regularizer_in_parallel(digits):
    X, _, y, _ = digits
    search = GridSearchCV(
        LipschitzClassifier(**{**FAST, "max_epochs": 10}),
        {"reg_lambda": [0.0, 0.1], "regularizer": ["clip", "sumlip"]},
        cv=2, n_jobs=2)
    search.fit(X[:600], y[:600])
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_.regularizer in ("clip", "sumlip")
    assert search.best_score_ > 0.5


def test_nested_regularizer_params_in_grid_search(digits):
    X, _, y, _ = digits
    search = GridSearchCV(LipschitzClassifier(regularizer="clip", **FAST),
                          {"regularizer__n_iter": [1, 3]}, cv=2)
    search.fit(X[:400], y[:400])
    assert search.best_estimator_.regularizer_.n_iter in (1, 3)


def test_regularizer_params_on_fitted_estimator(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(regularizer="clip", **FAST).fit(X, y)
    clf.set_params(regularizer__n_iter=4, regularizer__n_pairs=7)
    assert clf.regularizer_.n_iter == 4
    assert clf.get_params()["regularizer__n_iter"] == 4
    clf.partial_fit(X, y)  # continues training with the new pair set
    assert clf.regularizer_.search_.u.shape[0] == 7
    clf.set_params(regularizer="sumlip")
    assert isinstance(clf.regularizer_, SumLipRegularizer)
    with pytest.raises(ValueError, match="regularizer__bogus"):
        clf.set_params(regularizer__bogus=1)


def test_regularizer_object_is_cloned_not_mutated(digits):
    X, _, y, _ = digits
    reg = CLIPRegularizer(n_pairs=5)
    clf = LipschitzClassifier(regularizer=reg, **FAST).fit(X, y)
    assert clf.regularizer_ is not reg
    assert not hasattr(reg, "search_")
    assert clf.regularizer_.n_pairs == 5


def test_string_labels(digits):
    X, X_test, y, y_test = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"])
    clf = LipschitzClassifier(**{**FAST, "max_epochs": 15}).fit(X, names[y])
    assert set(clf.classes_) == set(names)
    predicted = clf.predict(X_test)
    assert predicted.dtype.kind == "U"
    assert np.mean(predicted == names[y_test]) > 0.8
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X[:10], np.array(["eleven"] * 10))


def test_pandas_and_float64_input_match_float32(digits):
    X, X_test, y, _ = digits
    est32 = LipschitzRegressor(**FAST).fit(X.astype(np.float32), y)
    est64 = LipschitzRegressor(**FAST).fit(X.astype(np.float64),
                                           y.astype(np.float64))
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    est_pd = LipschitzRegressor(**FAST).fit(frame, pd.Series(y))
    expected = est32.predict(X_test)
    np.testing.assert_allclose(est64.predict(X_test.astype(np.float64)),
                               expected, rtol=1e-5)
    test_frame = pd.DataFrame(X_test, columns=frame.columns)
    np.testing.assert_allclose(est_pd.predict(test_frame), expected, rtol=1e-5)
    assert list(est_pd.feature_names_in_) == list(frame.columns)


def test_random_state_reproducible_and_global_rng_untouched(digits):
    X, X_test, y, _ = digits
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = LipschitzClassifier(regularizer="clip", **FAST).fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)
    second = LipschitzClassifier(regularizer="clip", **FAST).fit(X, y)
    other = LipschitzClassifier(regularizer="clip",
                                **{**FAST, "random_state": 1}).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X_test),
                                  second.predict_proba(X_test))
    assert not np.allclose(first.predict_proba(X_test),
                           other.predict_proba(X_test))


def test_regressor_targets_1d_and_2d():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(200, 3)).astype(np.float32)
    Y = np.stack([X.sum(1), X[:, 0] - X[:, 1]], axis=1)
    reg = LipschitzRegressor(max_epochs=60, lr=0.01, random_state=0,
                             regularizer="none").fit(X, Y)
    assert reg.predict(X).shape == (200, 2)
    assert reg.score(X, Y) > 0.9
    reg1 = LipschitzRegressor(max_epochs=60, lr=0.01, random_state=0,
                              regularizer="none").fit(X, Y[:, 0])
    assert reg1.predict(X).shape == (200,)
    assert reg1.score(X, Y[:, 0]) > 0.9


@pytest.mark.parametrize("optimizer", ["sgdm", "nag", "adam",
                                       torch.optim.RMSprop])
def test_optimizers_train(optimizer, digits):
    X, X_test, y, y_test = digits
    lr = 0.05 if optimizer in ("sgdm", "nag") else 0.005
    clf = LipschitzClassifier(optimizer=optimizer, lr=lr, max_epochs=8,
                              random_state=0, regularizer="none").fit(X, y)
    assert clf.score(X_test, y_test) > 0.85
    expected = torch.optim.SGD if optimizer in ("sgdm", "nag") else \
        (torch.optim.Adam if optimizer == "adam" else optimizer)
    assert type(clf.optimizer_) is expected
    if optimizer == "nag":
        assert clf.optimizer_.param_groups[0]["nesterov"]


def test_optimizer_params_are_routed(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(optimizer="sgdm", optimizer__momentum=0.5,
                              **FAST).fit(X, y)
    assert clf.optimizer_.param_groups[0]["momentum"] == 0.5


class _SmallConvNet(nn.Module):
    def __init__(self, n_classes=10, channels=4):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(channels * 64, n_classes))

    def forward(self, X):
        return self.body(X)


@pytest.mark.parametrize("regularizer", ["clip", "sumlip"])
def test_convolutional_module_on_image_input(regularizer, digits):
    X, X_test, y, y_test = digits
    images, test_images = X.reshape(-1, 1, 8, 8), X_test.reshape(-1, 1, 8, 8)
    clf = LipschitzClassifier(_SmallConvNet, module__channels=4,
                              regularizer=regularizer, max_epochs=8, lr=0.005,
                              random_state=0).fit(images, y)
    assert clf.input_shape_ == (1, 8, 8)
    assert clf.score(test_images, y_test) > 0.8
    with pytest.raises(ValueError, match="features"):
        clf.predict(X_test)  # flat input for an image model


def test_module_instance_is_copied_not_trained(digits):
    X, _, y, _ = digits
    net = nn.Sequential(nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    before = [p.detach().clone() for p in net.parameters()]
    clf = LipschitzClassifier(net, **FAST).fit(X, y)
    assert clf.module_ is not net
    for p, q in zip(before, net.parameters()):
        assert torch.equal(p, q)
    assert not all(torch.equal(p, q) for p, q in
                   zip(before, clf.module_.parameters()))


def test_penalty_only_while_training(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(regularizer="clip", reg_lambda=1.0, **FAST)
    clf.fit(X, y)
    # Evaluation goes through get_loss only: equal to the plain loss.
    Xt, yt = torch.as_tensor(X[:64]), torch.as_tensor(y[:64])
    with torch.no_grad():
        loss = clf.get_loss(clf.module_(Xt), yt, X=Xt, training=False)
        plain = nn.functional.cross_entropy(clf.module_(Xt), yt)
    assert float(loss) == pytest.approx(float(plain), rel=1e-6)


def test_rejected_regularizer_params_leave_fitted_estimator_intact(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(regularizer="clip", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="regularizer__n_pairs"):
        clf.set_params(regularizer__n_pairs=-3)
    assert "regularizer__n_pairs" not in clf.get_params()
    clf.partial_fit(X, y)


class _NaNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(64, 10)

    def forward(self, X):
        return self.linear(X) * float("nan")


def test_estimator_stopped_by_an_error_still_pickles(digits):
    import pickle

    X, _, y, _ = digits
    clf = LipschitzClassifier(_NaNNet, regularizer="clip", max_epochs=5,
                              random_state=0)
    with pytest.raises(FloatingPointError, match="diverged"):
        clf.fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert copy.initialized_
