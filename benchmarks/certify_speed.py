"""Time the local certificate with and without its screens.

Trains the MNIST benchmark's MLP (784-200-80-10) without and with CLIP,
certifies the 2,000 test points at L2 radii 0.1, 0.5 and 1.0 with
``certify`` (exact local constants only where they decide), then computes
the exact local constants of every point, and prints both times and whether
the certified points are the same::

    OMP_NUM_THREADS=1 python benchmarks/certify_speed.py \\
        [--data-dir ../shared/data/mnist]
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from sklip import LipschitzClassifier
from sklip.benchmark import load_data
from sklip.lipschitz import certify
from sklip.lipschitz._certified import _gaps
from sklip.lipschitz._chain_plan import final_linear, local_plan
from sklip.lipschitz._margin_bounds import local_constants, pairwise_constants

RADII = (0.1, 0.5, 1.0)
MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" \
    / "mnist"


def exact_certified(clf, X, y):
    """The certified points from exact local constants at every point."""
    module = clf.module_.eval()
    X_t = torch.as_tensor(X)
    labels = torch.as_tensor(np.searchsorted(clf.classes_, y))
    with torch.no_grad():
        gaps = torch.from_numpy(_gaps(module, X_t, labels))
        steps = local_plan(module, X_t)
        pairwise = pairwise_constants(*final_linear(module, X_t))[labels]
        flat = X_t.reshape(len(X_t), -1).double()
        columns = []
        for r in RADII:
            local = torch.cat([
                local_constants(steps, flat[s:s + 256], labels[s:s + 256], r)
                for s in range(0, len(flat), 256)])
            columns.append((gaps > r * torch.minimum(local, pairwise))
                           .all(1).numpy())
    return np.stack(columns, axis=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(MNIST_DIR))
    args = parser.parse_args(argv)
    X_train, X_test, y_train, y_test = load_data("mnist", args.data_dir)
    print(f"{'method':<8} {'certified @0.1/0.5/1.0':<24} {'screened':>9} "
          f"{'exact':>7} {'same':>5}")
    for regularizer, epochs in (("none", 3), ("clip", 10)):
        clf = LipschitzClassifier(regularizer=regularizer,
                                  hidden_layer_sizes=(200, 80),
                                  max_epochs=epochs, random_state=0)
        clf.fit(X_train, y_train)
        start = time.perf_counter()
        cert = certify(clf, X_test, y_test, RADII, bound="local")
        screened = time.perf_counter() - start
        start = time.perf_counter()
        exact = exact_certified(clf, X_test, y_test)
        seconds = time.perf_counter() - start
        accuracy = "/".join(f"{a:.3f}" for a in cert.accuracy)
        print(f"{regularizer:<8} {accuracy:<24} {screened:8.1f}s "
              f"{seconds:6.1f}s {np.array_equal(exact, cert.certified)!s:>5}",
              flush=True)


if __name__ == "__main__":
    main()
