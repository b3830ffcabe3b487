"""Command line: ``python -m sklip demo`` (or the ``sklip`` console script).

A thin layer over the library; every number it prints is computed by the
library functions it calls.
"""

import argparse
import sys
import time

__all__ = ["main"]


def _demo(args):
    """Train standard and CLIP-regularised networks on digits and compare."""
    import torch
    from sklearn.model_selection import train_test_split

    from . import LipschitzClassifier
    from .datasets import load_digits_scaled
    from .lipschitz import lipschitz_lower_bound, lipschitz_upper_bound

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    X, y = load_digits_scaled()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=args.seed, stratify=y)
    print(f"{'method':<8} {'test acc':>8} {'Lip lower':>9} {'Lip upper':>9} "
          f"{'seconds':>7}")
    for name in ("none", "clip", "sumlip"):
        clf = LipschitzClassifier(regularizer=name, reg_lambda=args.reg_lambda,
                                  max_epochs=args.epochs,
                                  random_state=args.seed)
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        lower = lipschitz_lower_bound(clf, X_test, random_state=args.seed)
        upper = lipschitz_upper_bound(clf)
        print(f"{name:<8} {clf.score(X_test, y_test):>8.3f} {lower:>9.2f} "
              f"{upper:>9.1f} {seconds:>7.1f}")
    return 0


def main(argv=None):
    """Entry point of ``python -m sklip`` and the ``sklip`` script.

    Parameters
    ----------
    argv : list of str or None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    parser = argparse.ArgumentParser(
        prog="sklip",
        description="Lipschitz-regularised neural networks for scikit-learn.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="compare standard, CLIP and SumLip training on digits")
    demo.add_argument("--epochs", type=int, default=30)
    demo.add_argument("--reg-lambda", type=float, default=0.1)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    if getattr(args, "epochs", 1) < 0:
        parser.error("--epochs must be >= 0")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
