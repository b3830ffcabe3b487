"""Choosing λ by cross-validation along a warm-started path.

:class:`LipschitzClassifierCV` and :class:`LipschitzRegressorCV` do for
λ what scikit-learn's ``LogisticRegressionCV`` and ``LassoCV`` do for
their penalties: on every fold they train one network along a log grid of
λ from small to large, each point warm-started from the previous one's
network, score every point with a clean and a robust scorer, pick λ by a
documented rule (:func:`choose_lambda_index`) and refit on all the data.
The slides' lesson is that "λ must be chosen carefully": too small and the
penalty does nothing, too large and the network collapses to a constant.
The path's scores are what :meth:`sklip.plotting.FrontierDisplay.\
from_cv_estimator` draws. The default robust score is the worst case of
strong attacks (Croce & Hein, ICML 2020).
"""

import numbers

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import (BaseEstimator, ClassifierMixin, RegressorMixin,
                          clone, is_classifier)
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import indexable
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._cv_docstrings import (CLASSIFIER_ATTRIBUTES, CLASSIFIER_PARAMETERS,
                             REGRESSOR_ATTRIBUTES, REGRESSOR_PARAMETERS)
from ._lambda_path import (RULES, choose_lambda_index, data_lambdas,
                           default_eps, default_robust_scorer, scorer_name,
                           train_path)
from ._validation import check_choice, check_int, check_real
from .estimators import LipschitzClassifier, LipschitzRegressor

__all__ = ["LipschitzClassifierCV", "LipschitzRegressorCV",
           "choose_lambda_index"]


def _check_lambdas(lambdas):
    """``lambdas`` as an int (>= 2) or an increasing float array."""
    if isinstance(lambdas, numbers.Integral) and not isinstance(lambdas,
                                                                bool):
        return check_int(lambdas, "lambdas", min_val=2)
    message = ("lambdas must be an int >= 2 (that many λ on a log grid "
               "found from the data) or a non-empty, strictly increasing "
               f"sequence of finite λ >= 0, got {lambdas!r}.")
    if isinstance(lambdas, (str, bool)) or lambdas is None:
        raise TypeError(message)
    try:
        values = np.asarray(lambdas, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(message) from None
    if values.ndim != 1 or values.size == 0 or not np.all(
            np.isfinite(values)) or np.any(values < 0) or np.any(
            np.diff(values) <= 0):
        raise ValueError(message)
    return values


def _check_scorer(template, scoring, name):
    try:
        return check_scoring(template, scoring)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name}={scoring!r} is not a valid scorer: "
                        f"{exc}") from exc


def _fold_path(template, X, y, lambdas, path_epochs, train, test,
               scorers):
    """A fold's path without its network (only the scores travel back
    from a worker)."""
    result = train_path(template, X, y, lambdas, path_epochs, train, test,
                        scorers)
    del result["estimator"]
    return result


