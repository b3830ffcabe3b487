"""The main job: train every method on the same data and network and compare.

This reproduces the slides' Table 1 (training accuracy and time of SumLip,
ADV-FGSM, TV, pTV and standard training) extended with the robustness the
methods buy — clean, FGSM, PGD and noise accuracy (the slides' Figures
13–15, the CLIP paper's tables), the worst case of strong attacks at the
PGD radius (:class:`~sklip.attacks.WorstCaseAttack`: APGD-CE, APGD-DLR,
APGD-T, margin PGD and Square, the figure to trust), Lipschitz lower /
upper estimates and certified accuracy — and the training curves of
Figure 10. On the slides'
1-D polynomial task it compares the fits instead (Figure 7).

:func:`run_benchmark` is the library entry point; ``sklip benchmark`` (see
:mod:`sklip.__main__`) is a thin command line over it. This module holds
the methods' settings and the training; the data, the measurements and the
files written come from private modules (``_benchmark_data``,
``_benchmark_eval``, ``_benchmark_output``). :func:`run_path`
(``sklip benchmark --path``) trains every method along a λ path instead
and draws their accuracy–robustness frontiers (``_benchmark_path``).
"""

import numpy as np

from ._benchmark_checks import (MAX_SEED, N_FEATURES, OptionError,
                               OptionTypeError, check_attack_options,
                               check_device, check_int, check_methods,
                               check_n_jobs, check_output_dir, check_path_options,
                               check_tile_memory,
                               load_checked_data)
from ._benchmark_data import load_data
from ._benchmark_eval import (classification_results, make_attacks,
                              regression_rows)
from ._benchmark_fit import fit_all
from ._benchmark_output import BenchmarkResult, format_table, write_results
from ._benchmark_path import PathResult, run_path
from ._benchmark_presets import (PRESETS, check_preset, preset_params,
                                 slides_methods)
from ._benchmark_sweep import check_lambdas, sweep_factory, sweep_runs
from .estimators import LipschitzClassifier, LipschitzRegressor
from .modules import OneLipschitzMLP

__all__ = ["METHODS", "CLASSIFICATION_ONLY", "DATASETS", "METHOD_PARAMS",
           "PRESETS", "method_params", "make_attacks", "TRAINING_RADIUS_FACTOR",
           "run_benchmark", "load_data", "format_table",
           "BenchmarkResult", "run_path", "PathResult"]

#: Methods compared, in the order of the slides' Table 1 (plus CLIP).
METHODS = ("none", "clip", "sumlip", "tv", "ptv", "adversarial_fgsm",
           "adversarial", "margin", "one_lipschitz")

#: Methods that need class labels (not run on the polynomial task).
CLASSIFICATION_ONLY = ("margin", "one_lipschitz")

#: Data sets the benchmark knows.
DATASETS = ("digits", "mnist", "polynomial")

#: Estimator parameters of each method on image data scaled to [0, 1]: the
#: regularisers' own defaults (``reg_lambda="auto"`` takes each one's
#: ``default_lambda``, chosen by ``benchmarks/search_defaults.py`` on MNIST:
#: the best worst-case accuracy at L2 ε = 2 at a clean accuracy of at least
#: 95 %), so the values live in one place.
#: The radii of pTV and of adversarial training are set per data set by
#: :func:`method_params` (1.5 times the PGD radius of the evaluation).
METHOD_PARAMS = {
    "none": {"regularizer": "none"},
    "clip": {"regularizer": "clip"},
    "sumlip": {"regularizer": "sumlip"},
    "tv": {"regularizer": "tv"},
    "ptv": {"regularizer": "ptv"},
    # The slides' "ADV FGSM": training on FGSM examples (L∞, the
    # regulariser's default radius 0.1, that of the FGSM column), λ 1.
    "adversarial_fgsm": {"regularizer": "adversarial", "reg_lambda": 1.0,
                         "regularizer__attack": "fgsm"},
    # PGD adversarial training in the evaluation's norm (Madry et al.),
    # the stronger baseline against the L2 attacks of the table.
    "adversarial": {"regularizer": "adversarial",
                    "regularizer__attack": "pgd", "regularizer__norm": 2},
    # Lipschitz-margin training (Tsuzuku et al. 2018) on the same MLP, and
    # on a 1-Lipschitz network (AOL layers and GroupSort, 784-256-256-10),
    # which certifies through its margins.
    "margin": {"regularizer": "margin"},
    # λ and the temperature from benchmarks/search_defaults.py, as for
    # the regularisers' own defaults.
    "one_lipschitz": {"regularizer": "margin", "module": OneLipschitzMLP,
                      "module__hidden_layer_sizes": (256, 256),
                      "reg_lambda": 0.2, "regularizer__temperature": 8.0},
}

