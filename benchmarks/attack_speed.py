"""PGD throughput of sklip against ART on the same network and data.

The setting of the SPEC's robustness numbers: an MLP 784-200-80-10 trained
briefly on the MNIST test split (the 8,000 / 2,000 split of
``shared/data/mnist``), attacked with PGD-L2 (Madry et al., ICLR 2018) of
radius 2 for 100 steps on the 2,000 held-out images. Three attacks are
timed on identical inputs and batch size:

- ``sklip``: :class:`sklip.attacks.PGDAttack` as a user gets it (early
  stopping: a sample stops once misclassified);
- ``sklip, no early stop``: every sample takes every step, the same work as
  ART;
- ``ART``: ``art.attacks.evasion.ProjectedGradientDescent`` with a
  ``PyTorchClassifier`` wrapping the same module.

Run from the repository root::

    python benchmarks/attack_speed.py                 # CPU
    python benchmarks/attack_speed.py --device cuda   # GPU, if there is one
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from sklip import LipschitzClassifier
from sklip.attacks import PGDAttack
from sklip.datasets import load_mnist

MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" \
    / "mnist"


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _time_all(fns, device, repeats):
    """Best wall time of each function over ``repeats`` rounds.

    The rounds interleave the functions, so that a change in the machine's
    load during the run affects all of them alike; a first untimed call of
    each warms up.
    """
    results = {name: fn() for name, fn in fns.items()}
    best = dict.fromkeys(fns, np.inf)
    for _ in range(repeats):
        for name, fn in fns.items():
            _sync(device)
            start = time.perf_counter()
            results[name] = fn()
            _sync(device)
            best[name] = min(best[name], time.perf_counter() - start)
    return best, results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(MNIST_DIR))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-images", type=int, default=2000)
    parser.add_argument("--n-iter", type=int, default=100)
    parser.add_argument("--eps", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    X, y = load_mnist(args.data)
    X_train, y_train = X[:8000], y[:8000]
    X_test, y_test = X[8000:8000 + args.n_images], y[8000:8000 + args.n_images]
    clf = LipschitzClassifier(regularizer="none", hidden_layer_sizes=(200, 80),
                              max_epochs=args.epochs, device=args.device,
                              random_state=0).fit(X_train, y_train)
    step = 2.5 * args.eps / args.n_iter
    print(f"device={args.device} threads={torch.get_num_threads()} "
          f"images={len(X_test)} steps={args.n_iter} eps={args.eps} (L2) "
          f"step={step:g} batch={args.batch_size}; clean accuracy "
          f"{clf.score(X_test, y_test):.3f}")

    def ours(early_stop):
        attack = PGDAttack(args.eps, norm=2, n_iter=args.n_iter,
                           step_size=step, early_stop=early_stop,
                           clamp=(0, 1), random_state=0)
        return lambda: attack.generate(clf, X_test, y_test,
                                       batch_size=args.batch_size)

    art_model = PyTorchClassifier(
        clf.module_, loss=torch.nn.CrossEntropyLoss(),
        input_shape=clf.input_shape_, nb_classes=10, clip_values=(0.0, 1.0),
        device_type="gpu" if args.device.startswith("cuda") else "cpu")
    art_attack = ProjectedGradientDescent(
        art_model, norm=2, eps=args.eps, eps_step=step, max_iter=args.n_iter,
        num_random_init=1, batch_size=args.batch_size, verbose=False)

    fns = {"sklip": ours(True), "sklip, no early stop": ours(False),
           "ART": lambda: art_attack.generate(X_test, y=y_test)}
    seconds, X_adv = _time_all(fns, args.device, args.repeats)
    rates = {}
    for name in fns:
        rates[name] = len(X_test) / seconds[name]
        print(f"{name:22s} {seconds[name]:7.3f} s  {rates[name]:9.0f} "
              f"samples/s  attacked accuracy "
              f"{clf.score(X_adv[name], y_test):.3f}")
    for name in ("sklip", "sklip, no early stop"):
        ratio = rates[name] / rates["ART"]
        print(f"speed-up of {name} over ART: {ratio:.1f}x")


if __name__ == "__main__":
    main()