class _LipschitzCV(BaseEstimator):
    """What :class:`LipschitzClassifierCV` and :class:`LipschitzRegressorCV`
    share (abstract)."""

    #: The estimator class a template must be.
    _template_class = None
    #: The clean score when ``scoring=None``.
    _default_scoring = None

    def __init__(self, estimator=None, *, lambdas=6, cv=3, scoring=None,
                 robust_scoring=None, rule="one_standard_error",
                 tolerance=0.01, path_epochs=None, refit=True, n_jobs=None):
        self.estimator = estimator
        self.lambdas = lambdas
        self.cv = cv
        self.scoring = scoring
        self.robust_scoring = robust_scoring
        self.rule = rule
        self.tolerance = tolerance
        self.path_epochs = path_epochs
        self.refit = refit
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------
    # Validation, before any training
    # ------------------------------------------------------------------
    def _template(self):
        cls = self._template_class
        estimator = cls() if self.estimator is None else self.estimator
        if not isinstance(estimator, cls):
            raise TypeError(
                f"estimator must be None (a {cls.__name__} with the package "
                f"defaults) or a {cls.__name__}, got {estimator!r}.")
        template = clone(estimator)
        # The template's own hyperparameters fail here, not in a worker.
        template._validate_hyperparameters()
        return template

    def _check_params(self):
        """The validated parameters, naming a bad one before training."""
        template = self._template()
        lambdas = _check_lambdas(self.lambdas)
        if isinstance(self.cv, numbers.Integral):
            check_int(self.cv, "cv", min_val=2)
        elif self.cv is None or isinstance(self.cv, str) or not (
                hasattr(self.cv, "split") or hasattr(self.cv, "__iter__")):
            raise TypeError(
                "cv must be an int >= 2, a cross-validation splitter or an "
                f"iterable of (train, test) index arrays, got {self.cv!r}.")
        scoring = self._default_scoring if self.scoring is None \
            else self.scoring
        scorer = _check_scorer(template, scoring, "scoring")
        robust_scorer = None if self.robust_scoring is None else \
            _check_scorer(template, self.robust_scoring, "robust_scoring")
        if not callable(self.rule):
            check_choice(self.rule, "rule", RULES)
        check_real(self.tolerance, "tolerance", min_val=0)
        path_epochs = check_int(self.path_epochs, "path_epochs", min_val=1,
                                allow_none=True)
        if path_epochs is None:
            path_epochs = max(1, template.max_epochs // 3)
        if not isinstance(self.refit, (bool, np.bool_)):
            raise TypeError(f"refit must be a bool, got {self.refit!r}.")
        n_jobs = check_int(self.n_jobs, "n_jobs", allow_none=True)
        if n_jobs == 0:
            raise ValueError("n_jobs must be None, a positive int or a "
                             "negative one (-1: every CPU), got 0.")
        return template, lambdas, scorer, robust_scorer, path_epochs

    def _check_data(self, template, X, y):
        """The template's own checks of ``(X, y)``; the checked copy."""
        if isinstance(X, torch.utils.data.Dataset):
            raise TypeError(
                f"{type(self).__name__} splits arrays into folds; a torch "
                "Dataset is not supported (fit the estimator on it "
                "directly, or pass arrays).")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the "
                "target y is None.")
        probe = clone(template)
        X_checked, _ = probe._validate_fit_data(X, y, reset=True)
        return probe, X_checked

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------
    def fit(self, X, y=None):
        """Train along the λ path on every fold, pick λ and refit.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training inputs (arrays or a DataFrame; not a torch Dataset).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.

        Returns
        -------
        self
        """
        template, lambdas, scorer, robust_scorer, path_epochs = \
            self._check_params()
        probe, X_checked = self._check_data(template, X, y)
        X, y = indexable(X, y)
        classification = is_classifier(self)
        self.lambdas_ = np.asarray(
            data_lambdas(probe, lambdas) if isinstance(lambdas, int)
            else lambdas, dtype=float)
        self.robust_eps_ = None
        if robust_scorer is None:
            self.robust_eps_ = default_eps(X_checked, np.asarray(y),
                                           classification)
            robust_scorer, self.robust_scoring_name_ = \
                default_robust_scorer(classification, self.robust_eps_)
        else:
            self.robust_scoring_name_ = scorer_name(self.robust_scoring,
                                                    "robust score")
        del X_checked  # a fitted estimator keeps no copy of the data
        self.scoring_name_ = scorer_name(self.scoring, self._default_scoring)
        self.scorer_, self.robust_scorer_ = scorer, robust_scorer
        self.path_epochs_ = path_epochs
        self._fit_folds(template, X, y)
        self._choose()
        self.n_features_in_ = probe.n_features_in_
        if hasattr(probe, "feature_names_in_"):
            self.feature_names_in_ = probe.feature_names_in_
        if classification:
            self.classes_ = probe.classes_
        if self.refit:
            self._refit(template, X, y)
        return self

    def _fit_folds(self, template, X, y):
        splitter = check_cv(self.cv, y, classifier=is_classifier(self))
        folds = list(splitter.split(X, y))
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fold_path)(template, X, y, self.lambdas_,
                                self.path_epochs_, train, test,
                                (self.scorer_, self.robust_scorer_))
            for train, test in folds)
        self.n_splits_ = len(folds)
        self.scores_ = np.stack([r["scores"][0] for r in results])
        self.robust_scores_ = np.stack([r["scores"][1] for r in results])
        self.fit_times_ = np.stack([r["fit_times"] for r in results])
        self.score_times_ = np.stack([r["score_times"] for r in results])

    def _choose(self):
        if callable(self.rule):
            index = self.rule(self.scores_, self.robust_scores_,
                              self.lambdas_)
            if not isinstance(index, numbers.Integral) or isinstance(
                    index, bool) or not 0 <= index < self.lambdas_.size:
                raise ValueError(
                    f"rule={self.rule!r} must return the index of one of "
                    f"the {self.lambdas_.size} lambdas_, got {index!r}.")
            self.best_index_, self.clean_threshold_ = int(index), None
            self.rule_ = getattr(self.rule, "__name__", repr(self.rule))
        else:
            self.best_index_, self.clean_threshold_ = choose_lambda_index(
                self.scores_, self.robust_scores_, self.rule, self.tolerance)
            self.rule_ = self.rule
        self.reg_lambda_ = float(self.lambdas_[self.best_index_])

    def _refit(self, template, X, y):
        # Along the path up to the chosen λ, as the scored networks were
        # trained: the refitted network is the one the folds measured.
        result = train_path(template, X, y,
                            self.lambdas_[:self.best_index_ + 1],
                            self.path_epochs_)
        self.best_estimator_ = result["estimator"]
        self.refit_time_ = float(result["fit_times"].sum())

    # ------------------------------------------------------------------
    # Delegation to the refitted network
    # ------------------------------------------------------------------
    def _refitted(self):
        return self.refit

    @available_if(_refitted)
    def predict(self, X):
        """Predictions of ``best_estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_refitted)
    def score(self, X, y):
        """The clean score (``scoring``) of ``best_estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        float
        """
        check_is_fitted(self, "best_estimator_")
        return float(self.scorer_(self.best_estimator_, X, y))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = (self.estimator if self.estimator is not None
                 else self._template_class()).__sklearn_tags__()
        tags.input_tags = inner.input_tags
        tags.target_tags.multi_output = inner.target_tags.multi_output
        tags.non_deterministic = inner.non_deterministic
        return tags


class LipschitzClassifierCV(ClassifierMixin, _LipschitzCV):
    __doc__ = f"""Lipschitz classifier whose λ is chosen by cross-validation.

    Along a warm-started λ path on each fold, scored by clean accuracy and
    worst-case accuracy under attack (see :mod:`sklip.model_selection`).

