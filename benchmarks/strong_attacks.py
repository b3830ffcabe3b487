"""sklip's strong attacks against ART's, on the six MNIST benchmark models.

Every method of ``sklip benchmark`` is trained as the benchmark trains it
(MLP 784-200-80-10, 30 epochs, seed 0, the 8,000 / 2,000 split of
``shared/data/mnist``) and attacked at L2 ε = 2, clamped to [0, 1], on the
first ``--n-test`` test images by

- sklip: cross-entropy PGD (100 steps, the benchmark's PGD column),
  APGD-CE, APGD-DLR, APGD-T (9 target classes), margin PGD (100 steps, 5
  restarts), Square (5,000 queries) and their per-sample worst case
  (:class:`sklip.attacks.WorstCaseAttack`, the benchmark's worst-case
  column);
- ART (``adversarial-robustness-toolbox``, the independent check):
  ``AutoProjectedGradientDescent`` with the cross-entropy and the DLR loss,
  its targeted DLR version run once per target class as in APGD-T, and
  ``SquareAttack`` (5,000 queries).

It prints accuracy and seconds per attack and model, whether the worst case
is at or below every single attack (within one point), and the ratio of
ART's time to sklip's for each pair of matching attacks. One JSON line per
model goes to ``--output``::

    python benchmarks/strong_attacks.py --output strong_attacks.jsonl
    python benchmarks/strong_attacks.py --n-test 2000 --methods clip tv
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sklip import LipschitzClassifier
from sklip.attacks import APGDAttack, PGDAttack, SquareAttack, WorstCaseAttack
from sklip.benchmark import METHODS, load_data, method_params

MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" \
    / "mnist"
EPS = 2.0


def sklip_attacks(seed=0):
    """The attacks of sklip compared here, by label."""
    common = {"eps": EPS, "clamp": (0.0, 1.0), "random_state": seed}
    return {
        "pgd-ce": PGDAttack(n_iter=100, **common),
        "apgd-ce": APGDAttack(loss="ce", **common),
        "apgd-dlr": APGDAttack(loss="dlr", **common),
        "apgd-t": APGDAttack(loss="dlr", targeted=True, **common),
        "pgd-margin": PGDAttack(n_iter=100, n_restarts=5, loss="margin",
                                **common),
        "square": SquareAttack(n_queries=5000, **common),
        "worst_case": WorstCaseAttack(**common),
    }


def _art_classifier(module, input_shape):
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(module, loss=nn.CrossEntropyLoss(),
                             input_shape=input_shape, nb_classes=10,
                             clip_values=(0.0, 1.0), device_type="cpu")


def art_accuracies(est, X, y):
    """Accuracy and seconds of ART's APGD-CE, APGD-DLR, APGD-T, Square."""
    from art.attacks.evasion import AutoProjectedGradientDescent
    from art.attacks.evasion import SquareAttack as ARTSquare

    module = est.module_.eval()
    flat = _art_classifier(module, (X.shape[1],))
    np.random.seed(0)  # ART draws from numpy's global generator
    results = {}

    def apgd(loss_type, **kw):
        return AutoProjectedGradientDescent(
            flat, norm=2, eps=EPS, eps_step=2 * EPS, max_iter=100,
            nb_random_init=1, batch_size=len(X), loss_type=loss_type,
            verbose=False, **kw)

    for label, loss_type in (("apgd-ce", "cross_entropy"),
                             ("apgd-dlr", "difference_logits_ratio")):
        start = time.perf_counter()
        acc = est.score(apgd(loss_type).generate(X, y=y), y)
        results[label] = (acc, time.perf_counter() - start)

    # APGD-T: one targeted run per wrong class, most likely first, each on
    # the points no earlier run broke (as AutoAttack runs it).
    start = time.perf_counter()
    with torch.no_grad():
        logits = module(torch.as_tensor(X)).numpy()
    logits[np.arange(len(y)), y] = -np.inf
    ranked = np.argsort(-logits, axis=1)
    fooled = est.predict(X) != y
    for k in range(9):
        todo = np.flatnonzero(~fooled)
        if todo.size == 0:
            break
        X_adv = apgd("difference_logits_ratio", targeted=True).generate(
            X[todo], y=ranked[todo, k])
        fooled[todo] |= est.predict(X_adv) != y[todo]
    results["apgd-t"] = (1 - fooled.mean(), time.perf_counter() - start)

    side = int(np.sqrt(X.shape[1]))
    images = _art_classifier(nn.Sequential(nn.Flatten(), module),
                             (1, side, side))
    start = time.perf_counter()
    square = ARTSquare(images, norm=2, eps=EPS, max_iter=5000, p_init=0.8,
                       nb_restarts=1, batch_size=len(X), verbose=False)
    with np.errstate(all="ignore"):  # ART's L2 update divides by zero
        X_adv = square.generate(X.reshape(-1, 1, side, side), y=y)
    results["square"] = (est.score(X_adv.reshape(len(X), -1), y),
                         time.perf_counter() - start)
    return results


def evaluate(method, data, n_test, seed=0, with_art=True):
    """Train one benchmark model and attack it with every attack."""
    X_train, X_test, y_train, y_test = data
    X, y = X_test[:n_test], y_test[:n_test]
    est = LipschitzClassifier(hidden_layer_sizes=(200, 80), max_epochs=30,
                              random_state=seed,
                              **method_params(method, EPS, "mnist"))
    est.fit(X_train, y_train)
    row = {"method": method, "n_test": len(y), "clean": est.score(X, y),
           "sklip": {}, "art": {}}
    for label, attack in sklip_attacks(seed).items():
        start = time.perf_counter()
        acc = est.score(attack.generate(est, X, y), y)
        row["sklip"][label] = (acc, time.perf_counter() - start)
    if with_art:
        row["art"] = art_accuracies(est, X, y)
    singles = [acc for label, (acc, _) in row["sklip"].items()
               if label != "worst_case"]
    singles += [acc for acc, _ in row["art"].values()]
    row["worst_of_singles"] = min(singles)
    row["worst_case_within_1_point"] = bool(
        row["sklip"]["worst_case"][0] <= min(singles) + 0.01)
    return row


def format_row(row):
    """One model's figures as text."""
    lines = [f"{row['method']}: clean {row['clean']:.3f} on {row['n_test']} "
             f"test points"]
    for label, (acc, seconds) in row["sklip"].items():
        art = row["art"].get(label)
        art_text = (f"   ART {art[0]:.3f} in {art[1]:6.1f} s "
                    f"(×{art[1] / seconds:.1f} sklip's time)" if art else "")
        lines.append(f"  {label:<11} sklip {acc:.3f} in {seconds:6.1f} s"
                     f"{art_text}")
    lines.append(f"  worst case {row['sklip']['worst_case'][0]:.3f} vs best "
                 f"single attack {row['worst_of_singles']:.3f}: "
                 f"{'ok' if row['worst_case_within_1_point'] else 'MISSED'}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS),
                        choices=list(METHODS))
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--data-dir", default=str(MNIST_DIR))
    parser.add_argument("--output", default=None)
    parser.add_argument("--no-art", action="store_true",
                        help="only sklip's attacks")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_data("mnist", args.data_dir)
    for method in args.methods:
        row = evaluate(method, data, args.n_test, with_art=not args.no_art)
        print(format_row(row), flush=True)
        if args.output:
            with open(args.output, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
