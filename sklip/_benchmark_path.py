"""The benchmark's path mode: every method along a λ path, and the frontier.

The slides warn that "λ must be chosen carefully" (their Figure 10): too
small and the penalty does nothing, too large and the network collapses.
This mode trains every method at a log grid of λ around its default,
from small to large λ, each point warm-started from the network of the
previous one (as scikit-learn's regularisation paths, ``LassoCV``), and
scores every point on the test split with the clean accuracy and the
benchmark's strongest robustness figure, the worst case of APGD-CE,
APGD-DLR, APGD-T, margin PGD and Square (Croce & Hein, ICML 2020) at the
PGD radius. The result is the frontier of every method on one pair of
axes (:class:`~sklip.plotting.FrontierDisplay`), ``path.csv`` and
``path.json``.

:func:`run_path` is public as :func:`sklip.benchmark.run_path` and runs as
``sklip benchmark --path``.
"""

import csv
import json
import time
import warnings

import numpy as np

from ._auto_lambda import auto_lambda_scale, loss_and_separation
from ._benchmark_eval import make_attacks
from ._benchmark_fit import EpochProgress
from ._benchmark_output import format_table
from .metrics import adversarial_accuracy
from .regularizers import get_regularizer

__all__ = ["PathResult", "path_lambdas", "default_lambda", "run_path",
           "train_paths"]

#: Decades of the path below and above the default λ (before the grid is
#: shifted to hold the default itself).
PATH_DECADES = (-2.0, 1.0)

#: Columns of ``path.csv``, in order.
PATH_COLUMNS = ("method", "reg_lambda", "is_default", "clean", "robust",
                "attack", "eps", "epochs", "seconds")


def path_lambdas(default, n_points):
    """λ of the path of a method whose default λ is ``default``.

    ``n_points`` values evenly spaced in log from ``default / 100`` to
    ``default * 10``, all shifted by the same factor (under half a step) so
    that the default itself is on the grid: most of the path lies below
    the default, which was searched as the most robust λ that keeps 95 %
    clean accuracy on MNIST, and one decade above it reaches the collapse.

    Parameters
    ----------
    default : float
        The method's λ in the benchmark, > 0.
    n_points : int
        Points of the path, >= 2.

    Returns
    -------
    ndarray of shape (n_points,)
        Increasing λ.

    Examples
    --------
    >>> from sklip._benchmark_path import path_lambdas
    >>> path_lambdas(1.0, 4).tolist()
    [0.01, 0.1, 1.0, 10.0]
    """
    exponents = np.linspace(*PATH_DECADES, n_points)
    exponents -= exponents[np.argmin(np.abs(exponents))]
    return float(default) * 10.0 ** exponents


def default_lambda(params, X, y):
    """The λ a method's estimator parameters train with on ``(X, y)``.

    An explicit ``reg_lambda`` is kept; ``"auto"`` (the default) is the
    regulariser's ``default_lambda`` scaled to the data as the estimator
    scales it (see :mod:`sklip._auto_lambda`).

    Parameters
    ----------
    params : dict
        Estimator parameters (``regularizer``, maybe ``reg_lambda``).
    X, y : ndarray
        Training data.

    Returns
    -------
    float
    """
    reg_lambda = params.get("reg_lambda", "auto")
    if not isinstance(reg_lambda, str):
        return float(reg_lambda)
    regularizer = get_regularizer(params["regularizer"])
    scale = auto_lambda_scale(loss_and_separation(X, y, True),
                              getattr(regularizer, "quotient_power", 0))
    return float(regularizer.default_lambda) * scale


