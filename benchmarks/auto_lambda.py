"""Does ``reg_lambda="auto"`` train on every data set and network?

For each setting (data set, network, lr) the script trains standard
training (``regularizer="none"``) and every regulariser with
``reg_lambda="auto"`` (or a fixed λ with ``--lam``), and prints the test
accuracy (R² for regressors), its ratio to standard training's, the λ that
"auto" resolved to and whether the collapse warning fired. The settings
are the tests' and examples' networks: the digits MLP, a small CNN on the
8x8 digits images, an MLP on 2,000 real MNIST images
(``../shared/data/mnist``), standardised iris, the polynomial task and
``make_regression``; and one setting beyond them, iris as loaded
(centimetres; ``raw iris MLP``), reported apart.

    OMP_NUM_THREADS=1 python benchmarks/auto_lambda.py
    OMP_NUM_THREADS=1 python benchmarks/auto_lambda.py --lam default  # before
    OMP_NUM_THREADS=1 python benchmarks/auto_lambda.py --unscaled-radius
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip._auto_lambda import loss_and_separation
from sklip.datasets import load_digits_scaled, load_mnist, make_polynomial
from sklip.regularizers import get_regularizer

MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" \
    / "mnist"
CLASSIFIER_REGS = ("clip", "sumlip", "tv", "ptv", "adversarial", "margin")
REGRESSOR_REGS = ("clip", "sumlip", "tv", "ptv", "adversarial")
#: Settings beyond the tests' and examples', whose lowest ratio is printed
#: apart.
EXTRA_SETTINGS = ("raw iris MLP",)


class SmallCNN(nn.Module):
    """Conv2d(1, 8, 3)-ReLU-MaxPool-Flatten-Linear on 8x8 images."""

    def __init__(self, n_outputs=10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(8 * 3 * 3, n_outputs))

    def forward(self, X):
        return self.body(X)


def settings():
    """``name -> (estimator class, params, X_train, X_test, y_train,
    y_test)``."""
    X, y = load_digits_scaled()
    digits = (X[:1400], X[1400:], y[:1400], y[1400:])
    images = tuple(a.reshape(-1, 1, 8, 8) for a in digits[:2]) + digits[2:]
    out = {
        "digits MLP": (LipschitzClassifier, {}, *digits),
        "digits CNN": (LipschitzClassifier, {"module": SmallCNN}, *images),
    }
    if MNIST_DIR.is_dir():
        Xm, ym = load_mnist(MNIST_DIR)
        # The tests' MNIST network (784-200-80-10) on a quarter of the data.
        out["mnist-2000 MLP"] = (LipschitzClassifier,
                                 {"hidden_layer_sizes": (200, 80)},
                                 Xm[:2000], Xm[8000:9000], ym[:2000],
                                 ym[8000:9000])
    Xi, yi = load_iris(return_X_y=True)
    iris = train_test_split(Xi.astype(np.float32), yi, test_size=0.3,
                            random_state=0, stratify=yi)
    # The tests' iris: standardised (by the training split here). One batch
    # per epoch: the estimator's default 50 epochs.
    scaler = StandardScaler().fit(iris[0])
    out["iris MLP"] = (LipschitzClassifier, {"max_epochs": 50},
                       scaler.transform(iris[0]).astype(np.float32),
                       scaler.transform(iris[1]).astype(np.float32),
                       *iris[2:])
    # Beyond the tests: iris as loaded, centimetres, not standardised.
    out["raw iris MLP"] = (LipschitzClassifier, {"max_epochs": 50}, *iris)
    Xp, yp = make_polynomial(100, random_state=0)
    out["polynomial MLP"] = (LipschitzRegressor,
                             {"hidden_layer_sizes": (64, 64),
                              "max_epochs": 300, "batch_size": 32},
                             Xp[:60], Xp[60:], yp[:60], yp[60:])
    Xr, yr = make_regression(200, 5, noise=1.0, random_state=0)
    Xr = StandardScaler().fit_transform(Xr).astype(np.float32)
    out["make_regression MLP"] = (LipschitzRegressor, {}, Xr[:160], Xr[160:],
                                  yr[:160].astype(np.float32),
                                  yr[160:].astype(np.float32))
    return out


def run(estimator, params, data, regularizer, reg_lambda, lr, epochs,
        unscaled_radius=False):
    X_train, X_test, y_train, y_test = data
    kwargs = {"max_epochs": epochs, "lr": lr, "random_state": 0, **params}
    searched = get_regularizer(regularizer)
    if reg_lambda == "default":  # the searched λ unscaled (before "auto")
        reg_lambda = float(searched.default_lambda)
    if unscaled_radius and searched.epsilon_scales_with_data:
        # The searched radius as it is (before it was scaled to the data).
        kwargs["epsilon"] = float(searched.default_epsilon)
    model = estimator(regularizer=regularizer, reg_lambda=reg_lambda,
                      **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        try:
            model.fit(X_train, y_train)
        except TypeError as exc:  # margin on a convolutional network
            return None, None, str(exc)[:40]
    collapsed = any(issubclass(w.category, ConvergenceWarning)
                    for w in caught)
    return model.score(X_test, y_test), model.reg_lambda_, collapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lam", default="auto",
                        help='"auto", "default" (unscaled) or a number')
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, nargs="+", default=[1e-3, 1e-2])
    parser.add_argument("--only", nargs="*", help="setting names to run")
    parser.add_argument("--unscaled-radius", action="store_true",
                        help="margin training at its searched radius 0.5 "
                        "rather than scaled to the data")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lam = args.lam if args.lam in ("auto", "default") else float(args.lam)
    print(f"{'setting':22s} {'lr':>6s} {'regularizer':12s} {'λ':>8s} "
          f"{'score':>6s} {'/none':>6s}  collapse-warning")
    worst = {False: np.inf, True: np.inf}  # by: is an extra setting
    for name, (estimator, params, *data) in settings().items():
        if args.only and name not in args.only:
            continue
        params = dict(params)
        epochs = params.pop("max_epochs", args.epochs)
        regs = (CLASSIFIER_REGS if estimator is LipschitzClassifier
                else REGRESSOR_REGS)
        # What "auto" scales by: the constant predictor's loss L0 and the
        # median input distance per unit of target change ℓ.
        loss, length = loss_and_separation(
            data[0], data[2], estimator is LipschitzClassifier)
        print(f"{name}: L0 = {loss:.3g}, ℓ = {length:.3g}")
        for lr in args.lr:
            start = time.time()
            base, _, warned = run(estimator, params, data, "none", 0.0, lr,
                                  epochs)
            print(f"{name:22s} {lr:6g} {'none':12s} {0:8.3g} {base:6.3f} "
                  f"{1:6.2f}  {warned}")
            for reg in regs:
                score, value, warned = run(estimator, params, data, reg, lam,
                                           lr, epochs, args.unscaled_radius)
                if score is None:
                    print(f"{name:22s} {lr:6g} {reg:12s} {'n/a':>8s}  "
                          f"({warned})")
                    continue
                ratio = score / base
                extra = name in EXTRA_SETTINGS
                worst[extra] = min(worst[extra], ratio)
                print(f"{name:22s} {lr:6g} {reg:12s} {value:8.3g} "
                      f"{score:6.3f} {ratio:6.2f}  {warned}")
            print(f"  ({time.time() - start:.0f} s)", flush=True)
    shown = {k: "n/a" if np.isinf(v) else f"{v:.2f}" for k, v in worst.items()}
    print("lowest ratio to standard training: "
          f"{shown[False]} (the tests' and examples' settings), "
          f"{shown[True]} (beyond them: {', '.join(EXTRA_SETTINGS)})")


if __name__ == "__main__":
    main()
