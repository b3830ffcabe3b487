"""Measuring the benchmark's trained estimators: table rows and curves.

Given the fitted estimator of every method and its training time, this
computes one row of the table per method (accuracy clean and under FGSM,
PGD, the worst case and noise, certified accuracy, Lipschitz estimates and
times for a classifier; R², Lipschitz constants and times for the
polynomial regressor) and, for a classifier, the robustness curves of
every attack. :func:`make_attacks` is public as
:func:`sklip.benchmark.make_attacks`.
"""

import time

import numpy as np
from joblib import Parallel, delayed

from .attacks import get_attack
from .lipschitz import (certify, lipschitz_exact_1d,
                        lipschitz_lower_bound, lipschitz_upper_bound)
from .metrics import adversarial_accuracy, robustness_curve

__all__ = ["make_attacks", "classification_results", "regression_rows"]


def make_attacks(fgsm_eps, pgd_eps, noise_sigma, pgd_n_iter=100, seed=0,
                 square_queries=5000):
    """The attacks of the table's columns, on images in [0, 1].

    Parameters
    ----------
    fgsm_eps : float
        L∞ radius of FGSM.
    pgd_eps : float
        L2 radius of PGD and of the worst case.
    noise_sigma : float
        Standard deviation of the Gaussian noise.
    pgd_n_iter : int, default=100
        Iterations of PGD and of each gradient attack of the worst case.
    seed : int, default=0
        Seed of every randomised attack.
    square_queries : int, default=5000
        Queries of the Square Attack in the worst case.

    Returns
    -------
    dict
        ``{"fgsm": FGSMAttack, "pgd": PGDAttack, "worst_case":
        WorstCaseAttack, "noise": NoiseAttack}``, all clamped to [0, 1].
        PGD is the cross-entropy PGD of the CLIP paper's tables; the worst
        case (APGD-CE, APGD-DLR, APGD-T, margin PGD with 5 restarts,
        Square) is the robustness figure to trust.
    """
    clamp = (0.0, 1.0)
    return {
        "fgsm": get_attack("fgsm", eps=fgsm_eps, norm="inf", clamp=clamp),
        "pgd": get_attack("pgd", eps=pgd_eps, norm=2, n_iter=pgd_n_iter,
                          clamp=clamp, random_state=seed),
        "worst_case": get_attack("worst_case", eps=pgd_eps, norm=2,
                                 n_iter=pgd_n_iter, n_queries=square_queries,
                                 clamp=clamp, random_state=seed),
        "noise": get_attack("noise", sigma=noise_sigma, clamp=clamp,
                            random_state=seed),
    }


def _time_columns(seconds, method):
    """``seconds`` and, when standard training ran, ``time_ratio`` (the
    training time relative to it); without that baseline there is no ratio
    to report, so the column is left out rather than filled with NaN."""
    columns = {"seconds": seconds[method]}
    base = seconds.get("none")
    if base:
        columns["time_ratio"] = seconds[method] / base
    return columns


def _curve_eps_values(settings, eps_values):
    """Radii of each attack's curve: six points from 0 to twice the table's
    value (nine to twice the largest certified radius for the certified
    curve), unless ``eps_values`` names others."""
    return {
        "fgsm": np.linspace(0, 2 * settings["fgsm_eps"], 6),
        "pgd": np.linspace(0, 2 * settings["pgd_eps"], 6),
        "worst_case": np.linspace(0, 2 * settings["pgd_eps"], 6),
        "noise": np.linspace(0, 2 * settings["noise_sigma"], 6),
        # Nine points: the table's largest certified radius is the fifth.
        "certified": np.linspace(0, 2 * max(settings["certify_eps"]), 9),
        **(eps_values or {})}


