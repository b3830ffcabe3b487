"""What ``reg_lambda="path"`` costs against ``"auto"``, and what it chooses.

Fits the digits MLP (64 hidden units, 20 epochs, lr 0.01, the first 1,400
images; test on the rest) once with ``reg_lambda="auto"`` and once with
``reg_lambda="path"`` for each regulariser named, and prints the seconds,
the λ trained with and the clean test accuracy of both.

    OMP_NUM_THREADS=1 python benchmarks/path_lambda_cost.py
    OMP_NUM_THREADS=1 python benchmarks/path_lambda_cost.py --regularizers tv clip
"""

import argparse
import time
import warnings

import torch
from sklearn.exceptions import ConvergenceWarning

from sklip import LipschitzClassifier
from sklip.datasets import load_digits_scaled


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regularizers", nargs="+", default=["tv"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = load_digits_scaled()
    X_train, X_test, y_train, y_test = X[:1400], X[1400:], y[:1400], y[1400:]
    # The first fit of a process pays for torch's lazy initialisation.
    LipschitzClassifier(max_epochs=1, callbacks__collapse=None).fit(
        X_train[:256], y_train[:256])
    print(f"{'regularizer':12s} {'reg_lambda':>10s} {'seconds':>8s} "
          f"{'λ':>8s} {'clean':>6s}")
    for regularizer in args.regularizers:
        for reg_lambda in ("auto", "path"):
            clf = LipschitzClassifier(
                regularizer=regularizer, reg_lambda=reg_lambda,
                hidden_layer_sizes=(64,), max_epochs=20, lr=0.01,
                random_state=0)
            start = time.perf_counter()
            with warnings.catch_warnings():
                # The path's largest λ may collapse a fold's network.
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            print(f"{regularizer:12s} {reg_lambda:>10s} {seconds:8.2f} "
                  f"{clf.reg_lambda_:8.3g} {clf.score(X_test, y_test):6.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
