"""``reg_lambda="path"``: λ chosen by a cross-validated path on the
training data before the fit."""

import numpy as np
import pytest
import torch

from sklip import (LipschitzClassifier, LipschitzClassifierCV,
                   LipschitzRegressor)

FAST = dict(hidden_layer_sizes=(16,), max_epochs=6, lr=0.02, batch_size=64,
            random_state=0)

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def small(digits):
    X, X_test, y, y_test = digits
    return X[:360], X_test[:200], y[:360], y_test[:200]


def test_path_trains_at_the_lambda_the_cv_search_chooses(small):
    X, _, y, _ = small
    clf = LipschitzClassifier(regularizer="tv", reg_lambda="path",
                              **FAST).fit(X, y)
    search = LipschitzClassifierCV(
        LipschitzClassifier(regularizer="tv", **FAST), refit=False).fit(X, y)
    assert clf.reg_lambda_ == pytest.approx(search.reg_lambda_)
    assert clf.reg_lambda_ in clf.lambda_path_["lambdas"]
    np.testing.assert_array_equal(clf.lambda_path_["scores"], search.scores_)
    # Every epoch trained at the chosen λ, and the parameter is unchanged.
    assert set(clf.history[:, "reg_lambda"]) == {clf.reg_lambda_}
    assert clf.get_params()["reg_lambda"] == "path"


def test_path_choice_is_forgotten_when_lambda_changes(small):
    X, _, y, _ = small
    clf = LipschitzClassifier(regularizer="clip", reg_lambda="path",
                              **FAST).fit(X, y)
    chosen = clf.reg_lambda_
    clf.partial_fit(X, y)  # continues at the chosen λ, no new search
    assert clf.reg_lambda_ == chosen
    clf.set_params(reg_lambda=0.5).fit(X, y)
    assert not hasattr(clf, "lambda_path_")
    assert clf.reg_lambda_ == 0.5


def test_path_for_a_regressor(polynomial_data):
    X, y = polynomial_data
    reg = LipschitzRegressor(regularizer="clip", reg_lambda="path",
                             hidden_layer_sizes=(16,), max_epochs=9,
                             lr=0.01, batch_size=20, random_state=0).fit(X, y)
    assert reg.reg_lambda_ in reg.lambda_path_["lambdas"]
    assert np.isfinite(reg.score(X, y))


def test_path_refuses_a_dataset(small):
    X, _, y, _ = small
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(X),
                                             torch.as_tensor(y))
    with pytest.raises(TypeError, match="reg_lambda='path'"):
        LipschitzClassifier(reg_lambda="path", classes=np.arange(10),
                            **FAST).fit(dataset, None)


@pytest.mark.parametrize("value", ["paths", "Auto", ""])
def test_unknown_lambda_strings_are_refused(small, value):
    X, _, y, _ = small
    with pytest.raises(ValueError, match="reg_lambda"):
        LipschitzClassifier(reg_lambda=value, **FAST).fit(X, y)