class PathResult:
    """What :func:`run_path` measured.

    Attributes
    ----------
    dataset : str
    rows : list of dict
        One row per point of every path (columns of ``path.csv``:
        ``method``, ``reg_lambda``, ``is_default``, ``clean``, ``robust``,
        ``attack``, ``eps``, ``epochs`` trained for this point and their
        ``seconds``); standard training is one row at λ = 0.
    settings : dict
        Data set, epochs, path points and epochs, radius, budgets, seed.
    files : list of Path
        Files written (``path.csv``, ``path.json``, ``frontier.png``).
    """

    def __init__(self, dataset, rows, settings):
        self.dataset = dataset
        self.rows = rows
        self.settings = settings
        self.files = []

    def table(self):
        """The path as a text table (see
        :func:`sklip.benchmark.format_table`)."""
        # The default λ is marked by a word: the table has no bool cells.
        return format_table([{
            k: ("default" if row[k] else "") if k == "is_default" else row[k]
            for k in PATH_COLUMNS if k != "eps"} for row in self.rows])


def _score(est, data, attack, n_robust):
    """Clean accuracy on the whole test split and worst-case accuracy on
    its first ``n_robust`` points."""
    X_test, y_test = data[1], data[3]
    return (float(est.score(X_test, y_test)),
            float(adversarial_accuracy(est, X_test[:n_robust],
                                       y_test[:n_robust], attack)))


def _fit_timed(est, X, y):
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


def _method_path(method, est, data, attack, settings):
    """The rows of one method: its path, or one point for standard
    training."""
    X_train, y_train = data[0], data[2]
    default = default_lambda(est.get_params(), X_train, y_train)
    lambdas = ([default] if method == "none" else
               path_lambdas(default, settings["path_points"]))
    # warm_start keeps the network, its optimiser state and the history
    # between fits; the λ schedule is rebuilt from reg_lambda at every fit,
    # so each point trains with its own λ from its first step.
    est.set_params(warm_start=True)
    rows = []
    for i, lam in enumerate(lambdas):
        epochs = settings["epochs"] if i == 0 else settings["path_epochs"]
        seconds = _fit_timed(est.set_params(reg_lambda=float(lam),
                                            max_epochs=epochs),
                             X_train, y_train)
        clean, robust = _score(est, data, attack, settings["n_robust"])
        rows.append({
            "method": method, "reg_lambda": float(lam),
            "is_default": bool(np.isclose(lam, default)),
            "clean": clean, "robust": robust, "attack": "worst_case",
            "eps": settings["pgd_eps"], "epochs": epochs,
            "seconds": seconds})
    return rows


def train_paths(methods, make, data, attack, settings, progress=True):
    """Train and score every method along its path.

    Parameters
    ----------
    methods : sequence of str
    make : callable
        ``make(method)``: the unfitted classifier of a method.
    data : tuple
        ``(X_train, X_test, y_train, y_test)``.
    attack : Attack
        The robustness evaluation of every point.
    settings : dict
        ``epochs`` (first point), ``path_epochs`` (each further point),
        ``path_points``, ``n_robust`` and ``pgd_eps``.
    progress : bool, default=True
        Show a progress bar of the training epochs.

    Returns
    -------
    list of dict
        The rows of :class:`PathResult`.
    """
    from tqdm.auto import tqdm


    X_train, y_train = data[0], data[2]
    # As in the table mode: one throwaway epoch pays for torch's lazy
    # initialisation, which would inflate the first point's seconds. Its
    # network is not one of the results: a collapse warning of its single
    # epoch would only mislead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make(methods[0]).set_params(max_epochs=1).fit(X_train[:256],
                                                      y_train[:256])
    per_path = (settings["epochs"]
                + (settings["path_points"] - 1) * settings["path_epochs"])
    total = sum(settings["epochs"] if m == "none" else per_path
                for m in methods)
    rows = []
    with tqdm(total=total, desc="λ path", unit="epoch",
              disable=not progress, leave=False) as bar:
        for method in methods:
            bar.set_postfix_str(method)
            est = make(method).set_params(
                callbacks=[("progress", EpochProgress(bar))])
            rows += _method_path(method, est, data, attack, settings)
    return rows


