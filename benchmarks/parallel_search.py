"""Time a GridSearchCV of sklip estimators with n_jobs=1 and n_jobs=2.

Four candidates (TV at four λ) on scikit-learn's digits, three folds,
searched sequentially, with joblib's default loky backend (the first
search starts the worker processes, later ones in the process reuse them)
and with the ``"threading"`` backend; each row gives the seconds, the speed-up over the
sequential search of the same round, and whether every fold's score equals
the sequential search's. Run it alone on the machine::

    python benchmarks/parallel_search.py [--rounds 2] [--epochs 20]

Workers follow sklip's thread policy (``n_threads=None``, see
:mod:`sklip._threads`): loky's processes start with ``cores // n_jobs``
torch threads, worker threads use one each.
"""

import argparse
import time

import joblib
import numpy as np
from sklearn.model_selection import GridSearchCV

from sklip import LipschitzClassifier
from sklip.datasets import load_digits_scaled

GRID = {"reg_lambda": [0.01, 0.03, 0.1, 0.3]}


def search(X, y, n_jobs, backend, epochs):
    """Seconds and per-fold scores of one search."""
    estimator = LipschitzClassifier(regularizer="tv", max_epochs=epochs,
                                    random_state=0)
    grid = GridSearchCV(estimator, GRID, cv=3, n_jobs=n_jobs)
    start = time.perf_counter()
    with joblib.parallel_config(backend=backend):
        grid.fit(X, y)
    seconds = time.perf_counter() - start
    scores = np.array([grid.cv_results_[f"split{i}_test_score"]
                       for i in range(3)])
    return seconds, scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args(argv)
    X, y = load_digits_scaled()
    print(f"{'round':>5} {'search':<22} {'seconds':>8} {'speed-up':>9} "
          f"{'same scores':>12}")
    for round_ in range(1, args.rounds + 1):
        reference, reference_scores = search(X, y, 1, "loky", args.epochs)
        runs = [("n_jobs=1", reference, reference_scores)]
        for backend in ("loky", "threading"):
            seconds, scores = search(X, y, 2, backend, args.epochs)
            runs.append((f"n_jobs=2 {backend}", seconds, scores))
        for name, seconds, scores in runs:
            same = bool(np.array_equal(scores, reference_scores))
            print(f"{round_:>5} {name:<22} {seconds:8.1f} "
                  f"{reference / seconds:8.2f}x {str(same):>12}", flush=True)


if __name__ == "__main__":
    main()
