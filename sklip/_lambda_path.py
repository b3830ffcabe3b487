"""The machinery of :mod:`sklip.model_selection`: a warm-started λ path on
one cross-validation fold, the λ grid and robust scorer found from the
data, and the rule that picks λ from the path's scores.

A path trains one network from small to large λ, each point continuing
the previous point's network (its weights, optimiser state and history)
for a few epochs, as scikit-learn's regularisation paths do
(``LassoCV``, ``LogisticRegressionCV``): the network of a larger λ starts
where the smaller λ left it, which costs a fraction of a fit from
scratch. The slides' lesson "λ must be chosen carefully" is why the path
exists: its far end is meant to reach the λ that collapses the network.
"""

import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import _safe_indexing

from ._benchmark_path import path_lambdas
from .metrics import adversarial_neg_mse_scorer, worst_case_accuracy_scorer

__all__ = ["RULES", "choose_lambda_index", "data_lambdas", "default_eps",
           "default_robust_scorer", "scorer_name", "train_path"]

#: The rules of :func:`choose_lambda_index`.
RULES = ("one_standard_error", "tolerance", "best_robust", "best_clean")

#: The default robust radius as a fraction of the median distance between
#: training points of different targets: 0.6 on the [0, 1] digits, 2.1 on
#: MNIST (the benchmark's radii there are 1 and 2).
EPS_FRACTION = 0.2

#: Random pairs drawn to measure that distance.
N_PAIRS = 1024

#: Budget of the default worst-case scorer of a classifier: a fifth of the
#: iterations and a tenth of the Square queries of the reported figure,
#: which costs about a sixth of it on the digits (0.65 s against 3.7 s for
#: 600 points), paid at every point of every fold.
WORST_CASE_BUDGET = {"n_iter": 20, "n_queries": 500}


def choose_lambda_index(scores, robust_scores, rule="one_standard_error",
                        tolerance=0.01):
    """The index of the λ a rule picks from a path's cross-validated scores.

    Every rule takes the means over the folds (rows) of both tables and
    picks, among the admissible λ, the one of the highest mean robust
    score; ties go to the higher mean clean score, then to the larger λ
    (the later column, the more regularised network). The admissible λ:

    - ``"one_standard_error"``: mean clean score at least the best mean
      clean score minus the standard error of that best λ's clean score
      (its standard deviation over the folds, ``ddof=1``, over
      ``sqrt(n_folds)``; 0 with one fold);
    - ``"tolerance"``: mean clean score at least the best minus
      ``tolerance`` (in the clean score's units: 0.01 is one point of
      accuracy);
    - ``"best_robust"``: every λ (robustness alone);
    - ``"best_clean"``: only the λ of the best mean clean score.

    A NaN score (a failed fit) never makes its λ admissible, unless every
    λ has one.

    Parameters
    ----------
    scores, robust_scores : array-like of shape (n_folds, n_lambdas)
        Clean and robust scores, greater is better, columns in increasing
        λ.
    rule : {"one_standard_error", "tolerance", "best_robust", \
"best_clean"}, default="one_standard_error"
    tolerance : float, default=0.01
        Used by ``rule="tolerance"`` only.

    Returns
    -------
    index : int
        The chosen column.
    threshold : float
        The lowest mean clean score the rule admitted (``-inf`` for
        ``"best_robust"``).

    Examples
    --------
    >>> from sklip.model_selection import choose_lambda_index
    >>> clean = [[0.97, 0.96, 0.90], [0.97, 0.96, 0.90]]
    >>> robust = [[0.2, 0.4, 0.6], [0.2, 0.4, 0.6]]
    >>> choose_lambda_index(clean, robust, "tolerance", tolerance=0.02)
    (1, 0.95)
    """
    scores = np.asarray(scores, dtype=float)
    robust_scores = np.asarray(robust_scores, dtype=float)
    if scores.ndim != 2 or scores.shape != robust_scores.shape \
            or scores.size == 0:
        raise ValueError(
            "scores and robust_scores must be non-empty tables of one shape "
            f"(n_folds, n_lambdas), got {scores.shape} and "
            f"{robust_scores.shape}.")
    clean, robust = scores.mean(axis=0), robust_scores.mean(axis=0)
    valid = np.isfinite(clean) & np.isfinite(robust)
    if not valid.any():
        return len(clean) - 1, float("nan")
    best = int(np.flatnonzero(valid)[np.argmax(clean[valid])])
    if rule == "one_standard_error":
        n_folds = scores.shape[0]
        spread = scores[:, best].std(ddof=1) if n_folds > 1 else 0.0
        threshold = clean[best] - spread / np.sqrt(n_folds)
    elif rule == "tolerance":
        threshold = clean[best] - float(tolerance)
    elif rule == "best_robust":
        threshold = -np.inf
    elif rule == "best_clean":
        threshold = clean[best]
    else:
        raise ValueError(f"rule must be one of {list(RULES)}, got {rule!r}.")
    # A little slack: a mean equal to the threshold in exact arithmetic
    # must not be lost to rounding.
    admissible = np.flatnonzero(valid & (clean >= threshold - 1e-12))
    # lexsort sorts by its last key first: robust, then clean, then λ.
    order = np.lexsort((admissible, clean[admissible], robust[admissible]))
    return int(admissible[order[-1]]), float(threshold)