def run_path(dataset="digits", methods=None, *, data_dir=None, epochs=None,
             path_points=6, path_epochs=None, pgd_eps=None, pgd_n_iter=100,
             square_queries=5000, curve_points=500, device="cpu", seed=0,
             output_dir=None, progress=True):
    """Train every method along a λ path and draw their frontiers.

    Each method (but standard training, one reference point) is trained at
    the λ of :func:`path_lambdas` around its benchmark λ
    (:func:`~sklip.benchmark.method_params`, ``"auto"`` resolved on the
    training data), in increasing order: the first point for ``epochs``
    epochs from scratch, every further one for ``path_epochs`` epochs
    warm-started from the previous network. Every point is scored by its
    clean test accuracy and its worst-case accuracy
    (:class:`~sklip.attacks.WorstCaseAttack`) at the PGD radius.

    Parameters
    ----------
    dataset : {"digits", "mnist"}, default="digits"
    methods : sequence of str or None, default=None
        Which of :data:`~sklip.benchmark.METHODS` (``None``: all).
    data_dir : str or Path or None
        Folder of the MNIST IDX files.
    epochs : int or None
        Epochs of the first point of each path, and of standard training
        (default per data set, 30).
    path_points : int, default=6
        λ values per method, >= 2.
    path_epochs : int or None
        Epochs of each warm-started point (default ``epochs // 3``, at
        least 1).
    pgd_eps : float or None
        L2 radius of the worst case (default per data set: digits 1,
        MNIST 2).
    pgd_n_iter : int, default=100
        Iterations of every gradient attack of the worst case.
    square_queries : int, default=5000
        Queries of its Square Attack.
    curve_points : int, default=500
        Test points of the worst case (the first ones; the clean accuracy
        uses the whole test split).
    device : str, default="cpu"
    seed : int, default=0
        Seed of the split, the estimators and the attacks.
    output_dir : str or Path or None
        Where to write ``path.csv``, ``path.json`` and ``frontier.png``;
        ``None`` writes nothing.
    progress : bool, default=True
        Show a progress bar of the training epochs.

    Returns
    -------
    PathResult

    Raises
    ------
    ValueError, TypeError
        Before anything trains, for any bad option (see
        :func:`sklip.benchmark.check_options`), naming it.
    """
    # Imported here: sklip.benchmark re-exports this function.
    from .benchmark import _classifier_factory, check_options

    options = check_options(
        dataset, methods, path=True, data_dir=data_dir, epochs=epochs,
        path_points=path_points, path_epochs=path_epochs, pgd_eps=pgd_eps,
        pgd_n_iter=pgd_n_iter, square_queries=square_queries,
        curve_points=curve_points, device=device, seed=seed,
        output_dir=output_dir, progress=progress)
    data = options["data"]
    settings = {"dataset": dataset, "seed": seed, "device": str(device),
                "n_train": len(data[0]), "n_test": len(data[1]),
                "n_robust": min(options["curve_points"], len(data[1])),
                "attack": "worst_case",
                **{k: options[k] for k in ("epochs", "path_points",
                                           "path_epochs", "pgd_eps",
                                           "pgd_n_iter", "square_queries")}}
    attack = make_attacks(options["fgsm_eps"], settings["pgd_eps"],
                          options["noise_sigma"], settings["pgd_n_iter"],
                          seed, settings["square_queries"])["worst_case"]
    make = _classifier_factory(settings["epochs"], device, seed, settings)
    rows = train_paths(options["methods"], make, data, attack, settings,
                       progress)
    result = PathResult(dataset, rows, settings)
    if options["output_dir"] is not None:
        write_path_results(result, options["output_dir"])
    return result


def write_path_results(result, folder):
    """Write ``path.csv``, ``path.json`` and ``frontier.png`` of a
    :class:`PathResult` to ``folder``, appending the paths to
    ``result.files``."""
    import matplotlib

    matplotlib.use("Agg")

    from ._benchmark_output import _save
    from .plotting import FrontierDisplay

    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "path.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=PATH_COLUMNS)
        writer.writeheader()
        writer.writerows(result.rows)
    json_path = folder / "path.json"
    json_path.write_text(json.dumps({"settings": result.settings,
                                     "rows": result.rows}, indent=1))
    display = FrontierDisplay.from_benchmark(result)
    result.files += [csv_path, json_path,
                     _save(display.figure_, folder / "frontier.png")]
