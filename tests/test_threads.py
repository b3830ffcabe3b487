"""torch's thread count in fits, predictions and attacks (sklip._threads):
the estimator's n_threads, one thread per worker of a threaded search, and
the caller's setting left alone."""

import joblib
import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from torch import nn

from sklip import LipschitzClassifier
from sklip._threads import resolve_n_threads
from sklip.attacks import PGDAttack

# The fits are tiny and may warn that they did not learn: they only
# record thread counts.
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")

FAST = {"hidden_layer_sizes": (16,), "max_epochs": 2, "lr": 0.01,
        "random_state": 0}


class ThreadSpy(nn.Module):
    """A linear classifier that records torch's thread count at each
    forward pass (a class attribute: the estimator copies the module)."""

    seen = []

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.linear = nn.Linear(n_features, n_outputs)

    def forward(self, x):
        ThreadSpy.seen.append(torch.get_num_threads())
        return self.linear(x)


@pytest.fixture
def spy():
    ThreadSpy.seen = []
    yield ThreadSpy
    ThreadSpy.seen = []


@pytest.fixture
def two_threads():
    """torch set to 2 threads in this test's thread, and set back."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def _fit(X, y, **params):
    return LipschitzClassifier(ThreadSpy, regularizer="none",
                               **{**FAST, **params}).fit(X, y)


def test_n_threads_applies_to_fit_and_predict_and_is_restored(
        digits, spy, two_threads):
    X, _, y, _ = digits
    clf = _fit(X[:200], y[:200], n_threads=1)
    assert spy.seen and set(spy.seen) == {1}
    assert torch.get_num_threads() == 2
    spy.seen = []
    clf.predict_proba(X[:10])
    clf.score(X[:10], y[:10])
    assert spy.seen and set(spy.seen) == {1}
    assert torch.get_num_threads() == 2


def test_default_keeps_the_callers_setting(digits, spy, two_threads):
    X, _, y, _ = digits
    _fit(X[:200], y[:200])
    assert set(spy.seen) == {2}


def test_attacks_run_under_the_estimators_n_threads(digits, spy,
                                                    two_threads):
    X, _, y, _ = digits
    clf = _fit(X[:200], y[:200], n_threads=1)
    spy.seen = []
    PGDAttack(eps=0.5, n_iter=2, random_state=0).generate(clf, X[:20], y[:20])
    assert spy.seen and set(spy.seen) == {1}
    # Through a pipeline, the final step's n_threads.
    pipe = make_pipeline(FunctionTransformer(), clf).fit(X[:200], y[:200])
    spy.seen = []
    PGDAttack(eps=0.5, n_iter=2, random_state=0).generate(pipe, X[:20], y[:20])
    assert spy.seen and set(spy.seen) == {1}
    assert torch.get_num_threads() == 2


def _threads_in_fit(X, y):
    ThreadSpy.seen = []
    _fit(X, y)
    return sorted(set(ThreadSpy.seen))


@pytest.mark.parametrize("n_jobs, expected", [(2, [1]), (1, [2])])
def test_threaded_search_workers_use_one_thread(digits, spy, two_threads,
                                                n_jobs, expected):
    # joblib's threading backend sets no thread limit: two workers with
    # torch's default would fight over the cores. A sequential call runs
    # in this thread with its setting.
    X, _, y, _ = digits
    with joblib.parallel_config(backend="threading"):
        seen = Parallel(n_jobs=n_jobs)(
            delayed(_threads_in_fit)(X[:100], y[:100]) for _ in range(2))
    assert seen == [expected, expected]
    assert torch.get_num_threads() == 2


def test_an_explicit_n_threads_wins_in_a_worker(digits, spy, two_threads):
    X, _, y, _ = digits

    def fit_with_two():
        ThreadSpy.seen = []
        _fit(X[:100], y[:100], n_threads=2)
        return sorted(set(ThreadSpy.seen))

    with joblib.parallel_config(backend="threading"):
        seen = Parallel(n_jobs=2)(delayed(fit_with_two)() for _ in range(1))
    assert seen == [[2]]


def test_negative_n_threads_counts_from_the_cores():
    cores = joblib.cpu_count()
    assert resolve_n_threads(-1) == cores
    assert resolve_n_threads(-cores - 5) == 1
    assert resolve_n_threads(3) == 3


@pytest.mark.parametrize("bad", [0, 1.5, "2", True])
def test_bad_n_threads_is_refused_before_training(digits, bad):
    X, _, y, _ = digits
    with pytest.raises((TypeError, ValueError), match="n_threads"):
        LipschitzClassifier(n_threads=bad, **FAST).fit(X[:50], y[:50])


def test_threaded_search_gives_the_sequential_scores(digits):
    X, _, y, _ = digits
    X, y = X[:300], y[:300]

    def search(n_jobs):
        return GridSearchCV(
            LipschitzClassifier(regularizer="tv", n_threads=1, **FAST),
            {"reg_lambda": [0.01, 0.1]}, cv=2, n_jobs=n_jobs).fit(X, y)

    sequential = search(1)
    with joblib.parallel_config(backend="threading"):
        threaded = search(2)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(threaded.cv_results_[key],
                                      sequential.cv_results_[key])
