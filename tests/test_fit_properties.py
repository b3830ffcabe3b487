"""Property-based test: random shapes, dtypes and values thrown at ``fit``
and ``predict`` give a clear error raised by sklip or scikit-learn, or a
finite result; never a crash deep inside torch, skorch or numpy, nor a
hang (every fit here is one epoch on a dozen samples)."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sklip import LipschitzClassifier, LipschitzRegressor

# Values a careless user's data holds: ordinary numbers, huge and tiny
# ones, NaN and infinities.
_VALUES = st.one_of(
    st.floats(-10, 10),
    st.sampled_from([0.0, 1e30, -1e30, 1e-30, 1e300, np.nan, np.inf,
                     -np.inf]))

_DTYPES = ("float64", "float32", "int64", "bool", "object", "str",
           "complex128")


def _cast(values, dtype):
    """``values`` (floats) as an array of ``dtype``; "object" holds a
    string among the numbers, "str" is all text."""
    array = np.asarray(values, dtype=np.float64)
    if dtype in ("int64", "bool"):
        return np.nan_to_num(array, nan=0, posinf=1, neginf=-1).clip(
            -1e6, 1e6).astype(dtype)
    if dtype == "object":
        array = array.astype(object)
        if array.size:
            array.flat[0] = "a"
        return array
    if dtype == "str":
        return array.astype(str)
    with np.errstate(over="ignore"):
        return array.astype(dtype)


@st.composite
def fit_cases(draw):
    """(estimator class, X, y, X to predict on)."""
    regression = draw(st.booleans())
    n_samples = draw(st.integers(0, 12))
    # Mostly the (n_samples, n_features) a user means, sometimes not.
    shape = draw(st.sampled_from(
        4 * [(n_samples, draw(st.integers(0, 5)))]
        + [(n_samples,), (n_samples, 2, 3), ()]))
    # Half the examples hold ordinary numbers of a numeric dtype, so that
    # the property is tested on fits that train, not only on refusals.
    clean = draw(st.booleans())
    values = st.floats(-10, 10) if clean else _VALUES
    X = _cast(draw(st.lists(values, min_size=int(np.prod(shape)),
                            max_size=int(np.prod(shape)))), draw(
        st.sampled_from(_DTYPES[:4] if clean else _DTYPES)))
    X = X.reshape(shape)
    n_targets = draw(st.sampled_from(3 * [n_samples]
                                     + [max(0, n_samples - 1)]))
    if regression:
        y = _cast(draw(st.lists(values, min_size=n_targets,
                                max_size=n_targets)),
                  draw(st.sampled_from(["float64", "float32", "int64",
                                        "object"])))
    else:
        y = np.asarray(draw(st.lists(st.integers(-1, 3), min_size=n_targets,
                                     max_size=n_targets)))
        if draw(st.booleans()):
            y = y.astype(str)
    # Predict on data of the fitted shape, or of another one.
    other = draw(st.sampled_from([False, False, False, True]))
    X_new = X[:, :-1] if other and X.ndim >= 2 else X
    estimator = LipschitzRegressor if regression else LipschitzClassifier
    return estimator, X, y, X_new


def _raised_by_validators(excinfo):
    """The innermost frame of the error is sklip's or scikit-learn's."""
    tb = excinfo.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals.get("__name__", "").split(".")[0] in (
        "sklip", "sklearn")


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(case=fit_cases())
def test_fit_and_predict_give_a_clear_error_or_a_finite_result(case):
    estimator_class, X, y, X_new = case
    estimator = estimator_class(hidden_layer_sizes=(4,), max_epochs=1,
                                batch_size=4, random_state=0)
    with warnings.catch_warnings():
        # A collapse or a warning about the data is a documented outcome.
        warnings.simplefilter("ignore")
        try:
            estimator.fit(X, y)
        except (ValueError, TypeError, FloatingPointError) as exc:
            assert _raised_by_validators(exc), repr(exc)
            assert str(exc), "an error without a message"
            # --hypothesis-show-statistics shows how many examples train.
            event("refused by fit")
            return
        try:
            predicted = estimator.predict(X_new)
        except (ValueError, TypeError) as exc:
            assert _raised_by_validators(exc), repr(exc)
            event("refused by predict")
            return
    event("trained and predicted")
    assert len(predicted) == len(X_new)
    if estimator_class is LipschitzRegressor:
        assert np.all(np.isfinite(predicted))
    else:
        assert set(np.unique(predicted)) <= set(estimator.classes_)


@pytest.mark.parametrize("dtype", ["float64", "int64", "bool"])
def test_plain_numeric_data_of_any_dtype_trains(dtype):
    # The property above must not pass only by refusing everything.
    rng = np.random.default_rng(0)
    X = _cast(rng.normal(size=(12, 3)), dtype)
    y = np.arange(12) % 2
    clf = LipschitzClassifier(hidden_layer_sizes=(4,), max_epochs=1,
                              batch_size=4, random_state=0,
                              callbacks__collapse=None).fit(X, y)
    assert set(clf.predict(X)) <= {0, 1}
