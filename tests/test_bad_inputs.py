"""A broad list of bad inputs, each refused with a clear error.

Every case must raise a ``ValueError`` or ``TypeError`` whose message names
the offending argument, raised by sklip's or scikit-learn's own checks (the
innermost frame of the traceback is in ``sklip`` or ``sklearn``, never deep
inside torch, skorch or numpy), and — for estimators — before any training
starts. The CLI's cases are in ``test_cli_checks.py``, the IDX reader's in
``test_idx_reader.py``.
"""

import math

import numpy as np
import pytest
import torch
from skorch import NeuralNet

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip import attacks, lipschitz, metrics
from sklip.datasets import load_digits_scaled

BAD_NUMBERS = [-1, math.nan, math.inf, "x", None, [1.0]]


def _hyperparameter_cases():
    """(estimator, params, the name the message must contain)."""
    common = {
        "reg_lambda": [-1, -1e-9, math.nan, math.inf, "x", "AUTO", None,
                       [1.0], 1j],
        "target_accuracy": [-0.1, 1.5, math.nan, math.inf, "x", [0.5]],
        "reg_lambda_step": [-1, math.nan, math.inf, "x"],
        "reg_lambda_update": ["x", None, 3, "Epoch"],
        "hidden_layer_sizes": [(0,), (-1,), (1.5,), "100", 100, (True,),
                               (10, None), None, (10**9,), (10**5, 10**5)],
        "activation": ["x", None, 3, "RELU"],
        "optimizer": ["x", None, 3, "Adam", torch.nn.Linear],
        "lr": [0, -1, math.nan, math.inf, "x", None, [0.1]],
        "max_epochs": [-1, 1.5, "x", None, math.inf],
        "batch_size": [0, -2, 1.5, "x", None],
        "iterator_train__batch_size": [0, -3, "x"],
        "iterator_valid__batch_size": [0, -3],
        "random_state": ["x", -1, 2**40, 1.5, [1]],
        "criterion": ["mse", 3, [torch.nn.MSELoss]],
        "callbacks": ["x", [3], 3, ["x"]],
        "train_split": ["x", 3, 0.2],
        "module": ["x", 3, [torch.nn.Linear]],
        "device": ["x", 3, "cuda:99"],
        "regularizer": ["bogus", 3, None, "CLIP"],
        "regularizer__n_pairs": [-1, 0, "x", 1.5, 10**12],
        "warm_up": ["yes", 2],
        "epsilon_decay": [-0.1, 1.5, "x", math.nan],
    }
    cases = []
    for name, values in common.items():
        for value in values:
            for estimator in (LipschitzClassifier, LipschitzRegressor):
                if name.startswith("regularizer__"):
                    params = {"regularizer": "clip", name: value}
                    expected = name.split("__")[1]
                else:
                    params = {name: value}
                    expected = name.split("__")[-1] if name.startswith(
                        "iterator") else name
                    expected = name if "batch_size" not in name else (
                        "batch_size")
                if name in ("epsilon_decay",):
                    params["regularizer"] = "ptv"
                cases.append((estimator, params, expected))
    # Parameters that only make sense in combination.
    combos = [
        ({"warm_up": True}, "target_accuracy"),
        ({"reg_lambda_step": 0.1}, "target_accuracy"),
        ({"regularizer": "tv", "epsilon": 0.5}, "epsilon"),
        ({"regularizer": "none", "epsilon": 0.5}, "epsilon"),
        ({"regularizer": "clip", "epsilon_decay": 0.5}, "epsilon_decay"),
        ({"regularizer": "ptv", "epsilon": -1}, "epsilon"),
        ({"regularizer": "ptv", "epsilon": 0}, "epsilon"),
        ({"regularizer": "ptv", "epsilon": math.nan}, "epsilon"),
        ({"regularizer": "clip", "regularizer__bogus": 1}, "bogus"),
        ({"regularizer": "adversarial", "epsilon": "x"}, "epsilon"),
    ]
    for params, expected in combos:
        for estimator in (LipschitzClassifier, LipschitzRegressor):
            cases.append((estimator, params, expected))
    cases.append((LipschitzRegressor, {"regularizer": "margin"},
                  "regularizer"))
    cases.append((LipschitzClassifier, {"classes": [0, 0, 1]}, "classes"))
    return cases


HYPERPARAMETER_CASES = _hyperparameter_cases()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits_scaled()
    return X[:200], y[:200]


