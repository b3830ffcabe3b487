"""How sklip reports fits that go wrong.

Trains the digits MLP (1,347 training images, 20 epochs) in settings that
fail — a huge learning rate for each optimiser, a huge λ for each
regulariser, inputs scaled by 1e30, regression targets scaled by 1e6 — and
prints, for each, the outcome (``FloatingPointError``, a
``ConvergenceWarning`` or nothing), the training accuracy (R² for the
regressor), the data loss (``train_data_loss``) of the first and the last
epoch, and the
first cause the message names. The user guide's "When training fails"
quotes these figures.

    OMP_NUM_THREADS=1 python benchmarks/failed_fits.py
"""

import re
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.datasets import load_digits_scaled


def _settings():
    """(label, estimator class, parameters, X transform, y transform)."""
    same = (lambda a: a)
    for optimizer in ("adam", "sgdm", "nag"):
        for regularizer in ("none", "clip"):
            yield (f"lr=10 {optimizer} {regularizer}", LipschitzClassifier,
                   {"optimizer": optimizer, "lr": 10.0,
                    "regularizer": regularizer}, same, same)
    for regularizer in ("clip", "sumlip", "tv", "ptv"):
        yield (f"λ=1e3 {regularizer}", LipschitzClassifier,
               {"regularizer": regularizer, "reg_lambda": 1e3}, same, same)
    yield ("X×1e30", LipschitzClassifier, {}, lambda X: X * 1e30, same)
    yield ("y×1e6 (regressor)", LipschitzRegressor, {}, same,
           lambda y: y.astype(np.float64) * 1e6)
    yield ("default", LipschitzClassifier, {}, same, same)


def _first_cause(message):
    """The first of the "likely causes" a message lists."""
    match = re.search(r"most likely first: (.*?)(;|$)", message)
    return match.group(1)[:70] if match else message[:70]


def main():
    torch.set_num_threads(1)
    X, y = load_digits_scaled()
    X, y = X[:1347], y[:1347]
    print(f"{'setting':<20} {'outcome':<20} {'score':>7} {'epoch 1':>9} "
          f"{'last':>10}  first cause named")
    for label, estimator, params, fx, fy in _settings():
        est = estimator(max_epochs=20, random_state=0, **params)
        outcome, cause, score = "no warning", "", float("nan")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                est.fit(fx(X), fy(y))
                score = est.score(fx(X), fy(y))
            except FloatingPointError as exc:
                outcome, cause = "FloatingPointError", _first_cause(str(exc))
        warned = [w for w in caught
                  if issubclass(w.category, ConvergenceWarning)]
        if warned and outcome == "no warning":
            outcome = "ConvergenceWarning"
            cause = _first_cause(str(warned[0].message))
        losses = [row.get("train_data_loss", float("nan"))
                  for row in est.history]
        start, end = (losses[0], losses[-1]) if losses else (np.nan, np.nan)
        print(f"{label:<20} {outcome:<20} {score:7.3f} {start:9.3g} "
              f"{end:10.3g}  {cause}")


if __name__ == "__main__":
    main()
