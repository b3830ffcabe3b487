"""Command line: ``sklip benchmark`` (also ``python -m sklip benchmark``).

A thin layer over the library; every number it prints is computed by the
library functions it calls.
"""

import argparse
import sys

__all__ = ["main"]


def _benchmark(args):
    """Run :func:`sklip.benchmark.run_benchmark` and print its table."""
    from .benchmark import run_benchmark

    methods = None if args.methods is None else [
        m.strip() for m in args.methods.split(",") if m.strip()]
    result = run_benchmark(
        args.dataset, methods,
        data_dir=args.data_dir, epochs=args.epochs, fgsm_eps=args.fgsm_eps,
        pgd_eps=args.pgd_eps, pgd_n_iter=args.pgd_n_iter,
        noise_sigma=args.noise_sigma, certify_eps=args.certify_eps,
        square_queries=args.square_queries,
        device=args.device, seed=args.seed,
        output_dir=args.output, progress=not args.no_progress)
    print(f"sklip benchmark: {args.dataset}, {result.settings['epochs']} "
          f"epochs, seed {args.seed}")
    print(result.table())
    for path in result.files:
        print(f"wrote {path}")
    return 0


def _timing(args):
    """Seconds per epoch of every method against standard training."""
    import numpy as np

    from .benchmark import METHODS, _check_args, load_data, method_params
    from .timing import format_timing, time_methods

    if args.dataset == "polynomial":
        raise ValueError("--timing measures classifiers: use --dataset "
                         "digits or mnist.")
    methods = [m.strip() for m in (args.methods or ",".join(METHODS)).split(
        ",") if m.strip()]
    _check_args(args.dataset, methods, args.epochs)
    X_train, _, y_train, _ = load_data(args.dataset, args.data_dir, args.seed)
    n_distinct = len(X_train)
    X_train = np.tile(X_train, (args.tile, 1))
    y_train = np.tile(y_train, args.tile)
    epochs = args.epochs or 10
    params = {m: method_params(m, 2.0) for m in METHODS}
    # The slides' Table 1 times FGSM adversarial training ("ADV FGSM"):
    # the regulariser's default.
    params["adversarial"] = {"regularizer": "adversarial", "reg_lambda": 1.0}
    rows = time_methods(X_train, y_train, methods, params,
                        epochs=epochs, device=args.device, seed=args.seed)
    tiled = f" ({n_distinct} tiled {args.tile} times)" if args.tile > 1 else ""
    print(f"sklip benchmark --timing: {args.dataset}, {len(X_train)} "
          f"training samples{tiled}, MLP {X_train.shape[1]}-200-80-"
          f"{int(y_train.max()) + 1}, batch 128, median of {epochs} "
          f"interleaved epochs")
    print(format_timing(rows))
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
    from .benchmark import DATASETS, METHODS

    bench = commands.add_parser(
        "benchmark", help="train every method on the same data and compare "
        "accuracy, robustness, Lipschitz estimates and time")
    bench.add_argument("--dataset", default="digits", choices=DATASETS)
    bench.add_argument("--data-dir", default=None,
                       help="folder with the MNIST IDX files")
    bench.add_argument("--methods", default=None,
                       help="comma-separated subset of " + ",".join(METHODS)
                       + " (default: all that fit the data set)")
    bench.add_argument("--epochs", type=int, default=None)
    bench.add_argument("--fgsm-eps", type=float, default=None)
    bench.add_argument("--pgd-eps", type=float, default=None)
    bench.add_argument("--pgd-n-iter", type=int, default=100,
                       help="iterations of PGD and of every gradient attack "
                       "of the worst case")
    bench.add_argument("--noise-sigma", type=float, default=None)
    bench.add_argument("--certify-eps", type=float, nargs="+", default=None,
                       help="L2 radii of the certified-accuracy columns "
                       "(default: MNIST 0.5 1.0, digits 0.1 0.3)")
    bench.add_argument("--square-queries", type=int, default=5000,
                       help="queries of the Square Attack in the worst-case "
                       "column (whose gradient attacks take --pgd-n-iter)")
    bench.add_argument("--device", default="cpu")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--output", default="sklip-results",
                       help="folder for results.csv/json and the plots")
    bench.add_argument("--no-progress", action="store_true")
    bench.add_argument("--timing", action="store_true",
                       help="only time training: seconds per epoch of every "
                       "method against standard training in the same run")
    bench.add_argument("--tile", type=int, default=1,
                       help="with --timing: repeat the training set this "
                       "many times (6 turns MNIST's 8,000 images into the "
                       "48,000 of a GPU timing)")
    bench.set_defaults(run=_benchmark)
    args = parser.parse_args(argv)
    _check_options(parser, args)
    try:
        return _timing(args) if getattr(args, "timing", False) \
            else args.run(args)
    except (ValueError, FileNotFoundError, TypeError) as exc:
        # Bad options end in one clear line, not a traceback.
        parser.exit(2, f"sklip: error: {exc}\n")


def _check_options(parser, args):
    """Refuse bad option values with argparse's one-line error."""
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be a positive integer")
    if args.tile < 1:
        parser.error("--tile must be a positive integer")
    if args.square_queries < 1:
        parser.error("--square-queries must be a positive integer")
    if args.pgd_n_iter < 1:
        parser.error("--pgd-n-iter must be a positive integer")
    if args.certify_eps is not None and not all(
            eps >= 0 for eps in args.certify_eps):
        parser.error("--certify-eps must be numbers >= 0")
    if args.tile > 1 and not args.timing:
        parser.error("--tile only applies to --timing")


if __name__ == "__main__":
    sys.exit(main())