#: Radius of pTV and adversarial training relative to the PGD radius.
TRAINING_RADIUS_FACTOR = 1.5

# Where a data set needs its own setting: pTV's λ = 3 drives the small
# digits network (64 pixels) to chance; λ = 1 gives 96 % clean accuracy.
_DATA_METHOD_PARAMS = {"digits": {"ptv": {"reg_lambda": 1.0}}}


def method_params(method, pgd_eps, dataset="mnist", preset="tuned"):
    """Estimator parameters of a method for an evaluation at PGD radius
    ``pgd_eps``.

    Parameters
    ----------
    method : str
        One of :data:`METHODS`.
    pgd_eps : float
        L2 radius of the PGD column of the table.
    dataset : str, default="mnist"
        The data set (digits lowers pTV's λ to 1).
    preset : {"tuned", "slides"}, default="tuned"
        sklip's tuned settings, or the slides' algorithms (see
        :mod:`sklip._benchmark_presets`).

    Returns
    -------
    dict
    """
    params = dict(METHOD_PARAMS[method])
    params.update(_DATA_METHOD_PARAMS.get(dataset, {}).get(method, {}))
    if method in ("ptv", "adversarial"):
        params["epsilon"] = TRAINING_RADIUS_FACTOR * float(pgd_eps)
    return preset_params(method, params, preset)


#: Estimator parameters of each method on the polynomial task (targets in
#: [0, 1], inputs in [-3, 3]).
POLYNOMIAL_PARAMS = {
    "none": {"regularizer": "none", "reg_lambda": 0.0},
    "clip": {"regularizer": "clip", "reg_lambda": 0.01},
    "sumlip": {"regularizer": "sumlip", "reg_lambda": 0.03},
    "tv": {"regularizer": "tv", "reg_lambda": 0.03},
    "ptv": {"regularizer": "ptv", "reg_lambda": 0.03, "epsilon": 0.5,
            "epsilon_decay": 0.9},
    "adversarial": {"regularizer": "adversarial", "reg_lambda": 1.0,
                    "epsilon": 0.2, "regularizer__norm": 2},
}

_DATA_DEFAULTS = {
    # epochs, FGSM L∞ ε, PGD (and worst-case) L2 ε, noise σ, certification
    # L2 ε
    "digits": dict(epochs=30, fgsm_eps=0.1, pgd_eps=1.0, noise_sigma=0.5,
                   certify_eps=(0.1, 0.3)),
    "mnist": dict(epochs=30, fgsm_eps=0.1, pgd_eps=2.0, noise_sigma=1.0,
                  certify_eps=(0.5, 1.0)),
    "polynomial": dict(epochs=300),
}


#: Options of the attacks and certificates: classification only.
_ATTACK_OPTIONS = ("fgsm_eps", "pgd_eps", "noise_sigma", "certify_eps",
                   "pgd_n_iter", "square_queries", "curve_points")

_TIMING_OPTIONS = {"data_dir", "epochs", "device", "seed", "preset"}
_BENCHMARK_OPTIONS = _TIMING_OPTIONS | set(_ATTACK_OPTIONS) | {
    "eps_values", "output_dir", "progress", "n_jobs", "lambdas"}
_PATH_OPTIONS = {"path_points", "path_epochs"}


