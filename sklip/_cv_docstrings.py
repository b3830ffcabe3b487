"""Docstring sections of :class:`~sklip.model_selection.LipschitzClassifierCV`
and :class:`~sklip.model_selection.LipschitzRegressorCV`.

The two estimators take the same parameters; the text is written once here
and filled in with the template estimator, the splitter and the default
scores of each.
"""

__all__ = ["CLASSIFIER_PARAMETERS", "CLASSIFIER_ATTRIBUTES",
           "REGRESSOR_PARAMETERS", "REGRESSOR_ATTRIBUTES"]

_PARAMETERS = """\
    Parameters
    ----------
    estimator : {template} or None, default=None
        The network to train along the path (cloned, never modified): its
        ``regularizer``, network, optimiser and ``max_epochs`` (the first
        point's epochs) are used; its ``reg_lambda`` only to centre an
        int ``lambdas``. ``None``: ``{template}()``. Its ``random_state``
        makes the whole search reproducible (the same seed in every fold
        and in the refit; torch's global generator is never used).
    lambdas : int or array-like of float, default=6
        An int >= 2: that many λ on a log grid from 1/100 to 10 times the
        λ the template trains with on the data (``reg_lambda="auto"``
        resolved as ``fit`` resolves it, or the given number; 1 for
        ``regularizer="none"``), shifted so that that λ is on the grid.
        A sequence: the λ themselves, strictly increasing, >= 0.
    cv : int, cross-validation splitter or iterable, default=3
        As in :class:`~sklearn.model_selection.GridSearchCV` (an int is a
        {splitter} of that many folds).
    scoring : str, callable or None, default=None
        The clean score, greater is better; ``None`` is ``"{clean}"``.
    robust_scoring : str, callable or None, default=None
        The robust score, any scorer (e.g. of :mod:`sklip.metrics`).
        ``None``: {robust}, at the L2 radius ε = 0.2 times the median
        distance between random pairs of training points with different
        targets (0.6 on the digits in [0, 1], 2.1 on MNIST), recorded in
        ``robust_eps_``.
    rule : str or callable, default="one_standard_error"
        How λ is chosen from the folds' mean scores: the most robust λ
        whose mean clean score is at least the best mean clean score
        minus its standard error (``"one_standard_error"``) or minus
        ``tolerance`` (``"tolerance"``); the most robust λ
        (``"best_robust"``); the λ of the best clean score
        (``"best_clean"``). Ties go to the better clean score, then to the
        larger λ; see :func:`choose_lambda_index`. A callable
        ``rule(scores_, robust_scores_, lambdas_)`` returns the index.
    tolerance : float, default=0.01
        The clean score a ``rule="tolerance"`` may give up, in its units.
    path_epochs : int or None, default=None
        Epochs of each point after the first, each warm-started from the
        previous point's network; ``None``: ``max(1, max_epochs // 3)``.
        A path of 6 λ then trains ``max_epochs * (1 + 5/3)`` epochs per
        fold, 44 % of a grid search's ``6 * max_epochs``.
    refit : bool, default=True
        Train ``best_estimator_`` on all the data, along the path up to
        the chosen λ (as the scored networks were trained; not from
        scratch), so that :meth:`predict` works.
    n_jobs : int or None, default=None
        Folds trained in parallel (joblib); ``None``: one at a time.
"""

_ATTRIBUTES = """\
    Attributes
    ----------
    reg_lambda_ : float
        The chosen λ, ``lambdas_[best_index_]``.
    best_index_ : int
        Its index in ``lambdas_``.
    lambdas_ : ndarray of shape (n_lambdas,)
        The path's λ, increasing.
    scores_, robust_scores_ : ndarray of shape (n_folds, n_lambdas)
        Clean and robust score of every point on every held-out fold.
    fit_times_, score_times_ : ndarray of shape (n_folds, n_lambdas)
        Seconds of each point's training and scoring.
    path_epochs_ : int
        Epochs of every point after the first.
    rule_ : str
        The rule that chose λ (a callable's name).
    clean_threshold_ : float or None
        The lowest mean clean score the rule admitted (``None`` for a
        callable rule).
    scoring_name_, robust_scoring_name_ : str
        Names of the two scores (the latter labels the frontier plot).
    robust_eps_ : float or None
        The default robust scorer's radius (``None`` when
        ``robust_scoring`` was given).
    scorer_, robust_scorer_ : callable
        The scorers used.
    n_splits_ : int
        Number of folds.
    best_estimator_ : {template}
        The network refitted at ``reg_lambda_`` (when ``refit=True``).
    refit_time_ : float
        Seconds of its training.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had column names.
"""


CLASSIFIER_PARAMETERS = _PARAMETERS.format(
    template="LipschitzClassifier",
    splitter=":class:`~sklearn.model_selection.StratifiedKFold`",
    clean="accuracy",
    robust=("the worst case of APGD-CE, APGD-DLR, APGD-T, margin PGD and\n"
            "        Square (20 iterations, 500 queries, a sixth of the cost "
            "of the\n        full budget)"))
REGRESSOR_PARAMETERS = _PARAMETERS.format(
    template="LipschitzRegressor",
    splitter=":class:`~sklearn.model_selection.KFold`", clean="r2",
    robust="minus the mean squared error under L2 PGD of 20 steps")
CLASSIFIER_ATTRIBUTES = _ATTRIBUTES.format(template="LipschitzClassifier")
REGRESSOR_ATTRIBUTES = _ATTRIBUTES.format(template="LipschitzRegressor")
