"""Grid search over sklip estimators on a Dask cluster (joblib's Dask backend).

A local cluster of two worker processes on the loopback interface runs the
same search as ``n_jobs=1``: estimators, regularisers, attacks and scorers
are pickled to the workers, and the results must be the same, bit for bit.
"""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from sklip import LipschitzClassifier
from sklip.metrics import fgsm_accuracy_scorer, pgd_accuracy_scorer
from sklip.regularizers import CLIPRegularizer

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


@pytest.fixture(scope="module")
def dask_client():
    """Two single-threaded worker processes on 127.0.0.1."""
    with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None,
            # Also dask's default (distributed.nanny.pre-spawn-environ),
            # written here because the test depends on it.
            env={"OMP_NUM_THREADS": "1"}) as cluster, \
            distributed.Client(cluster) as client:
        # torch sums in a thread-count dependent order: one thread in every
        # worker, as in this process (tests/conftest.py), keeps the floats
        # identical.
        client.run(torch.set_num_threads, 1)
        yield client


def _search(n_jobs):
    base = LipschitzClassifier(hidden_layer_sizes=(16,), max_epochs=4,
                               batch_size=64, lr=0.01, random_state=0)
    grid = {"reg_lambda": [0.01, 0.3],
            # a name and an object: both must travel to the workers
            "regularizer": ["tv", CLIPRegularizer(n_pairs=16)]}
    scoring = {"clean": "accuracy",
               "fgsm": fgsm_accuracy_scorer(eps=0.1, clamp=(0, 1)),
               "pgd": pgd_accuracy_scorer(eps=1.0, n_iter=5, clamp=(0, 1))}
    return GridSearchCV(base, grid, scoring=scoring, refit="pgd", cv=2,
                        n_jobs=n_jobs)


def test_workers_use_one_torch_thread(dask_client):
    threads = dask_client.run(torch.get_num_threads)
    assert len(threads) == 2
    assert set(threads.values()) == {1}


def test_dask_grid_search_equals_sequential_search(dask_client, digits):
    X, _, y, _ = digits
    X, y = X[:300], y[:300]
    sequential = _search(n_jobs=1).fit(X, y)
    with distributed.get_task_stream(dask_client) as stream, \
            joblib.parallel_backend("dask"):
        on_dask = _search(n_jobs=-1).fit(X, y)

    # The fits ran on the cluster's workers, not in this process.
    workers = {task["worker"] for task in stream.data}
    assert workers and workers <= set(dask_client.scheduler_info()["workers"])
    expected, got = sequential.cv_results_, on_dask.cv_results_
    score_keys = sorted(key for key in expected
                        if key.startswith(("split", "mean_test", "std_test",
                                           "rank_test")))
    assert score_keys
    for key in score_keys:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    assert [repr(p) for p in got["params"]] == \
        [repr(p) for p in expected["params"]]
    assert repr(on_dask.best_params_) == repr(sequential.best_params_)
    assert on_dask.best_score_ == sequential.best_score_
    # Robustness scores were computed and differ from clean accuracy.
    assert not np.array_equal(expected["mean_test_pgd"],
                              expected["mean_test_clean"])
    np.testing.assert_array_equal(
        on_dask.best_estimator_.predict_proba(X[:50]),
        sequential.best_estimator_.predict_proba(X[:50]))