@pytest.fixture
def no_training(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("training started before the error")
    monkeypatch.setattr(NeuralNet, "fit_loop", fail)


def _assert_clear(excinfo, expected):
    """The error names ``expected`` and comes from sklip's or sklearn's own
    code, not from deep inside torch, skorch or numpy."""
    message = str(excinfo.value)
    assert expected in message, (expected, message)
    tb = excinfo.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__", "")
    assert module.split(".")[0] in ("sklip", "sklearn"), (module, message)


def _case_id(case):
    estimator, params, _ = case
    return f"{estimator.__name__[9:]}-" + ",".join(
        f"{k}={v!r}"[:40] for k, v in params.items())


@pytest.mark.parametrize("case", HYPERPARAMETER_CASES, ids=_case_id)
def test_bad_hyperparameters_are_refused_before_training(
        digits, no_training, case):
    estimator, params, expected = case
    X, y = digits
    if estimator is LipschitzRegressor:
        y = y.astype(np.float64)
    with pytest.raises((ValueError, TypeError)) as excinfo:
        estimator(**{"max_epochs": 2, **params}).fit(X, y)
    _assert_clear(excinfo, expected)


def _data_cases():
    X, y = load_digits_scaled()
    X, y = X[:50], y[:50]
    with_nan = X.copy()
    with_nan[3, 4] = np.nan
    with_inf = X.copy()
    with_inf[0, 0] = np.inf
    strings = X.astype(object)
    strings[1, 1] = "a"
    return [
        ("nan", with_nan, y, None, "NaN"),
        ("inf", with_inf, y, None, "infinity"),
        ("empty", X[:0], y[:0], None, "0 sample"),
        ("1-D X", X[:, 0], y, None, "2D array"),
        ("scalar X", 3.0, y, None, "X"),
        ("None X", None, y, None, "X"),
        ("strings", strings, y, None, "X must hold numbers"),
        ("complex", X.astype(np.complex64), y, None, "omplex"),
        ("y too short", X, y[:-1], None, "inconsistent numbers of samples"),
        ("y None", X, None, None, "requires y"),
        ("y nan", X, np.where(np.arange(50) == 3, np.nan, y), None, "NaN"),
        ("y 2-D for a classifier", X, np.c_[y, y], None, "y"),
        ("y continuous for a classifier", X, y + 0.5, None,
         "Unknown label type"),
        ("negative weights", X, y, -np.ones(50), "sample_weight"),
        ("short weights", X, y, np.ones(49), "sample_weight"),
        ("nan weights", X, y, np.full(50, np.nan), "NaN"),
        ("2-D weights", X, y, np.ones((50, 2)), "sample_weight"),
        ("string weights", X, y, np.array(["a"] * 50), "sample_weight"),
    ]


def _estimator_data_cases():
    """(estimator, case) for both estimators; the classifier's target
    cases are valid regression targets, and a regressor's targets must be
    numbers."""
    X, y = load_digits_scaled()
    X, y = X[:50], y[:50]
    cases = []
    for case in _data_cases():
        cases.append((LipschitzClassifier, case))
        if not case[0].endswith("for a classifier"):
            cases.append((LipschitzRegressor, case))
    cases.append((LipschitzRegressor, ("string y", X, np.array(["a"] * 50, dtype=object),
        None, "y must hold numbers")))
    return cases


@pytest.mark.parametrize(
    "estimator, case", _estimator_data_cases(),
    ids=lambda c: c[0] if isinstance(c, tuple) else c.__name__)
def test_bad_data_is_refused_before_training(no_training, estimator, case):
    _, X, y, weights, expected = case
    if (estimator is LipschitzRegressor and y is not None
            and np.asarray(y).dtype.kind in "iu"):
        y = y.astype(np.float64)
    with pytest.raises((ValueError, TypeError)) as excinfo:
        estimator(max_epochs=2).fit(X, y, sample_weight=weights)
    _assert_clear(excinfo, expected)


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return LipschitzClassifier(hidden_layer_sizes=(16,), max_epochs=1,
                               random_state=0, callbacks__collapse=None).fit(
        X, y)


@pytest.mark.parametrize("X, expected", [
    (np.zeros((3, 5)), "features"),
    (np.full((3, 64), np.nan), "NaN"),
    (np.zeros((0, 64)), "0 sample"),
    (np.zeros(64), "2D array"),
    (np.array([["a"] * 64]), "X must hold numbers"),
])
@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_bad_data_at_predict(fitted, X, expected, method):
    with pytest.raises((ValueError, TypeError)) as excinfo:
        getattr(fitted, method)(X)
    _assert_clear(excinfo, expected)


def _attack_cases():
    cases = []
    for name in ["fgsm", "pgd", "apgd", "square", "worst_case"]:
        for eps in [-1, math.nan, math.inf, "x", None]:
            cases.append((name, {"eps": eps}, "eps"))
        cases.append((name, {"eps": 0.5, "norm": "x"}, "norm"))
        cases.append((name, {"eps": 0.5, "norm": 3}, "norm"))
        cases.append((name, {"eps": 0.5, "clamp": (1, 0)}, "clamp"))
        cases.append((name, {"eps": 0.5, "clamp": "x"}, "clamp"))
        cases.append((name, {"eps": 0.5, "clamp": (0,)}, "clamp"))
        if name != "fgsm":
            cases.append((name, {"eps": 0.5, "random_state": "x"},
                          "random_state"))
    for key in ["n_iter", "n_restarts"]:
        for value in [0, -1, 1.5, "x"]:
            cases.append(("pgd", {"eps": 0.5, key: value}, key))
            cases.append(("apgd", {"eps": 0.5, key: value}, key))
    for value in [-1, 0, "x"]:
        cases.append(("pgd", {"eps": 0.5, "step_size": value}, "step_size"))
        cases.append(("square", {"eps": 0.5, "n_queries": value},
                      "n_queries"))
    cases += [
        ("pgd", {"eps": 0.5, "loss": "bogus"}, "loss"),
        ("fgsm", {"eps": 0.5, "loss": 3}, "loss"),
        ("apgd", {"eps": 0.5, "rho": 2}, "rho"),
        ("square", {"eps": 0.5, "p_init": 0}, "p_init"),
        ("square", {"eps": 0.5, "p_init": 2}, "p_init"),
        ("noise", {"sigma": -1}, "sigma"),
        ("noise", {"sigma": math.nan}, "sigma"),
        ("noise", {"sigma": "x"}, "sigma"),
        ("worst_case", {"eps": 0.5, "attacks": "x"}, "attacks"),
        ("worst_case", {"eps": 0.5, "attacks": []}, "attacks"),
    ]
    return cases


@pytest.mark.parametrize("name, params, expected", _attack_cases(),
                         ids=lambda v: repr(v)[:40])
def test_bad_attack_parameters(fitted, digits, name, params, expected):
    X, y = digits
    with pytest.raises((ValueError, TypeError)) as excinfo:
        attacks.get_attack(name, **params).generate(fitted, X[:4], y[:4])
    _assert_clear(excinfo, expected)


@pytest.mark.parametrize("factory, params, expected", [
    (metrics.worst_case_accuracy_scorer, {"eps": -1}, "eps"),
    (metrics.worst_case_accuracy_scorer, {"eps": 1, "norm": "x"}, "norm"),
    (metrics.pgd_accuracy_scorer, {"eps": math.nan}, "eps"),
    (metrics.pgd_accuracy_scorer, {"eps": 1, "n_iter": 0}, "n_iter"),
    (metrics.fgsm_accuracy_scorer, {"eps": "x"}, "eps"),
    (metrics.noise_accuracy_scorer, {"sigma": -1}, "sigma"),
    (metrics.lipschitz_scorer, {"method": "bogus"}, "method"),
    (metrics.lipschitz_scorer, {"n_pairs": -1}, "n_pairs"),
    (metrics.lipschitz_scorer, {"random_state": "x"}, "random_state"),
    (metrics.make_robustness_scorer, {"attack": "bogus"}, "attack"),
    (metrics.make_robustness_scorer, {"attack": "pgd", "eps": 1,
                                      "metric": "bogus"}, "metric"),
])
def test_bad_scorer_parameters_when_built(factory, params, expected):
    with pytest.raises((ValueError, TypeError)) as excinfo:
        factory(**params)
    _assert_clear(excinfo, expected)


@pytest.mark.parametrize("call, expected", [
    (lambda m, X, y: lipschitz.lipschitz_lower_bound(m, X, n_pairs=-1),
     "n_pairs"),
    (lambda m, X, y: lipschitz.lipschitz_lower_bound(m, X, n_pairs=10**12),
     "n_pairs"),
    (lambda m, X, y: lipschitz.lipschitz_lower_bound(m, X, method="x"),
     "method"),
    (lambda m, X, y: lipschitz.lipschitz_lower_bound(m, X, n_iter=-1),
     "n_iter"),
    (lambda m, X, y: lipschitz.lipschitz_upper_bound(m, n_power_iter=0),
     "n_power_iter"),
    (lambda m, X, y: lipschitz.lipschitz_upper_bound(m, tol=-1), "tol"),
    (lambda m, X, y: lipschitz.certify(m, X, y, eps=-1), "eps"),
    (lambda m, X, y: lipschitz.certify(m, X, y, eps=1, bound="x"), "bound"),
    (lambda m, X, y: lipschitz.certify(m, X, y, eps=1, lipschitz=-1),
     "lipschitz"),
    (lambda m, X, y: lipschitz.certified_accuracy(m, X, y, eps=math.nan),
     "eps"),
    (lambda m, X, y: lipschitz.certified_accuracy(m, X, y[:3], eps=1),
     "one label per sample"),
    (lambda m, X, y: lipschitz.lipschitz_exact_1d(m, 0, 1), "1-D"),
])
def test_bad_lipschitz_arguments(fitted, digits, call, expected):
    X, y = digits
    with pytest.raises((ValueError, TypeError)) as excinfo:
        call(fitted, X[:10], y[:10])
    _assert_clear(excinfo, expected)


def test_the_list_is_broad():
    # The target: several hundred bad inputs across the API (plus
    # the CLI's and the IDX reader's in their own files).
    n = (len(HYPERPARAMETER_CASES) + 2 * len(_data_cases())
         + len(_attack_cases()))
    assert n >= 300, n
