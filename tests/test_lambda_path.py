"""The cross-validated λ path: warm starts, the rule, the fitted attributes,
validation before training, scikit-learn manners, every regulariser, and
a chosen model that keeps standard training's accuracy."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklip import (LipschitzClassifier, LipschitzClassifierCV,
                   LipschitzRegressor, LipschitzRegressorCV,
                   regularizer_names)
from sklip._lambda_path import default_eps, train_path
from sklip.metrics import make_robustness_scorer, pgd_accuracy_scorer
from sklip.model_selection import choose_lambda_index
from sklip.regularizers import get_regularizer

from .test_common import _rows_in

TINY = dict(hidden_layer_sizes=(32,), lr=0.01, batch_size=64,
            random_state=0)
#: A cheap robust score: the default worst case costs more than these
#: tests' training.
CHEAP = pgd_accuracy_scorer(eps=0.5, n_iter=5)


def _cv(max_epochs=3, **params):
    params = {"estimator": LipschitzClassifier(
        regularizer="tv", max_epochs=max_epochs, **TINY), "lambdas": 3,
        "cv": 2, "robust_scoring": CHEAP, **params}
    return LipschitzClassifierCV(**params)


@pytest.fixture(scope="module")
def small(digits):
    X, _, y, _ = digits
    return X[:300], y[:300]


@pytest.fixture(scope="module")
def fitted(small):
    return _cv().fit(*small)


# ----------------------------------------------------------------------
# The rule, as a pure function
# ----------------------------------------------------------------------
# Means over the two folds: clean .96 .955 .94 .90, robust .2 .4 .5 .7;
# the best clean λ (index 0) has a standard error of 0.01.
CLEAN = [[0.97, 0.965, 0.95, 0.91], [0.95, 0.945, 0.93, 0.89]]
ROBUST = [[0.2, 0.4, 0.5, 0.7], [0.2, 0.4, 0.5, 0.7]]


@pytest.mark.parametrize("rule, tolerance, index, threshold", [
    ("one_standard_error", None, 1, 0.95),
    ("tolerance", 0.02, 2, 0.94),
    ("tolerance", 0.0, 0, 0.96),
    ("best_robust", None, 3, -np.inf),
    ("best_clean", None, 0, 0.96),
])
def test_rule_picks_the_most_robust_admissible_lambda(rule, tolerance, index,
                                                      threshold):
    chosen, found = choose_lambda_index(CLEAN, ROBUST, rule,
                                        tolerance=0.01 if tolerance is None else tolerance)
    assert chosen == index
    assert found == pytest.approx(threshold)


def test_rule_breaks_ties_by_clean_score_then_larger_lambda():
    clean = [[0.9, 0.95, 0.95]]
    robust = [[0.5, 0.5, 0.5]]
    # One fold: no standard error, only the best clean score is admitted...
    assert choose_lambda_index(clean, robust)[0] == 2
    # ...and with every λ admitted the tie goes to the better clean score,
    # then to the larger λ.
    assert choose_lambda_index(clean, robust, "best_robust")[0] == 2
    assert choose_lambda_index([[0.95, 0.9]], [[0.5, 0.5]],
                               "best_robust")[0] == 0


def test_rule_skips_failed_points_and_names_bad_tables():
    clean = [[0.9, np.nan, 0.8]]
    robust = [[0.1, 0.9, 0.2]]
    assert choose_lambda_index(clean, robust, "best_robust")[0] == 2
    with pytest.raises(ValueError, match="one shape"):
        choose_lambda_index(CLEAN, [[0.1]])
    with pytest.raises(ValueError, match="rule must be one of"):
        choose_lambda_index(CLEAN, ROBUST, "best")


# ----------------------------------------------------------------------
# The path
# ----------------------------------------------------------------------
def test_path_is_warm_started_and_scored_at_every_point(small):
    X, y = small
    template = LipschitzClassifier(regularizer="tv", max_epochs=4, **TINY)
    lambdas = [0.001, 0.01, 0.1]
    result = train_path(template, X, y, lambdas, 2, np.arange(200),
                        np.arange(200, 300), (CHEAP,))
    est = result["estimator"]
    # One network: 4 epochs from scratch, then 2 per further point, each
    # at its own λ, in one history.
    assert result["epochs"].tolist() == [4, 2, 2]
    assert est.history[:, "reg_lambda"] == pytest.approx(
        [0.001] * 4 + [0.01] * 2 + [0.1] * 2)
    losses = est.history[:, "train_data_loss"]
    # The second point continues the first's network: its first epoch's
    # data loss goes on falling from the first point's last, far below a
    # network trained from scratch.
    assert losses[4] < losses[3] and losses[4] < 0.7 * losses[0]
    assert result["scores"].shape == (1, 3)
    assert np.all(np.isfinite(result["scores"]))
    # The template is untouched; the network gets its settings back.
    assert template.warm_start is False and not template.initialized_
    assert est.warm_start is False and est.max_epochs == 4


def test_fitted_attributes(fitted, small):
    X, y = small
    cv = fitted
    assert cv.lambdas_.shape == (3,) and np.all(np.diff(cv.lambdas_) > 0)
    for name in ("scores_", "robust_scores_", "fit_times_", "score_times_"):
        assert getattr(cv, name).shape == (2, 3), name
    assert cv.reg_lambda_ == cv.lambdas_[cv.best_index_]
    assert cv.rule_ == "one_standard_error"
    assert cv.best_index_ == choose_lambda_index(cv.scores_,
                                                 cv.robust_scores_)[0]
    assert isinstance(cv.robust_scoring_name_, str) and cv.robust_eps_ is None
    assert cv.n_features_in_ == 64 and cv.n_splits_ == 2
    np.testing.assert_array_equal(cv.classes_, np.arange(10))
    # The refit follows the path up to the chosen λ.
    best = cv.best_estimator_
    assert best.reg_lambda == cv.reg_lambda_
    assert len(best.history) == 3 + cv.best_index_ * cv.path_epochs_
    assert cv.path_epochs_ == 1  # max(1, 3 // 3)
    assert cv.predict(X[:5]).shape == (5,)
    assert cv.predict_proba(X[:5]).shape == (5, 10)
    assert cv.score(X, y) == pytest.approx(best.score(X, y))


def test_grid_is_centred_on_the_auto_lambda(small):
    X, y = small
    template = LipschitzClassifier(regularizer="tv", max_epochs=1, **TINY)
    cv = LipschitzClassifierCV(template, lambdas=4, cv=2,
                               robust_scoring=CHEAP).fit(X, y)
    auto = clone(template).fit(X, y).reg_lambda_
    assert np.any(np.isclose(cv.lambdas_, auto))
    assert cv.lambdas_[0] == pytest.approx(auto / 100, rel=0.5)
    explicit = LipschitzClassifierCV(template, lambdas=[0.0, 0.1], cv=2,
                                     robust_scoring=CHEAP).fit(X, y)
    np.testing.assert_array_equal(explicit.lambdas_, [0.0, 0.1])


def test_default_robust_scorer_is_the_worst_case_at_a_data_radius(small):
    X, y = small
    cv = _cv(max_epochs=1, robust_scoring=None, lambdas=2).fit(X, y)
    assert cv.robust_eps_ == pytest.approx(default_eps(X, y, True))
    # The digits in [0, 1]: 0.2 x their different-class distance (about 3).
    assert 0.4 < cv.robust_eps_ < 0.9
    assert "worst-case" in cv.robust_scoring_name_
    assert type(cv.robust_scorer_.attack).__name__ == "WorstCaseAttack"


def test_callable_rule(small):
    cv = _cv(max_epochs=1, lambdas=2,
             rule=lambda scores, robust, lambdas: 1).fit(*small)
    assert cv.best_index_ == 1 and cv.clean_threshold_ is None
    with pytest.raises(ValueError, match="must return the index"):
        _cv(max_epochs=1, lambdas=2,
            rule=lambda scores, robust, lambdas: 5).fit(*small)


def test_reproducible_and_global_rng_untouched(fitted, small):
    state = torch.random.get_rng_state()
    again = _cv().fit(*small)
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(again.scores_, fitted.scores_)
    np.testing.assert_array_equal(again.robust_scores_,
                                  fitted.robust_scores_)
    np.testing.assert_array_equal(again.predict_proba(small[0]),
                                  fitted.predict_proba(small[0]))


# ----------------------------------------------------------------------
# Validation before any training
# ----------------------------------------------------------------------
@pytest.mark.parametrize("params, error, message", [
    ({"estimator": LipschitzRegressor()}, TypeError, "^estimator must be"),
    ({"estimator": LipschitzClassifier(lr=-1)}, ValueError, "lr"),
    ({"lambdas": 1}, ValueError, "lambdas"),
    ({"lambdas": [0.1, 0.01]}, ValueError, "^lambdas must be"),
    ({"lambdas": [-1.0, 1.0]}, ValueError, "^lambdas must be"),
    ({"lambdas": "many"}, TypeError, "^lambdas must be"),
    ({"cv": 1}, ValueError, "cv"),
    ({"cv": "folds"}, TypeError, "^cv must be"),
    ({"scoring": "no_such_score"}, ValueError, "^scoring="),
    ({"robust_scoring": 3}, (TypeError, ValueError), "^robust_scoring="),
    ({"rule": "best"}, ValueError, "^rule must be one of"),
    ({"tolerance": -0.1}, ValueError, "tolerance"),
    ({"path_epochs": 0}, ValueError, "path_epochs"),
    ({"refit": "yes"}, TypeError, "^refit must be a bool"),
    ({"n_jobs": 0}, ValueError, "^n_jobs must be"),
])
def test_bad_parameters_are_named_before_training(params, error, message,
                                                  small, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before validating")

    monkeypatch.setattr("sklip.model_selection.train_path", no_training)
    cv = _cv(**params)
    with pytest.raises(error, match=message):
        cv.fit(*small)


def test_bad_data_and_missing_y_are_refused(small, monkeypatch):
    monkeypatch.setattr("sklip.model_selection.train_path", None)
    X, y = small
    with pytest.raises(ValueError, match="requires y"):
        _cv().fit(X)
    with pytest.raises(ValueError):
        _cv().fit(np.full_like(X, np.nan), y)


# ----------------------------------------------------------------------
# scikit-learn manners
# ----------------------------------------------------------------------
def test_clone_pipeline_pickle_and_no_training_data(fitted, small):
    X, y = small
    cv = _cv(max_epochs=1, lambdas=2)
    copy = clone(cv)
    assert copy.get_params(deep=False).keys() == cv.get_params(
        deep=False).keys()
    copy.set_params(estimator__regularizer="clip", lambdas=[0.01, 0.1])
    assert copy.estimator.regularizer == "clip"
    assert cv.estimator.regularizer == "tv"
    pipe = make_pipeline(MinMaxScaler(), copy).fit(X, y)
    assert pipe.predict(X[:3]).shape == (3,)
    blob = pickle.dumps(fitted)
    assert _rows_in(blob, X) == []
    np.testing.assert_array_equal(pickle.loads(blob).predict_proba(X[:20]),
                                  fitted.predict_proba(X[:20]))


def test_no_refit_gives_scores_without_predict(small):
    cv = _cv(max_epochs=1, lambdas=2, refit=False).fit(*small)
    assert not hasattr(cv, "best_estimator_") and not hasattr(cv, "predict")
    assert cv.scores_.shape == (2, 2)


def _check_settings(Estimator, Template):
    # Hundreds of fits on tiny data: tiny paths with a cheap noise score.
    return Estimator(Template(max_epochs=10, hidden_layer_sizes=(16,),
                              lr=0.02, random_state=0),
                     lambdas=[0.0001, 0.001], cv=2, path_epochs=2,
                     robust_scoring=make_robustness_scorer("noise",
                                                           sigma=0.1))



@parametrize_with_checks(
    [_check_settings(LipschitzClassifierCV, LipschitzClassifier),
     _check_settings(LipschitzRegressorCV, LipschitzRegressor)])
def test_sklearn_compatible_cv_estimator(estimator, check):
    check(estimator)


# ----------------------------------------------------------------------
# Every regulariser; the chosen model's accuracy
# ----------------------------------------------------------------------
@pytest.mark.parametrize("name", regularizer_names())
def test_every_regularizer(name, small):
    X, y = small
    X, y = X[:120], y[:120]
    cv = LipschitzClassifierCV(
        LipschitzClassifier(regularizer=name, max_epochs=1, **TINY),
        lambdas=2, cv=2, robust_scoring=CHEAP).fit(X, y)
    assert np.all(np.isfinite(cv.scores_)) and cv.reg_lambda_ > 0
    if get_regularizer(name).needs_classes:
        return
    target = X[:, :2].sum(axis=1)
    reg = LipschitzRegressorCV(
        LipschitzRegressor(regularizer=name, max_epochs=1, **TINY),
        lambdas=2, cv=2).fit(X, target)
    assert reg.robust_scores_.shape == (2, 2)
    assert np.all(reg.robust_scores_ <= 0)  # minus an MSE
    assert reg.predict(X[:4]).shape == (4,)


def test_chosen_model_keeps_standard_accuracy(digits):
    X_train, X_test, y_train, y_test = digits
    settings = dict(max_epochs=15, **TINY)
    standard = LipschitzClassifier(regularizer="none", **settings).fit(
        X_train, y_train).score(X_test, y_test)
    cv = LipschitzClassifierCV(
        LipschitzClassifier(regularizer="clip", **settings), lambdas=4,
        cv=2, robust_scoring=CHEAP).fit(X_train, y_train)
    assert cv.score(X_test, y_test) >= 0.95 * standard


def test_frontier_display_reads_the_fitted_path(fitted):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklip.plotting import FrontierDisplay

    disp = FrontierDisplay.from_cv_estimator(fitted)
    np.testing.assert_allclose(disp.lines_[0].get_xdata(),
                               fitted.scores_.mean(axis=0))
    assert disp.ax_.get_ylabel() == fitted.robust_scoring_name_
    # The legend names the template's regulariser.
    legend = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert fitted.estimator.regularizer in legend
    plt.close("all")