def check_options(dataset="digits", methods=None, *, timing=False, tile=1,
                  path=False, **options):
    """Validate every option of :func:`run_benchmark` or of the timing mode
    before anything trains, and load the data.

    The command line calls it through those two functions, so ``sklip
    benchmark`` refuses exactly what Python refuses.

    Parameters
    ----------
    dataset, methods
        As in :func:`run_benchmark`.
    timing : bool, default=False
        Check the options of :func:`sklip.timing.run_timing` (``tile``,
        ``epochs``, ``device``, ``seed``, ``data_dir``) instead.
    path : bool, default=False
        Check the options of :func:`run_path` too (``path_points``,
        ``path_epochs``).
    tile : int, default=1
        Repeats of the training set in the timing mode.
    **options
        The other parameters of :func:`run_benchmark` (or of
        :func:`~sklip.timing.run_timing`), with the same defaults.

    Returns
    -------
    dict
        The checked options with the data set's defaults filled in:
        ``methods`` (a tuple), ``epochs``, ``output_dir`` (a created,
        writable ``Path`` or ``None``), ``data`` (``X_train, X_test,
        y_train, y_test``) and, on images, the attack options.

    Raises
    ------
    ValueError, TypeError
        An :class:`~sklip._benchmark_checks.OptionError` (or its
        ``TypeError`` twin) whose ``parameter`` names the culprit.
    """
    if dataset not in DATASETS:
        raise OptionError("dataset", f"must be one of {list(DATASETS)}, "
                          f"got {dataset!r}.")
    if (timing or path) and dataset not in N_FEATURES:
        raise OptionError("dataset", "must be digits or mnist: {} measures "
                          "classifiers.", "timing" if timing else "path")
    unknown = sorted(set(options) - (
        _TIMING_OPTIONS if timing else
        _BENCHMARK_OPTIONS | (_PATH_OPTIONS if path else set())))
    if unknown:
        raise TypeError(f"check_options got unexpected option(s) {unknown}.")
    preset = check_preset(options.get("preset", "tuned"), path)
    if methods is None and preset == "slides":
        methods = slides_methods(dataset == "polynomial" and
                                 tuple(POLYNOMIAL_PARAMS) or METHODS)
    checked = {"preset": preset, "methods": check_methods(
        methods, METHODS, tuple(POLYNOMIAL_PARAMS) if dataset == "polynomial"
        else None, CLASSIFICATION_ONLY)}
    epochs = options.get("epochs")
    if epochs is None:
        epochs = 10 if timing else _DATA_DEFAULTS[dataset]["epochs"]
    checked["epochs"] = check_int(epochs, "epochs")
    if path:
        checked.update(check_path_options(options, checked["epochs"]))
    check_device(options.get("device", "cpu"))
    seed = check_int(options.get("seed", 0), "seed", low=0, high=MAX_SEED)
    if timing:
        tile = check_int(tile, "tile")
    else:
        checked.update(check_attack_options(dataset, options,
                                            _DATA_DEFAULTS[dataset]))
        progress = options.get("progress", True)
        if not isinstance(progress, (bool, np.bool_)):
            raise OptionTypeError("progress", f"must be a bool, got "
                                  f"{progress!r}.")
        checked["output_dir"] = check_output_dir(options.get("output_dir"))
        checked["n_jobs"] = check_n_jobs(options.get("n_jobs"),
                                         options.get("device", "cpu"))
        checked["lambdas"] = check_lambdas(options.get("lambdas"))
    checked["data"] = load_checked_data(dataset, options.get("data_dir"),
                                        seed)
    if timing:
        check_tile_memory(tile, checked["data"][0],
                          options.get("device", "cpu"))
    return checked