def data_lambdas(probe, n_lambdas):
    """The log grid of ``n_lambdas`` λ around the template's λ on the data.

    The grid is :func:`sklip._benchmark_path.path_lambdas` of the λ the
    template trains with: an explicit ``reg_lambda``, or ``"auto"``
    resolved on the data exactly as ``fit`` resolves it. A regulariser
    whose λ is 0 (``"none"``, whose λ does nothing) is centred on 1.

    Parameters
    ----------
    probe : LipschitzClassifier or LipschitzRegressor
        A clone of the template whose ``_validate_fit_data`` has seen the
        data (which measures what ``"auto"`` needs).
    n_lambdas : int

    Returns
    -------
    ndarray of shape (n_lambdas,)
    """
    probe.initialize_regularizer()
    centre = probe._resolved_reg_lambda()
    return path_lambdas(centre if centre > 0 else 1.0, n_lambdas)


def default_eps(X, y, classification, n_pairs=N_PAIRS):
    """The default robust radius: :data:`EPS_FRACTION` of the median L2
    distance between random pairs of rows with different targets.

    The pairs come from a generator of fixed seed (never the global one).

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
    classification : bool
    n_pairs : int, default=1024

    Returns
    -------
    float
        > 0 (1 when no pair of distinct rows has different targets).
    """
    rng = np.random.default_rng(0)
    n = len(X)
    i, j = rng.integers(n, size=n_pairs), rng.integers(n, size=n_pairs)
    X = np.asarray(X, dtype=np.float64).reshape(n, -1)
    y = np.asarray(y)
    dx = np.linalg.norm(X[i] - X[j], axis=1)
    if classification:
        different = y[i] != y[j]
    else:
        y = y.reshape(n, -1).astype(np.float64)
        different = np.any(y[i] != y[j], axis=1)
    keep = different & (dx > 0)
    if not keep.any():
        return 1.0
    return float(EPS_FRACTION * np.median(dx[keep]))


def default_robust_scorer(classification, eps):
    """The default robust scorer at radius ``eps`` and its name.

    A classifier's is the worst case of APGD-CE, APGD-DLR, APGD-T, margin
    PGD and Square (:func:`~sklip.metrics.worst_case_accuracy_scorer`, L2,
    at the reduced budget :data:`WORST_CASE_BUDGET`); a regressor's is
    minus the mean squared error under L2 PGD of 20 steps
    (:func:`~sklip.metrics.adversarial_neg_mse_scorer`).

    Parameters
    ----------
    classification : bool
    eps : float

    Returns
    -------
    scorer : RobustnessScorer
    name : str
    """
    if classification:
        return (worst_case_accuracy_scorer(eps, **WORST_CASE_BUDGET),
                f"worst-case accuracy at L2 ε = {eps:.3g}")
    return (adversarial_neg_mse_scorer("pgd", eps=eps, n_iter=20),
            f"neg. MSE under PGD at L2 ε = {eps:.3g}")


