"""Does the cross-validated λ path keep clean accuracy on every data set?

For each setting of ``benchmarks/auto_lambda.py`` (the tests' and examples'
networks: the digits MLP, a small CNN on the 8x8 digits, an MLP on 2,000
MNIST images, iris, the polynomial task, ``make_regression``) and each
regulariser, :class:`sklip.LipschitzClassifierCV` (or
:class:`~sklip.LipschitzRegressorCV`) with its defaults (6 λ, 3 folds,
clean and default robust scores, the one-standard-error rule) chooses λ
and refits; the script prints the chosen λ, the refitted model's test
score (accuracy, R² for regressors) and its ratio to standard training's
(the same network trained with ``regularizer="none"``), and the lowest
ratio at the end.

    OMP_NUM_THREADS=1 python benchmarks/cv_clean_check.py
    OMP_NUM_THREADS=1 python benchmarks/cv_clean_check.py --only "iris MLP"
"""

import argparse
import importlib.util
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from sklip import (LipschitzClassifier, LipschitzClassifierCV,
                   LipschitzRegressorCV)


def _auto_lambda_module():
    """``benchmarks/auto_lambda.py``, whose settings this script shares."""
    path = Path(__file__).with_name("auto_lambda.py")
    spec = importlib.util.spec_from_file_location("auto_lambda", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(estimator, params, data, regularizer, lr, epochs):
    """The CV estimator's chosen λ, test score and seconds."""
    X_train, X_test, y_train, y_test = data
    template = estimator(regularizer=regularizer, max_epochs=epochs, lr=lr,
                         random_state=0, **params)
    cv_class = (LipschitzClassifierCV if estimator is LipschitzClassifier
                else LipschitzRegressorCV)
    start = time.time()
    with warnings.catch_warnings():
        # The path's largest λ may collapse a fold's network: that is
        # what the rule steers away from.
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            search = cv_class(template).fit(X_train, y_train)
        except TypeError as exc:  # margin on a convolutional network
            return None, str(exc)[:40], time.time() - start
    return (search.reg_lambda_, search.score(X_test, y_test),
            time.time() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--only", nargs="*", help="setting names to run")
    parser.add_argument("--regularizers", nargs="*",
                        help="regularisers to run (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    auto_lambda = _auto_lambda_module()
    print(f"{'setting':22s} {'regularizer':12s} {'λ':>8s} {'score':>6s} "
          f"{'/none':>6s} {'seconds':>8s}")
    worst = np.inf
    for name, (estimator, params, *data) in auto_lambda.settings().items():
        if args.only and name not in args.only:
            continue
        params = dict(params)
        epochs = params.pop("max_epochs", args.epochs)
        base, _, _ = auto_lambda.run(estimator, params, data, "none", 0.0,
                                     args.lr, epochs)
        print(f"{name:22s} {'none':12s} {0:8.3g} {base:6.3f} {1:6.2f}",
              flush=True)
        regs = (auto_lambda.CLASSIFIER_REGS if estimator is
                LipschitzClassifier else auto_lambda.REGRESSOR_REGS)
        for reg in regs:
            if args.regularizers and reg not in args.regularizers:
                continue
            value, score, seconds = check(estimator, params, data, reg,
                                          args.lr, epochs)
            if value is None:
                print(f"{name:22s} {reg:12s} {'n/a':>8s}  ({score})")
                continue
            ratio = score / base
            worst = min(worst, ratio)
            print(f"{name:22s} {reg:12s} {value:8.3g} {score:6.3f} "
                  f"{ratio:6.2f} {seconds:8.0f}", flush=True)
    print(f"lowest ratio to standard training: {worst:.2f}")


if __name__ == "__main__":
    main()
