"""scikit-learn's own estimator checks over every sklip estimator.

Every check passes, at the small settings below and
(``test_check_estimator_at_defaults``) at the defaults, except the one that
no mini-batch network can pass and that scikit-learn itself expects its
``MLPClassifier`` and ``SGDClassifier`` to fail (``EXPECTED_FAILURES``).
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import (check_estimator,
                                            parametrize_with_checks)

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.attacks import attack_names, get_attack
from sklip.regularizers import get_regularizer, regularizer_names


def _small(estimator):
    # Small, fast and deterministic settings: the checks fit hundreds of
    # times on tiny data sets.
    return estimator.set_params(max_epochs=40, hidden_layer_sizes=(32,),
                                lr=0.01, random_state=0)


ESTIMATORS = [_small(LipschitzClassifier()), _small(LipschitzRegressor())]

#: Weights equal repeated rows only in expectation: the rows are shuffled
#: into other mini-batches, and the penalty, unweighted by design, sees
#: other pairs of points.
EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data":
        "mini-batch training with an unweighted, data-dependent penalty: "
        "weights equal repetitions only in expectation"}


@parametrize_with_checks(ESTIMATORS,
                         expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.slow
@pytest.mark.parametrize("Estimator", [LipschitzClassifier,
                                       LipschitzRegressor])
def test_check_estimator_at_defaults(Estimator):
    estimator = Estimator(random_state=0)
    check_estimator(estimator,
                    expected_failed_checks=EXPECTED_FAILURES)


# ----------------------------------------------------------------------
# Every registry member: clone, pickle, validation, one fit or one attack
# ----------------------------------------------------------------------
#: One invalid value per regulariser (``none`` has no parameters).
BAD_PARAMETER = {"clip": ("n_pairs", -1), "sumlip": ("n_pairs", 0),
                 "tv": ("n_projections", 0), "ptv": ("n_iter", -1),
                 "adversarial": ("ratio", 2.0),
                 "margin": ("n_power_iter", 0)}

TINY = dict(hidden_layer_sizes=(16,), lr=0.01, batch_size=64,
            random_state=0)


def test_every_regularizer_has_a_bad_parameter_case():
    assert set(BAD_PARAMETER) == set(regularizer_names()) - {"none"}


@pytest.mark.parametrize("name", regularizer_names())
def test_regularizer_clones_pickles_and_names_bad_parameters(name, digits):
    X, _, y, _ = digits
    reg = get_regularizer(name)
    assert clone(reg).get_params() == reg.get_params()
    assert pickle.loads(pickle.dumps(reg)).get_params() == reg.get_params()
    if name in BAD_PARAMETER:
        param, value = BAD_PARAMETER[name]
        # On its own the regulariser names its parameter; through an
        # estimator the message names the estimator's parameter.
        with pytest.raises(ValueError, match=rf"^{param}\b"):
            get_regularizer(name, **{param: value}).validate()
        clf = LipschitzClassifier(regularizer=name,
                                  **{f"regularizer__{param}": value})
        with pytest.raises(ValueError, match=rf"^regularizer__{param}\b"):
            clf.fit(X, y)
    clf = LipschitzClassifier(regularizer=name, max_epochs=1, **TINY)
    clf.fit(X[:200], y[:200])
    assert np.isfinite(clf.history[-1, "train_loss"])


def _rows_in(blob, X):
    """The rows of ``X`` whose float32 or float64 bytes occur in ``blob``."""
    found = []
    for i, row in enumerate(X):
        if not row.any():
            continue
        for dtype in (np.float32, np.float64):
            if row.astype(dtype).tobytes() in blob:
                found.append(i)
    return found


@pytest.mark.parametrize("name", regularizer_names())
def test_fitted_state_keeps_no_training_data(name, digits):
    X, _, y, _ = digits
    X, y = X[:300], y[:300]
    clf = LipschitzClassifier(regularizer=name, max_epochs=2, **TINY)
    blob = pickle.dumps(clf.fit(X, y))
    assert _rows_in(blob, X) == []


@pytest.mark.parametrize("name", regularizer_names())
def test_pickled_estimator_continues_training_identically(name, digits):
    X, X_test, y, _ = digits
    X, y = X[:300], y[:300]
    clf = LipschitzClassifier(regularizer=name, max_epochs=2, **TINY)
    clf.fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X_test),
                                  copy.predict_proba(X_test))


@pytest.mark.parametrize("name", attack_names())
def test_attack_clones_pickles_and_runs(name, digits_clf, digits):
    _, X_test, _, y_test = digits
    probe = get_attack(name, **{"sigma" if name == "noise" else "eps": 0.5})
    attack = get_attack(name, **{probe.radius_param: 0.5}, random_state=0) \
        if "random_state" in probe.get_params() else probe
    if name in ("apgd", "pgd", "worst_case"):
        attack.set_params(n_iter=5)
    if name in ("square", "worst_case"):
        attack.set_params(n_queries=20)
    assert clone(attack).get_params() == attack.get_params()
    copy = pickle.loads(pickle.dumps(attack))
    X_adv = attack.generate(digits_clf, X_test[:20], y_test[:20])
    assert X_adv.shape == X_test[:20].shape and np.all(np.isfinite(X_adv))
    delta = (X_adv - X_test[:20]).reshape(20, -1)
    order = np.inf if attack.get_params().get("norm") == "inf" else 2
    distance = np.linalg.norm(delta, ord=order, axis=1)
    if name != "noise":
        assert distance.max() <= 0.5 + 1e-5
    np.testing.assert_array_equal(
        X_adv, copy.generate(digits_clf, X_test[:20], y_test[:20]))
