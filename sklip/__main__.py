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

    result = run_benchmark(
        args.dataset, _names(args.methods),
        data_dir=args.data_dir, epochs=args.epochs, fgsm_eps=args.fgsm_eps,
        pgd_eps=args.pgd_eps, pgd_n_iter=args.pgd_n_iter,
        noise_sigma=args.noise_sigma, certify_eps=args.certify_eps,
        square_queries=args.square_queries,
        device=args.device, seed=args.seed,
        output_dir=args.output, progress=not args.no_progress,
        preset=args.preset, n_jobs=args.n_jobs, lambdas=args.lambdas)
    print(f"sklip benchmark: {args.dataset}, {result.settings['epochs']} "
          f"epochs, seed {args.seed}, {_PRESET_TITLES[args.preset]}")
    print(result.table())
    for path in result.files:
        print(f"wrote {path}")
    return 0


def _path(args):
    """Run :func:`sklip.benchmark.run_path` and print the path."""
    from .benchmark import run_path

    result = run_path(
        args.dataset, _names(args.methods), data_dir=args.data_dir,
        epochs=args.epochs, path_points=args.path_points,
        path_epochs=args.path_epochs, pgd_eps=args.pgd_eps,
        pgd_n_iter=args.pgd_n_iter, square_queries=args.square_queries,
        device=args.device, seed=args.seed, output_dir=args.output,
        progress=not args.no_progress)
    settings = result.settings
    print(f"sklip benchmark --path: {args.dataset}, {settings['path_points']}"
          f" λ per method, {settings['epochs']} epochs for the first and "
          f"{settings['path_epochs']} warm-started epochs for each next, "
          f"worst case at L2 ε = {settings['pgd_eps']:g} on "
          f"{settings['n_robust']} test points, seed {args.seed}")
    print(result.table())
    for path in result.files:
        print(f"wrote {path}")
    return 0


def _mode(bench, args):
    """The function of the mode the flags ask for, once the flags fit it
    (an option of one mode given to another is an error, not ignored)."""
    if args.tile != 1 and not args.timing:
        bench.error("--tile only applies to --timing")
    if args.timing and args.lambdas is not None:
        bench.error("--lambdas does not apply to --timing, which times "
                    "every method at its own λ")
    if args.path and args.timing:
        bench.error("--path and --timing are two modes: choose one")
    if args.path and args.preset != "tuned":
        bench.error("--preset slides does not apply to --path, which draws "
                    "every method's λ path at its tuned settings")
    for option in ("path_points", "path_epochs"):
        if getattr(args, option) is not None and not args.path:
            bench.error(f"{_option(option)} only applies to --path")
    if args.path:
        for option in ("fgsm_eps", "noise_sigma", "certify_eps", "n_jobs",
                       "lambdas"):
            if getattr(args, option) is not None:
                bench.error(f"{_option(option)} does not apply to --path, "
                            f"which measures the worst case at --pgd-eps")
        return _path
    return _timing if args.timing else args.run


def _timing(args):
    """Seconds per epoch of every method against standard training."""
    from .timing import format_timing, run_timing

    rows, settings = run_timing(
        args.dataset, _names(args.methods), data_dir=args.data_dir,
        epochs=args.epochs, tile=args.tile, device=args.device,
        seed=args.seed, preset=args.preset)
    tiled = (f" ({settings['n_distinct']} tiled {args.tile} times)"
             if args.tile > 1 else "")
    print(f"sklip benchmark --timing: {args.dataset}, {settings['n_train']} "
          f"training samples{tiled}, MLP {settings['n_features']}-200-80-"
          f"{settings['n_classes']}, batch 128, median of "
          f"{settings['epochs']} interleaved epochs, "
          f"{_PRESET_TITLES[args.preset]}")
    print(format_timing(rows))
    return 0