def run_benchmark(dataset="digits", methods=None, *, data_dir=None,
                  epochs=None, fgsm_eps=None, pgd_eps=None, pgd_n_iter=100,
                  noise_sigma=None, certify_eps=None, eps_values=None,
                  square_queries=5000, curve_points=500, device="cpu",
                  seed=0, output_dir=None, progress=True, preset="tuned",
                  n_jobs=None, lambdas=None):
    """Train every method on the same data and network and measure them.

    Parameters
    ----------
    dataset : {"digits", "mnist", "polynomial"}, default="digits"
        Data: scikit-learn's bundled digits (no download), MNIST from the
        IDX files in ``data_dir`` (8,000 / 2,000 split of the test set), or
        the slides' 1-D polynomial regression task.
    methods : sequence of str or None, default=None
        Which of :data:`METHODS`; ``None`` runs them all (on the polynomial
        task all but the classification-only ``"margin"`` and
        ``"one_lipschitz"``; with ``preset="slides"`` those of the slides'
        Table 1: none, clip, sumlip, tv, ptv, adversarial_fgsm).
    data_dir : str or Path or None
        Folder of the MNIST IDX files.
    epochs : int or None
        Training epochs of every method (default per data set).
    fgsm_eps, pgd_eps, noise_sigma : float or None
        FGSM L∞ radius, PGD L2 radius and Gaussian noise σ of the table
        (defaults per data set: MNIST 0.1 / 2.0 / 1.0).
    pgd_n_iter : int, default=100
        PGD iterations, and those of every gradient attack of the worst
        case (per restart and target class).
    certify_eps : float, sequence of float or None
        L2 radii of the certified-accuracy columns (default per data set:
        MNIST 0.5 and 1.0, digits 0.1 and 0.3). Each is certified by the
        tightest bound sklip has for the network (column
        ``certified_bound``, see :func:`sklip.lipschitz.certify`).
    eps_values : dict or None
        Attack -> radii (``eps``, ``sigma`` for noise) of its robustness
        curve (default: six points from 0 to twice the table's value).
    square_queries : int, default=5000
        Queries of the Square Attack in the worst case.
    curve_points : int, default=500
        Test points of the worst-case curve (the first ones; the table's
        worst-case column uses them all).
    device : str, default="cpu"
        Where to train and attack.
    seed : int, default=0
        Seed of the split and of every estimator.
    output_dir : str or Path or None
        Where to write ``results.csv``, ``results.json`` and the PNG plots;
        ``None`` writes nothing.
    progress : bool, default=True
        Show a progress bar of the training epochs.
    preset : {"tuned", "slides"}, default="tuned"
        ``"tuned"``: every method with sklip's searched settings.
        ``"slides"``: CLIP and SumLip with the CLIP reference's accept rule,
        pTV as the slides' algorithm box (every batch point anchors a pair,
        ε × 0.9 per epoch, λ ± 0.01 per batch against α = 0.95); see
        :mod:`sklip._benchmark_presets` for every difference.
    n_jobs : int or None, default=None
        Processes that attack and measure the trained methods at once, each
        method in one process (the training, whose seconds the table
        reports, runs in this process, one method after the other).
        ``None``: one per core on the CPU, 1 on another device; ``-1``
        every core. The results are those of one process (every attack is
        seeded afresh for each method); ``worst_case_seconds`` is then the
        time of a process sharing the machine with the others.
    lambdas : sequence of float or None, default=None
        Train every method (but ``"none"``) at each of these λ, from
        scratch, as its own run labelled ``"<method> λ=<value>"`` (the
        slides' Figure 10 in ``training_history.png``); ``None`` trains
        each at its own λ.

    Returns
    -------
    BenchmarkResult

    Raises
    ------
    ValueError, TypeError
        Before anything trains, for any bad option (see
        :func:`check_options`): the message and the error's ``parameter``
        name it.
    """
    options = check_options(
        dataset, methods, data_dir=data_dir, epochs=epochs,
        fgsm_eps=fgsm_eps, pgd_eps=pgd_eps, pgd_n_iter=pgd_n_iter,
        noise_sigma=noise_sigma, certify_eps=certify_eps,
        eps_values=eps_values, square_queries=square_queries,
        curve_points=curve_points, device=device, seed=seed,
        output_dir=output_dir, progress=progress, preset=preset,
        n_jobs=n_jobs, lambdas=lambdas)
    epochs = options["epochs"]
    runs = sweep_runs(options["methods"], options["lambdas"])
    methods = tuple(runs)
    X_train, X_test, y_train, y_test = data = options["data"]
    settings = {"dataset": dataset, "preset": preset, "epochs": epochs,
                "seed": seed, "lambdas": options["lambdas"],
                "device": str(device), "n_train": len(X_train),
                "n_test": len(X_test)}
    if dataset == "polynomial":
        estimators, seconds = fit_all(
            methods, sweep_factory(
                _regressor_factory(epochs, device, seed, preset), runs),
            X_train, y_train, epochs, progress)
        rows = regression_rows(estimators, seconds, data)
        curves = {}
    else:
        settings.update((k, options[k]) for k in _ATTACK_OPTIONS)
        settings["curve_points"] = min(curve_points, len(X_test))
        estimators, seconds = fit_all(
            methods, sweep_factory(
                _classifier_factory(epochs, device, seed, settings), runs),
            X_train, y_train, epochs, progress)
        rows, curves = classification_results(
            estimators, seconds, data, settings, options["eps_values"], seed,
            options["n_jobs"])
    histories = {m: [dict((k, v) for k, v in epoch.items() if k != "batches")
                     for epoch in est.history] for m, est in estimators.items()}
    result = BenchmarkResult(dataset, rows, histories, curves, settings)
    if options["output_dir"] is not None:
        write_results(result, estimators, options["output_dir"], X_train,
                      y_train)
    return result


def _classifier_factory(epochs, device, seed, settings):
    """``make(method)``: the unfitted classifier of a method on images."""
    n_hidden = (200, 80)  # the CLIP reference's MLP 784-200-80-10

    def make(method):
        return LipschitzClassifier(
            hidden_layer_sizes=n_hidden, max_epochs=epochs, device=device,
            random_state=seed,
            **method_params(method, settings["pgd_eps"], settings["dataset"],
                            settings.get("preset", "tuned")))

    return make


def _regressor_factory(epochs, device, seed, preset="tuned"):
    """``make(method)``: the unfitted regressor of a method on the
    polynomial task."""
    def make(method):
        return LipschitzRegressor(
            hidden_layer_sizes=(64, 64), max_epochs=epochs, lr=0.01,
            batch_size=32, device=device, random_state=seed,
            **preset_params(method, POLYNOMIAL_PARAMS[method], preset))

    return make