{CLASSIFIER_PARAMETERS}
{CLASSIFIER_ATTRIBUTES}    classes_ : ndarray of shape (n_classes,)

    See Also
    --------
    sklip.plotting.FrontierDisplay.from_cv_estimator : the path's plot.

    Examples
    --------
    >>> from sklip import LipschitzClassifier
    >>> from sklip.datasets import load_digits_scaled
    >>> from sklip.metrics import pgd_accuracy_scorer
    >>> from sklip.model_selection import LipschitzClassifierCV
    >>> X, y = load_digits_scaled()
    >>> cv = LipschitzClassifierCV(
    ...     LipschitzClassifier(regularizer="tv", hidden_layer_sizes=(32,),
    ...                         max_epochs=3, lr=0.01, random_state=0),
    ...     lambdas=3, cv=2, robust_scoring=pgd_accuracy_scorer(0.5, n_iter=5),
    ... ).fit(X[:300], y[:300])
    >>> cv.scores_.shape
    (2, 3)
    """

    _template_class = LipschitzClassifier
    _default_scoring = "accuracy"

    @available_if(_LipschitzCV._refitted)
    def predict_proba(self, X):
        """Class probabilities of ``best_estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)


class LipschitzRegressorCV(RegressorMixin, _LipschitzCV):
    __doc__ = f"""Lipschitz regressor whose λ is chosen by cross-validation.

    Along a warm-started λ path on each fold, scored by R² and minus the
    mean squared error under attack (see :mod:`sklip.model_selection`).

{REGRESSOR_PARAMETERS}
{REGRESSOR_ATTRIBUTES}
    See Also
    --------
    sklip.plotting.FrontierDisplay.from_cv_estimator : the path's plot.

    Examples
    --------
    >>> import numpy as np
    >>> from sklip import LipschitzRegressor
    >>> from sklip.model_selection import LipschitzRegressorCV
    >>> X = np.linspace(-1, 1, 60).reshape(-1, 1)
    >>> cv = LipschitzRegressorCV(
    ...     LipschitzRegressor(hidden_layer_sizes=(16,), max_epochs=3,
    ...                        random_state=0), lambdas=3, cv=2,
    ... ).fit(X, X[:, 0])
    >>> cv.lambdas_.shape
    (3,)
    """

    _template_class = LipschitzRegressor
    _default_scoring = "r2"