def _names(values):
    """Names given to a list option, split at commas and spaces.

    ``--methods clip tv``, ``--methods clip,tv`` and ``--methods "clip, tv"``
    all give ``["clip", "tv"]``; ``None`` (option not given) stays ``None``.
    """
    if values is None:
        return None
    return [name for value in values
            for name in value.replace(",", " ").split()]


def _parsers():
    """The ``sklip`` parser and its ``benchmark`` subcommand's."""
    from .benchmark import DATASETS, METHODS

    parser = _Parser(
        prog="sklip",
        description="Lipschitz-regularised neural networks for scikit-learn.")
    commands = parser.add_subparsers(dest="command", required=True)

    bench = commands.add_parser(
        "benchmark", help="train every method on the same data and compare "
        "accuracy, robustness, Lipschitz estimates and time")
    _add_run_options(bench, DATASETS, METHODS)
    _add_mode_options(bench)
    bench.set_defaults(run=_benchmark)
    return parser, bench


def _add_run_options(bench, datasets, methods):
    """Options of the benchmark run: data, methods, attacks, output."""
    from ._benchmark_presets import PRESETS

    bench.add_argument("--dataset", default="digits", choices=datasets)
    bench.add_argument("--data-dir", default=None,
                       help="folder with the MNIST IDX files")
    bench.add_argument("--methods", nargs="+", default=None,
                       metavar="METHOD",
                       help="subset of " + " ".join(methods) + ", separated "
                       "by spaces or commas (default: all that fit the data "
                       "set)")
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
                       help="folder for results.csv/json and the plots "
                       "(path.csv/json and frontier.png with --path)")
    bench.add_argument("--no-progress", action="store_true")
    bench.add_argument("--n-jobs", type=int, default=None,
                       help="processes attacking the trained methods at once "
                       "(default: one per core on the CPU; training runs "
                       "in one process)")
    bench.add_argument("--lambdas", type=float, nargs="+", default=None,
                       metavar="LAMBDA",
                       help="train every method at each of these λ from "
                       "scratch, one run each (the slides' Figure 10 in "
                       "training_history.png)")
    bench.add_argument("--preset", default="tuned", choices=PRESETS,
                       help="tuned: every method with sklip's searched "
                       "settings; slides: the slides' Table 1 methods as "
                       "the slides' algorithms (CLIP's accept rule, pTV's "
                       "algorithm box)")


def _add_mode_options(bench):
    """Options of the timing and λ-path modes."""
    bench.add_argument("--timing", action="store_true",
                       help="only time training: seconds per epoch of every "
                       "method against standard training in the same run")
    bench.add_argument("--tile", type=int, default=1,
                       help="with --timing: repeat the training set this "
                       "many times (6 turns MNIST's 8,000 images into the "
                       "48,000 of a GPU timing)")
    bench.add_argument("--path", action="store_true",
                       help="train every method along a λ path (warm "
                       "starts, small to large λ) and draw their clean / "
                       "worst-case frontiers in frontier.png, with path.csv")
    bench.add_argument("--path-points", type=int, default=None,
                       help="with --path: λ values per method (default 6)")
    bench.add_argument("--path-epochs", type=int, default=None,
                       help="with --path: epochs of each warm-started point "
                       "(default a third of --epochs)")


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
    from ._benchmark_checks import OptionError

    parser, bench = _parsers()
    args = parser.parse_args(argv)
    mode = _mode(bench, args)
    try:
        return mode(args)
    except OptionError as exc:
        # A bad option ends in one line naming it, before anything trained.
        bench.error(exc.message(_option))


def _option(parameter):
    """The command-line option of a parameter of ``run_benchmark``."""
    return _OPTIONS.get(parameter, "--" + parameter.replace("_", "-"))


_OPTIONS = {"output_dir": "--output", "progress": "--no-progress"}

#: How the first line of the output names the preset.
_PRESET_TITLES = {"tuned": "sklip's tuned settings (--preset tuned)",
                  "slides": "the slides' algorithms (--preset slides)"}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: the program and the
    message, as argparse ends its usage text, without the usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


if __name__ == "__main__":
    sys.exit(main())