def classification_results(estimators, seconds, data, settings, eps_values,
                           seed, n_jobs=1):
    """The table's rows and the robustness curves of fitted classifiers.

    The methods are measured independently of each other (every attack is
    seeded by ``seed`` afresh), so ``n_jobs`` processes measure them at
    once with the results of one process measuring them in turn.

    Parameters
    ----------
    estimators : dict
        Method -> fitted classifier.
    seconds : dict
        Method -> training time.
    data : tuple
        ``(X_train, X_test, y_train, y_test)``.
    settings : dict
        The benchmark's settings (radii, budgets, ``curve_points``).
    eps_values : dict or None
        Attack -> radii of its curve, replacing the default ones.
    seed : int
        Seed of the attacks and of the Lipschitz lower bound.
    n_jobs : int, default=1
        Processes measuring methods at once (joblib's; ``-1``: one per
        core, each with ``cores // n_jobs`` torch threads).

    Returns
    -------
    rows : list of dict
    curves : dict
        Attack -> method -> :func:`~sklip.metrics.robustness_curve` output.
    """
    X_test, y_test = data[1], data[3]
    attacks = make_attacks(settings["fgsm_eps"], settings["pgd_eps"],
                           settings["noise_sigma"], settings["pgd_n_iter"],
                           seed, settings["square_queries"])
    eps_values = _curve_eps_values(settings, eps_values)
    # The worst case is the costly curve: it runs on the first test points.
    curve_data = {name: (X_test, y_test) for name in attacks}
    n_curve = settings["curve_points"]
    curve_data["worst_case"] = (X_test[:n_curve], y_test[:n_curve])
    measured = Parallel(n_jobs=n_jobs)(
        delayed(_measure)(method, est, data, attacks, seconds, settings,
                          seed, curve_data, eps_values)
        for method, est in estimators.items())
    rows = [row for row, _ in measured]
    curves = {name: {method: method_curves[name] for method, (_, method_curves)
                     in zip(estimators, measured)}
              for name in [*attacks, "certified"]}
    return rows, curves


def _measure(method, est, data, attacks, seconds, settings, seed, curve_data,
             eps_values):
    """One method's table row and robustness curves."""
    # One certificate for the table's radii and the curve's: the bounds are
    # computed once per network, whatever the number of radii.
    table_radii = np.asarray(settings["certify_eps"], dtype=float)
    certificate = certify(est, data[1], data[3], np.concatenate(
        [table_radii, eps_values["certified"]]))
    n_table = len(table_radii)
    row = _classification_row(method, est, data, attacks, seconds, seed,
                              _certified_columns(certificate, n_table))
    curves = {}
    for name, attack in attacks.items():
        params = {k: v for k, v in attack.get_params().items()
                  if k not in ("eps", "sigma")}
        curves[name] = robustness_curve(
            est, *curve_data[name], attack=name,
            eps_values=eps_values[name], **params)
    curves["certified"] = {
        "eps_values": certificate.eps[n_table:],
        "accuracy": certificate.accuracy[n_table:],
        "clean_accuracy": row["clean_acc"], "attack": "certified",
        "attack_params": {"norm": 2, "bound": certificate.bound},
        "n_samples": len(data[3])}
    return row, curves


def _classification_row(method, est, data, attacks, seconds, seed,
                        certified_columns):
    """One row of the classification table."""
    X_train, X_test, y_train, y_test = data
    upper = lipschitz_upper_bound(est)
    start = time.perf_counter()
    worst_case = adversarial_accuracy(est, X_test, y_test,
                                      attacks["worst_case"])
    worst_case_seconds = time.perf_counter() - start
    return {
        "method": method,
        "train_acc": est.score(X_train, y_train),
        "clean_acc": est.score(X_test, y_test),
        "fgsm_acc": adversarial_accuracy(est, X_test, y_test,
                                         attacks["fgsm"]),
        "pgd_acc": adversarial_accuracy(est, X_test, y_test,
                                        attacks["pgd"]),
        "worst_case_acc": worst_case,
        "noise_acc": adversarial_accuracy(est, X_test, y_test,
                                          attacks["noise"]),
        **certified_columns,
        "lip_lower": lipschitz_lower_bound(est, X_test[:500],
                                           random_state=seed),
        "lip_upper": upper,
        **_time_columns(seconds, method),
        "worst_case_seconds": worst_case_seconds,
    }


def _certified_columns(certificate, n_radii):
    """The table's columns from the first ``n_radii`` radii of a
    certificate: certified accuracy at each, by the tightest bound sklip has
    for the network, and that bound's name."""
    columns = {f"certified@{eps:g}": float(acc) for eps, acc in zip(
        certificate.eps[:n_radii], certificate.accuracy[:n_radii])}
    columns["certified_bound"] = certificate.bound
    return columns


def regression_rows(estimators, seconds, data):
    """The table's rows of fitted regressors on the polynomial task.

    Parameters
    ----------
    estimators : dict
        Method -> fitted regressor.
    seconds : dict
        Method -> training time.
    data : tuple
        ``(X_train, X_test, y_train, y_test)``.

    Returns
    -------
    list of dict
    """
    X_train, X_test, y_train, y_test = data
    return [{
        "method": method,
        "train_r2": est.score(X_train, y_train),
        "test_r2": est.score(X_test, y_test),
        "lip_exact": lipschitz_exact_1d(est, -3.0, 3.0),
        "lip_upper": lipschitz_upper_bound(est),
        **_time_columns(seconds, method),
    } for method, est in estimators.items()]
