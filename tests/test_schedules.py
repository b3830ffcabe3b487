"""The λ warm-up and discrepancy rule, and the ε schedule, read from history."""

import numpy as np
import pytest

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip._auto_lambda import auto_lambda_scale, loss_and_separation

COMMON = dict(hidden_layer_sizes=(32,), lr=0.01, random_state=0,
              regularizer="clip")


def test_fixed_lambda_without_target(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(reg_lambda=0.2, max_epochs=3, **COMMON).fit(X, y)
    assert clf.history[:, "reg_lambda"] == [0.2, 0.2, 0.2]
    assert clf.warmed_up_


def test_warm_up_keeps_lambda_zero_until_target_reached(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(reg_lambda=0.05, target_accuracy=0.9,
                              warm_up=True, max_epochs=8, **COMMON).fit(X, y)
    scores = clf.history[:, "train_score"]
    lambdas = clf.history[:, "reg_lambda"]
    penalties = clf.history[:, "penalty"]
    first_on = next(i for i, s in enumerate(scores) if s >= 0.9)
    assert 0 < first_on < 7, "the test needs a warm-up that ends mid-training"
    # The history shows the λ each epoch trained with: 0 (no penalty
    # computed) up to and including the epoch that first reached α, and
    # reg_lambda from the next epoch on.
    assert all(lam == 0.0 for lam in lambdas[:first_on + 1])
    assert all(p == 0.0 for p in penalties[:first_on + 1])
    assert all(lam == 0.05 for lam in lambdas[first_on + 1:])
    assert all(p > 0 for p in penalties[first_on + 1:])
    warmed = clf.history[:, "warmed_up"]
    assert not any(warmed[:first_on + 1]) and all(warmed[first_on + 1:])


def test_discrepancy_rule_per_epoch(digits):
    X, _, y, _ = digits
    alpha, step = 0.9, 0.01
    clf = LipschitzClassifier(reg_lambda=0.02, target_accuracy=alpha,
                              reg_lambda_step=step, max_epochs=10,
                              **COMMON).fit(X, y)
    scores = clf.history[:, "train_score"]
    # The λ each epoch trained with, then the one after the last epoch.
    lambdas = clf.history[:, "reg_lambda"] + [clf.reg_lambda_]
    assert lambdas[0] == 0.02
    for before, after, score in zip(lambdas[:-1], lambdas[1:], scores):
        expected = before + step if score > alpha else max(0.0,
                                                           before - step)
        assert after == pytest.approx(expected)
    steps = np.diff(lambdas)
    assert np.any(steps > 0) and np.any(steps < 0), "both branches ran"


def test_discrepancy_rule_per_batch_never_below_zero(digits):
    X, _, y, _ = digits
    # An unreachable α makes λ fall by dλ after every batch until it is 0.
    clf = LipschitzClassifier(reg_lambda=0.05, target_accuracy=0.9999,
                              reg_lambda_step=0.02,
                              reg_lambda_update="batch", max_epochs=2,
                              **COMMON).fit(X, y)
    batch_lambdas = [b["reg_lambda"] for epoch in clf.history
                     for b in epoch["batches"]]
    assert batch_lambdas[:4] == pytest.approx([0.05, 0.03, 0.01, 0.0])
    assert all(lam == 0.0 for lam in batch_lambdas[3:])
    assert clf.reg_lambda_ == 0.0


def test_regressor_uses_r2_as_training_score():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(300, 2)).astype(np.float32)
    y = X[:, 0] + 0.5 * X[:, 1]
    reg = LipschitzRegressor(reg_lambda=0.01, target_accuracy=0.5,
                             warm_up=True, max_epochs=30, **COMMON).fit(X, y)
    scores = reg.history[:, "train_score"]
    assert scores[-1] > 0.9 and scores[0] < scores[-1]
    assert all(s <= 1.0 for s in scores)
    assert reg.warmed_up_ and reg.reg_lambda_ == 0.01


def test_epsilon_decays_each_epoch(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(**{**COMMON, "regularizer": "ptv"},
                              epsilon=2.0, epsilon_decay=0.5,
                              max_epochs=4).fit(X, y)
    assert clf.history[:, "epsilon"] == pytest.approx([2.0, 1.0, 0.5, 0.25])
    assert clf.epsilon_ == pytest.approx(0.125)


@pytest.mark.parametrize("name", ["none", "clip", "sumlip", "tv", "ptv",
                                  "adversarial"])
def test_auto_lambda_is_the_regularizers_searched_default(digits, name):
    from sklip.regularizers import get_regularizer

    X, _, y, _ = digits
    clf = LipschitzClassifier(regularizer=name, max_epochs=1,
                              hidden_layer_sizes=(8,), random_state=0,
                              callbacks__lipschitz=None).fit(X[:200], y[:200])
    regularizer = get_regularizer(name)
    searched = regularizer.default_lambda
    # Scaled down to the data (the digits' classes are closer than
    # MNIST's) for a penalty in quotient units; unscaled for the others.
    scale = auto_lambda_scale(
        loss_and_separation(X[:200], y[:200], classification=True),
        regularizer.quotient_power)
    assert (scale < 1) == (regularizer.quotient_power > 0 and searched > 0)
    assert clf.reg_lambda == "auto"
    assert clf.history[:, "reg_lambda"] == pytest.approx([searched * scale])
    # The values benchmarks/search_defaults.py chose on MNIST.
    assert searched == {"none": 0.0, "clip": 0.3, "sumlip": 0.3, "tv": 0.5,
                        "ptv": 3.0, "adversarial": 1.0}[name]


@pytest.mark.parametrize("name", ["clip", "sumlip", "tv", "none"])
@pytest.mark.parametrize("param", [{"epsilon": 0.5}, {"epsilon_decay": 0.9}])
def test_a_radius_for_a_regularizer_without_one_is_refused(digits, name,
                                                           param):
    X, _, y, _ = digits
    clf = LipschitzClassifier(regularizer=name, **param)
    with pytest.raises(ValueError, match=f"{next(iter(param))}=.*uses no "
                                         "radius"):
        clf.fit(X, y)


@pytest.mark.parametrize("callback", ["lipschitz", "epoch_timer",
                                      "train_loss", "valid_loss",
                                      "print_log"])
@pytest.mark.parametrize("name, params", [
    ("ptv", {"epsilon": 1.0, "epsilon_decay": 0.5}),
    ("clip", {"target_accuracy": 0.5, "warm_up": True}),
    ("adversarial", {}),
])
def test_every_default_callback_can_be_switched_off(digits, callback, name,
                                                    params):
    X, _, y, _ = digits
    clf = LipschitzClassifier(regularizer=name, max_epochs=2,
                              hidden_layer_sizes=(8,), random_state=0,
                              **params, **{f"callbacks__{callback}": None})
    clf.fit(X[:300], y[:300])
    assert len(clf.history) == 2
    assert "reg_lambda" in clf.history[-1]
    if name == "ptv":
        assert clf.history[:, "epsilon"] == [1.0, 0.5]
