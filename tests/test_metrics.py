"""Tests of sklip.metrics (robustness functions, scorers in model selection,
the RobustnessScoring callback) and of the "adversarial" regulariser."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, cross_validate
from skorch.dataset import ValidSplit

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.attacks import FGSMAttack, NoiseAttack, PGDAttack
from sklip.metrics import (LipschitzScorer, RobustnessScorer,
                           RobustnessScoring, adversarial_accuracy,
                           adversarial_error, adversarial_mse,
                           adversarial_neg_mse_scorer, fgsm_accuracy_scorer,
                           lipschitz_scorer, make_robustness_scorer,
                           noise_accuracy_scorer, pgd_accuracy_scorer,
                           robustness_curve)
from sklip.regularizers import (AdversarialRegularizer, get_regularizer,
                                regularizer_names)

FGSM = FGSMAttack(0.1, norm="inf", clamp=(0, 1))



def _tiny_classifier(**params):
    return LipschitzClassifier(**{
        "regularizer": "none", "hidden_layer_sizes": (32,), "max_epochs": 8,
        "lr": 0.005, "random_state": 0, **params})



@pytest.fixture(scope="module")
def poly_reg(polynomial_data):
    X, y = polynomial_data
    return LipschitzRegressor(regularizer="none", hidden_layer_sizes=(16,),
                              max_epochs=30, lr=0.01,
                              random_state=0).fit(X, y)


# ----------------------------------------------------------------------
# Array-level functions
# ----------------------------------------------------------------------
def test_adversarial_accuracy_and_error(digits, digits_clf):
    _, X_test, _, y_test = digits
    clean = digits_clf.score(X_test, y_test)
    acc = adversarial_accuracy(digits_clf, X_test, y_test, FGSM)
    assert 0 <= acc < clean - 0.1
    assert adversarial_error(digits_clf, X_test, y_test, FGSM) == \
        pytest.approx(1 - acc)
    # Labels are validated like predict's: strings work end to end.
    labels = np.array(list("abcdefghij"))
    X_train, _, y_train, _ = digits
    clf = _tiny_classifier(max_epochs=3).fit(X_train, labels[y_train])
    assert 0 <= adversarial_accuracy(clf, X_test, labels[y_test], FGSM) <= 1


def test_adversarial_mse(polynomial_data, poly_reg):
    X, y = polynomial_data
    clean = np.mean((poly_reg.predict(X) - y) ** 2)
    assert adversarial_mse(poly_reg, X, y, FGSMAttack(0.05)) > clean


def test_functions_reject_the_wrong_estimator(digits, digits_clf,
                                              polynomial_data, poly_reg):
    X, y = polynomial_data
    with pytest.raises(TypeError, match="needs a classifier"):
        adversarial_accuracy(poly_reg, X, y, FGSMAttack(0.1))
    _, X_test, _, y_test = digits
    with pytest.raises(TypeError, match="needs a regressor"):
        adversarial_mse(digits_clf, X_test, y_test, FGSMAttack(0.1))


# ----------------------------------------------------------------------
# Robustness curve
# ----------------------------------------------------------------------
def test_robustness_curve(digits, digits_clf):
    _, X_test, _, y_test = digits
    eps_values = [0.0, 0.05, 0.1, 0.2]
    curve = robustness_curve(digits_clf, X_test, y_test, "pgd", eps_values,
                             norm="inf", n_iter=5, clamp=(0, 1),
                             random_state=0)
    acc = curve["accuracy"]
    assert curve["clean_accuracy"] == digits_clf.score(X_test, y_test)
    assert acc[0] == curve["clean_accuracy"]
    assert np.all(np.diff(acc) <= 0.01)  # monotone up to random starts
    assert acc[-1] < acc[0] - 0.3
    assert curve["attack"] == "pgd" and curve["attack_params"]["n_iter"] == 5
    assert "eps" not in curve["attack_params"]
    np.testing.assert_array_equal(curve["eps_values"], eps_values)
    assert "radii" not in curve

    # An attack object keeps its other parameters; noise varies sigma.
    curve = robustness_curve(digits_clf, X_test, y_test,
                             NoiseAttack(1.0, random_state=0), [0, 0.5])
    assert curve["attack"] == "noise" and curve["accuracy"][1] < \
        curve["accuracy"][0]
    with pytest.raises(ValueError, match="eps_values"):
        robustness_curve(digits_clf, X_test, y_test, "fgsm", [-1.0])
    with pytest.raises(ValueError, match="eps_values="):
        robustness_curve(digits_clf, X_test, y_test, "fgsm", [0.1], eps=0.1)
    with pytest.raises(ValueError, match="attack must be one of"):
        robustness_curve(digits_clf, X_test, y_test, "deepfool", [0.1])


# ----------------------------------------------------------------------
# Scorers
# ----------------------------------------------------------------------
def test_scorers_in_grid_search_with_refit(digits):
    X_train, _, y_train, _ = digits
    X, y = X_train[:600], y_train[:600]
    scoring = {"clean": "accuracy",
               "fgsm": fgsm_accuracy_scorer(0.1, clamp=(0, 1)),
               "pgd": pgd_accuracy_scorer(1.0, n_iter=5, clamp=(0, 1)),
               "noise": noise_accuracy_scorer(0.3)}
    search = GridSearchCV(
        _tiny_classifier(max_epochs=4),
        {"regularizer": ["none", "adversarial"]}, scoring=scoring,
        refit="pgd", cv=2, n_jobs=2, error_score="raise").fit(X, y)
    results = search.cv_results_
    for name in scoring:
        assert np.all(np.isfinite(results[f"mean_test_{name}"]))
    assert np.all(results["mean_test_fgsm"] < results["mean_test_clean"])
    assert search.best_index_ == np.argmax(results["mean_test_pgd"])
    assert search.best_estimator_.score(X, y) > 0.5


def test_scorers_in_cross_validate_on_a_regressor(polynomial_data):
    X, y = polynomial_data
    scoring = {"mse": "neg_mean_squared_error",
               "fgsm": adversarial_neg_mse_scorer("fgsm", eps=0.05),
               "pgd": make_robustness_scorer("pgd", eps=0.05, n_iter=3,
                                             random_state=0)}
    reg = LipschitzRegressor(regularizer="none", hidden_layer_sizes=(16,),
                             max_epochs=20, lr=0.01, random_state=0)
    results = cross_validate(reg, X, y, scoring=scoring, cv=3, n_jobs=2,
                             error_score="raise")
    assert np.all(results["test_fgsm"] <= results["test_mse"])
    assert np.all(results["test_pgd"] <= results["test_mse"])


def test_scorers_reject_the_wrong_estimator(digits, digits_clf,
                                            polynomial_data, poly_reg):
    X, y = polynomial_data
    with pytest.raises(TypeError, match="adversarial_neg_mse_scorer"):
        fgsm_accuracy_scorer(0.1)(poly_reg, X, y)
    _, X_test, _, y_test = digits
    with pytest.raises(TypeError, match="pgd_accuracy_scorer"):
        adversarial_neg_mse_scorer("fgsm", eps=0.1)(digits_clf, X_test,
                                                     y_test)


def test_scorer_factories_validate_early():
    with pytest.raises(ValueError, match="eps"):
        pgd_accuracy_scorer(-1.0)
    with pytest.raises(ValueError, match="metric"):
        make_robustness_scorer("fgsm", eps=0.1, metric="f1")
    with pytest.raises(ValueError, match="needs sigma"):
        make_robustness_scorer("noise")


def test_scorers_and_attacks_pickle(digits, digits_clf):
    _, X_test, _, y_test = digits
    scorers = [fgsm_accuracy_scorer(0.1, clamp=(0, 1)),
               pgd_accuracy_scorer(1.0, n_iter=3),
               noise_accuracy_scorer(0.5),
               adversarial_neg_mse_scorer("fgsm", eps=0.1),
               lipschitz_scorer(n_pairs=8, n_iter=2)]
    for scorer in scorers:
        copy = pickle.loads(pickle.dumps(scorer))
        assert type(copy) is type(scorer) and repr(copy) == repr(scorer)
    for scorer in scorers[:3]:
        copy = pickle.loads(pickle.dumps(scorer))
        assert copy(digits_clf, X_test, y_test) == \
            scorer(digits_clf, X_test, y_test)
    assert isinstance(scorers[0], RobustnessScorer)
    assert isinstance(scorers[-1], LipschitzScorer)


# ----------------------------------------------------------------------
# RobustnessScoring callback
# ----------------------------------------------------------------------
def test_robustness_scoring_records_attacked_accuracy(digits):
    X_train, X_test, y_train, y_test = digits
    attack = PGDAttack(0.1, norm="inf", n_iter=3, clamp=(0, 1))
    callback = RobustnessScoring(attack, X_test, y_test)
    clf = _tiny_classifier(callbacks=[callback]).fit(X_train, y_train)
    recorded = clf.history[:, "pgd_accuracy"]
    assert len(recorded) == clf.max_epochs
    clean = clf.score(X_test, y_test)
    assert recorded[-1] < clean - 0.1  # attacked, not cached clean outputs
    # The attack's random starts do not shift training's random stream.
    plain = _tiny_classifier().fit(X_train, y_train)
    np.testing.assert_array_equal(plain.predict(X_test),
                                  clf.predict(X_test))


def test_robustness_scoring_on_the_validation_split(digits):
    X_train, _, y_train, _ = digits
    callback = RobustnessScoring(FGSM)
    clf = _tiny_classifier(max_epochs=3, train_split=ValidSplit(4),
                           callbacks=[callback]).fit(X_train, y_train)
    valid_fgsm = clf.history[:, "valid_fgsm_accuracy"]
    assert len(valid_fgsm) == 3 and all(0 <= v <= 1 for v in valid_fgsm)
    # Without a split there is nothing to score.
    clf = _tiny_classifier(max_epochs=2, callbacks=[RobustnessScoring(FGSM)])
    clf.fit(X_train, y_train)
    assert "valid_fgsm_accuracy" not in clf.history[-1]


def test_robustness_scoring_on_a_regressor(polynomial_data):
    X, y = polynomial_data
    callback = RobustnessScoring(FGSMAttack(0.05), X, y, name="fgsm_mse")
    reg = LipschitzRegressor(regularizer="none", hidden_layer_sizes=(16,),
                             max_epochs=5, lr=0.01, random_state=0,
                             callbacks=[callback]).fit(X, y)
    assert reg.history[-1, "fgsm_mse"] > np.mean((reg.predict(X) - y) ** 2)


# ----------------------------------------------------------------------
# The "adversarial" regulariser
# ----------------------------------------------------------------------
def test_adversarial_regularizer_is_registered_and_validated():
    assert "adversarial" in regularizer_names()
    reg = get_regularizer("adversarial", attack="pgd", n_iter=3)
    assert isinstance(reg, AdversarialRegularizer) and reg.uses_epsilon
    loss, penalty = torch.tensor(1.0), torch.tensor(3.0)
    assert float(AdversarialRegularizer(ratio=0.25).combine(
        loss, penalty, reg_lambda=123.0)) == pytest.approx(1.5)
    # On its own a regulariser names its own parameters.
    for params, match in [({"ratio": 1.5}, "^ratio"),
                          ({"attack": "cw"}, "^attack"),
                          ({"norm": 1}, "^norm"),
                          ({"n_iter": 0}, "^n_iter"),
                          ({"clamp": (1, 0)}, "^clamp")]:
        with pytest.raises(ValueError, match=match):
            AdversarialRegularizer(**params).validate()


def test_adversarial_training_improves_fgsm_accuracy(digits, digits_clf):
    X_train, X_test, y_train, y_test = digits
    adv = _tiny_classifier(max_epochs=20, regularizer="adversarial",
                           reg_lambda=1.0).fit(X_train, y_train)
    assert adv.epsilon_ == AdversarialRegularizer.default_epsilon
    standard = adversarial_accuracy(digits_clf, X_test, y_test, FGSM)
    robust = adversarial_accuracy(adv, X_test, y_test, FGSM)
    assert robust > standard + 0.1
    assert adv.score(X_test, y_test) > digits_clf.score(X_test, y_test) - 0.05
    assert adv.history[-1, "penalty"] > 0


def test_adversarial_pgd_training_with_warm_up(digits):
    X_train, _, y_train, _ = digits
    clf = _tiny_classifier(
        max_epochs=4, regularizer="adversarial", reg_lambda=1.0,
        warm_up=True, target_accuracy=0.5, epsilon=0.5,
        regularizer__attack="pgd", regularizer__norm=2,
        regularizer__n_iter=2, regularizer__clamp=(0, 1)).fit(X_train,
                                                              y_train)
    assert clf.history[-1, "warmed_up"]
    # Before the warm-up the regulariser is off, so no penalty is recorded.
    assert clf.history[0, "penalty"] == 0 and clf.history[-1, "penalty"] > 0


# ----------------------------------------------------------------------
# Lipschitz scorer (sklip.lipschitz is written separately)
# ----------------------------------------------------------------------
def test_lipschitz_scorer(digits, digits_clf):
    lipschitz = pytest.importorskip("sklip.lipschitz")
    _, X_test, _, y_test = digits
    scorer = lipschitz_scorer(n_pairs=16, n_iter=5, random_state=0)
    score = scorer(digits_clf, X_test, y_test)
    assert np.isfinite(score) and score < 0
    assert score == -lipschitz.lipschitz_lower_bound(
        digits_clf, X_test, n_pairs=16, n_iter=5, random_state=0)
    search = GridSearchCV(_tiny_classifier(max_epochs=2),
                          {"reg_lambda": [0.0]}, cv=2,
                          scoring={"acc": "accuracy",
                                   "lip": lipschitz_scorer(n_pairs=8,
                                                           n_iter=2)},
                          refit="lip", error_score="raise")
    search.fit(X_test, y_test)
    assert np.all(search.cv_results_["mean_test_lip"] < 0)


def test_robustness_curve_of_a_named_pgd_is_reproducible(digits, digits_clf):
    _, X_test, _, y_test = digits
    X_test, y_test = X_test[:100], y_test[:100]
    first = robustness_curve(digits_clf, X_test, y_test, "pgd", eps_values=[1.0],
                             n_iter=3, n_restarts=1)
    second = robustness_curve(digits_clf, X_test, y_test, "pgd",
                              eps_values=[1.0], n_iter=3, n_restarts=1)
    assert first["attack_params"]["random_state"] == 0
    np.testing.assert_array_equal(first["accuracy"], second["accuracy"])