def scorer_name(scoring, default):
    """A readable name of a ``scoring`` parameter (a string is its own)."""
    if isinstance(scoring, str):
        return scoring
    if scoring is None:
        return default
    attack = getattr(scoring, "attack", None)
    if attack is not None and getattr(attack, "radius_param", None):
        radius = attack.get_params()[attack.radius_param]
        return f"{attack.name} {attack.radius_param}={radius:g}"
    return getattr(scoring, "__name__", type(scoring).__name__)


def _fit_point(est, X, y, reg_lambda, epochs):
    """One warm-started fit of the path; its seconds."""
    est.set_params(reg_lambda=float(reg_lambda), max_epochs=int(epochs))
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


def train_path(template, X, y, lambdas, path_epochs, train=None, test=None,
               scorers=(), quiet=True):
    """Train one network along ``lambdas`` and score every point.

    The first point trains for the template's ``max_epochs`` from scratch,
    every further one for ``path_epochs`` epochs, continuing the previous
    network (``warm_start=True``: the weights, the optimiser's state and
    the history carry over; the λ schedule is rebuilt from each point's
    ``reg_lambda``).

    Parameters
    ----------
    template : LipschitzClassifier or LipschitzRegressor
        Cloned, never modified.
    X, y : indexable
        All the data; ``train`` and ``test`` select the fold.
    lambdas : sequence of float
        Increasing λ.
    path_epochs : int
    train, test : ndarray of int or None
        Row indices of the fold (``None`` for ``train``: every row; for
        ``test``: no scoring).
    scorers : sequence of callable
        ``scorer(estimator, X_test, y_test)``, each applied at every point.
    quiet : bool, default=True
        Silence the collapse warnings (:class:`ConvergenceWarning`) of
        the path's points: its largest λ are meant to reach the collapse,
        which the scores show.

    Returns
    -------
    dict
        ``"scores"`` (n_scorers, n_lambdas), ``"fit_times"`` and
        ``"score_times"`` (n_lambdas,) in seconds, ``"epochs"``
        (n_lambdas,) trained per point, and ``"estimator"``, the network
        after the last point, with the template's ``warm_start`` and
        ``max_epochs`` restored and ``reg_lambda`` the last λ.
    """
    X_train = X if train is None else _safe_indexing(X, train)
    y_train = y if train is None else _safe_indexing(y, train)
    if test is not None:
        X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    est = clone(template).set_params(warm_start=True)
    epochs = [template.max_epochs] + [path_epochs] * (len(lambdas) - 1)
    scores = np.full((len(scorers), len(lambdas)), np.nan)
    fit_times, score_times = np.zeros(len(lambdas)), np.zeros(len(lambdas))
    for k, (reg_lambda, n_epochs) in enumerate(zip(lambdas, epochs)):
        with warnings.catch_warnings():
            if quiet:
                warnings.simplefilter("ignore", ConvergenceWarning)
            fit_times[k] = _fit_point(est, X_train, y_train, reg_lambda,
                                      n_epochs)
        if test is None:
            continue
        start = time.perf_counter()
        for s, scorer in enumerate(scorers):
            scores[s, k] = scorer(est, X_test, y_test)
        score_times[k] = time.perf_counter() - start
    est.set_params(warm_start=template.warm_start,
                   max_epochs=template.max_epochs)
    return {"scores": scores, "fit_times": fit_times,
            "score_times": score_times, "epochs": np.asarray(epochs),
            "estimator": est}

