"""Tests of sklip.attacks.WorstCaseAttack, the worst-case scorer and
attack_breakdown: the per-sample worst case over strong attacks."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_validate

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.attacks import (APGDAttack, FGSMAttack, NoiseAttack, PGDAttack,
                           SquareAttack, WorstCaseAttack, get_attack)
from sklip.metrics import (adversarial_accuracy, adversarial_mse,
                           adversarial_neg_mse_scorer, attack_breakdown,
                           make_robustness_scorer, pgd_accuracy_scorer,
                           robustness_curve, worst_case_accuracy_scorer)

QUICK = dict(n_iter=10, n_queries=100, clamp=(0, 1), random_state=0)


def test_default_members_follow_autoattack_and_the_problem():
    attack = WorstCaseAttack(2.0, norm="inf", clamp=(0, 1))
    names = [name for name, _ in attack.members(n_classes=10)]
    assert names == ["apgd-ce", "apgd-dlr", "apgd-t", "pgd-margin", "square"]
    for _, member in attack.members(10):
        assert member.eps == 2.0 and member.norm == "inf"
        assert member.clamp == (0, 1)
    assert [n for n, _ in attack.members(2)] == ["apgd-ce", "pgd-margin",
                                                 "square"]
    assert [n for n, _ in attack.members(None)] == ["apgd", "pgd", "square"]
    apgd_t = dict(attack.members(10))["apgd-t"]
    assert apgd_t.targeted and apgd_t.loss == "dlr"
    assert dict(attack.members(10))["pgd-margin"].n_restarts == 5


def test_at_most_every_member_and_breakdown_decreases(digits, digits_clf):
    _, X_test, _, y_test = digits
    eps = 0.5
    worst = WorstCaseAttack(eps, **QUICK)
    acc = adversarial_accuracy(digits_clf, X_test, y_test, worst)
    for name, member in worst.members(10):
        alone = adversarial_accuracy(digits_clf, X_test, y_test,
                                     member.set_params(random_state=0))
        assert acc <= alone + 0.005, name
    stages = attack_breakdown(digits_clf, X_test, y_test, worst)
    assert list(stages) == ["clean", "apgd-ce", "apgd-dlr", "apgd-t",
                            "pgd-margin", "square"]
    values = list(stages.values())
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert values[-1] == pytest.approx(acc)
    assert values[0] == pytest.approx(digits_clf.score(X_test, y_test))


def test_stays_in_the_ball_and_is_reproducible(digits, digits_clf):
    _, X_test, _, y_test = digits
    for norm, eps in ((2, 0.5), ("inf", 0.1)):
        attack = WorstCaseAttack(eps, norm=norm, **QUICK)
        X_adv = attack.generate(digits_clf, X_test, y_test)
        assert X_adv.min() >= 0 and X_adv.max() <= 1
        delta = X_adv - X_test
        norms = (np.abs(delta).max(1) if norm == "inf"
                 else np.linalg.norm(delta, axis=1))
        assert norms.max() <= eps * (1 + 1e-5)
        np.testing.assert_array_equal(
            X_adv, attack.generate(digits_clf, X_test, y_test))


def test_breaks_an_undefended_network_at_a_large_radius(digits, digits_clf):
    _, X_test, _, y_test = digits
    assert adversarial_accuracy(digits_clf, X_test, y_test,
                                WorstCaseAttack(1.5, **QUICK)) == 0.0


def test_stronger_than_cross_entropy_pgd_on_a_regularised_network(digits):
    X_train, X_test, y_train, y_test = digits
    clf = LipschitzClassifier(regularizer="tv", reg_lambda=0.3,
                              hidden_layer_sizes=(64,), max_epochs=15,
                              lr=0.003, random_state=0).fit(X_train, y_train)
    pgd = adversarial_accuracy(clf, X_test, y_test, PGDAttack(
        0.5, n_iter=20, clamp=(0, 1), random_state=0))
    worst = adversarial_accuracy(clf, X_test, y_test,
                                 WorstCaseAttack(0.5, **QUICK))
    assert worst < pgd


def test_custom_members_and_labels(digits, digits_clf):
    _, X_test, _, y_test = digits
    attack = WorstCaseAttack(0.5, attacks=[
        ("fast", FGSMAttack(0, norm=2)), SquareAttack(0, n_queries=20)],
        clamp=(0, 1), random_state=0)
    stages = attack_breakdown(digits_clf, X_test, y_test, attack)
    assert list(stages) == ["clean", "fast", "square"]
    assert stages["square"] <= stages["fast"] <= stages["clean"]


def test_on_a_regressor_keeps_the_highest_error(polynomial_data):
    X, y = polynomial_data
    reg = LipschitzRegressor(regularizer="none", hidden_layer_sizes=(16,),
                             max_epochs=30, lr=0.01, random_state=0).fit(X, y)
    worst = WorstCaseAttack(0.1, n_iter=10, n_queries=30, random_state=0)
    mse = adversarial_mse(reg, X, y, worst)
    for name, member in worst.members(None):
        alone = adversarial_mse(reg, X, y, member.set_params(random_state=0))
        assert mse >= alone * (1 - 1e-6), name
    scorer = adversarial_neg_mse_scorer("worst_case", eps=0.1, n_iter=10,
                                        n_queries=30)
    assert scorer(reg, X, y) == pytest.approx(-mse)


@pytest.mark.parametrize("attacks, match", [
    ("apgd", "must be None or a list"),
    ([NoiseAttack(0.1)], "with a radius eps"),
    ([WorstCaseAttack(0.1)], "cannot contain"),
    ([3], "must be an Attack"),
])
def test_bad_members(digits, digits_clf, attacks, match):
    _, X_test, _, y_test = digits
    with pytest.raises(TypeError, match=match):
        WorstCaseAttack(0.5, attacks=attacks).generate(digits_clf, X_test,
                                                        y_test)
    with pytest.raises(ValueError, match="non-empty"):
        WorstCaseAttack(0.5, attacks=[]).validate()


def test_refuses_a_loss_function(digits, digits_clf):
    _, X_test, _, y_test = digits
    with pytest.raises(ValueError, match="its own loss"):
        WorstCaseAttack(0.5, **QUICK).perturb(
            digits_clf.module_, torch.as_tensor(X_test),
            torch.as_tensor(y_test), lambda o, y: o.sum(1))


def test_clone_pickle_and_registry():
    attack = get_attack("worst_case", eps=1.0, attacks=[
        APGDAttack(0, n_iter=5)], random_state=0)
    for other in (clone(attack), pickle.loads(pickle.dumps(attack))):
        assert other.get_params()["eps"] == 1.0
        assert other.attacks[0] is not attack.attacks[0]
        assert other.attacks[0].n_iter == 5


def test_scorer_in_grid_search_and_cross_validate(digits):
    X_train, _, y_train, _ = digits
    X, y = X_train[:600], y_train[:600]
    scoring = {"clean": "accuracy",
               "worst": worst_case_accuracy_scorer(0.5, clamp=(0, 1),
                                                   n_iter=5, n_queries=50),
               "pgd": pgd_accuracy_scorer(0.5, clamp=(0, 1), n_iter=10,
                                          loss="margin")}
    search = GridSearchCV(
        LipschitzClassifier(hidden_layer_sizes=(32,), max_epochs=5,
                            lr=0.005, random_state=0),
        {"reg_lambda": [0.0, 0.1], "regularizer": ["tv"]},
        scoring=scoring, refit="worst", cv=2).fit(X, y)
    worst = search.cv_results_["mean_test_worst"]
    assert np.all(np.isfinite(worst))
    assert np.all(worst <= search.cv_results_["mean_test_clean"])
    results = cross_validate(
        LipschitzClassifier(regularizer="none", hidden_layer_sizes=(32,),
                            max_epochs=5, lr=0.005, random_state=0),
        X, y, cv=2, scoring=scoring)
    assert np.all(results["test_worst"] <= results["test_pgd"] + 0.01)


def test_scorers_are_seeded_by_default(polynomial_data):
    X, y = polynomial_data
    reg = LipschitzRegressor(regularizer="none", hidden_layer_sizes=(16,),
                             max_epochs=10, lr=0.01, random_state=0).fit(X, y)
    for scorer in (adversarial_neg_mse_scorer("pgd", eps=0.2, n_iter=3),
                   make_robustness_scorer("apgd", eps=0.2, n_iter=3),
                   make_robustness_scorer(SquareAttack(0.2, n_queries=5))):
        assert scorer.attack.random_state == 0
        assert scorer(reg, X, y) == scorer(reg, X, y)


def test_robustness_curve_of_the_worst_case(digits, digits_clf):
    _, X_test, _, y_test = digits
    curve = robustness_curve(digits_clf, X_test[:100], y_test[:100],
                             "worst_case", eps_values=[0, 0.25, 0.5], **QUICK)
    assert curve["attack"] == "worst_case"
    assert curve["accuracy"][0] >= curve["accuracy"][1] >= \
        curve["accuracy"][2]


def test_recorded_every_epoch_by_the_training_callback(digits):
    from sklip.metrics import RobustnessScoring

    X_train, X_test, y_train, y_test = digits
    attack = WorstCaseAttack(0.5, **QUICK)
    clf = LipschitzClassifier(
        regularizer="none", hidden_layer_sizes=(32,), max_epochs=3,
        lr=0.005, random_state=0,
        callbacks=[RobustnessScoring(attack, X_test[:100], y_test[:100])]
    ).fit(X_train, y_train)
    recorded = clf.history[:, "worst_case_accuracy"]
    assert len(recorded) == 3
    assert recorded[-1] == pytest.approx(adversarial_accuracy(
        clf, X_test[:100], y_test[:100], attack))
