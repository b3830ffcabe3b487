"""Scorers with scikit-learn's ``(estimator, X, y)`` signature.

They plug into ``scoring=`` of :class:`~sklearn.model_selection.GridSearchCV`
and :func:`~sklearn.model_selection.cross_validate`, so that a network can
be chosen by cross-validated robustness: accuracy under FGSM (Goodfellow et
al., ICLR 2015), PGD (Madry et al., ICLR 2018) or Gaussian noise for a
classifier, the negative mean squared error under attack for a regressor,
and the negative empirical Lipschitz constant. Every score is "greater is
better", as scikit-learn expects.

A scorer is a small module-level class holding an attack (itself a plain
estimator-like object), so it pickles and travels to ``n_jobs > 1``
workers. This module holds the two scorer classes and the generic
factories; the named accuracy scorers of classifiers, which spell out
their attack's parameters, are in ``_accuracy_scorers``.
"""

from sklearn import get_config
from sklearn.base import is_classifier, is_regressor
from sklearn.utils.metadata_routing import MetadataRequest
from torch import nn

from .._validation import check_choice, check_int
from ..attacks import get_attack
from ..attacks._checks import check_attack_random_state
from ..pretrained import PretrainedClassifier, PretrainedRegressor
from ._robustness import adversarial_accuracy, adversarial_mse

__all__ = ["RobustnessScorer", "LipschitzScorer", "make_robustness_scorer",
           "adversarial_neg_mse_scorer", "lipschitz_scorer"]

_METRICS = ("auto", "accuracy", "neg_mse")


class _ScoreRequest:
    """scikit-learn's metadata routing for a scorer: ``sample_weight`` is
    passed to ``__call__`` when requested with :meth:`set_score_request`,
    as for the scorers of :func:`sklearn.metrics.make_scorer`."""

    def set_score_request(self, *, sample_weight=None):
        """Request ``sample_weight`` for scoring (metadata routing).

        Parameters
        ----------
        sample_weight : bool, str or None, default=None
            ``True`` to pass ``sample_weight`` to the scorer, ``False`` not
            to, ``None`` to raise if it is given, or an alias.

        Returns
        -------
        self
        """
        if not get_config()["enable_metadata_routing"]:
            raise RuntimeError(
                "set_score_request is only available when metadata routing "
                "is enabled: sklearn.set_config(enable_metadata_routing=True).")
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param="sample_weight", alias=sample_weight)
        self._metadata_request = request
        return self

    def get_metadata_routing(self):
        """The metadata this scorer requests (see :meth:`set_score_request`).

        Returns
        -------
        sklearn.utils.metadata_routing.MetadataRequest
        """
        request = getattr(self, "_metadata_request", None)
        if request is None:
            request = MetadataRequest(owner=type(self).__name__)
            request.score.add_request(param="sample_weight", alias=None)
        return request


class RobustnessScorer(_ScoreRequest):
    """Score of a fitted estimator on attacked inputs (greater is better).

    Build one with :func:`make_robustness_scorer` or the named factories.

    Parameters
    ----------
    attack : Attack
        The attack applied to ``X`` before predicting.
    metric : {"auto", "accuracy", "neg_mse"}, default="auto"
        ``"accuracy"`` (classifiers), ``"neg_mse"`` (regressors: minus the
        mean squared error), or ``"auto"`` to pick by estimator type.
    batch_size : int, default=1024
        Samples attacked at once.
    """

    def __init__(self, attack, metric="auto", batch_size=1024):
        self.attack = attack
        self.metric = metric
        self.batch_size = batch_size

    def __call__(self, estimator, X, y, sample_weight=None):
        """Score ``estimator`` on attacked ``X``.

        Parameters
        ----------
        estimator : fitted estimator, Pipeline or torch.nn.Module
            Any model :func:`sklip.attacks.Attack.generate` takes. A bare
            module is read as a classifier of class indices with
            ``metric="accuracy"`` and as a regressor with ``"neg_mse"``;
            with ``"auto"`` it must be wrapped in
            :class:`~sklip.PretrainedClassifier` or
            :class:`~sklip.PretrainedRegressor`.
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,) or None
            Weights of the score.

        Returns
        -------
        float
        """
        metric = self.metric
        if isinstance(estimator, nn.Module):
            estimator = _wrapped_module(estimator, metric, X, y)
        if metric == "auto":
            metric = "accuracy" if is_classifier(estimator) else "neg_mse"
        if metric == "accuracy" and not is_classifier(estimator):
            raise TypeError(
                f"{self!r} scores classifiers, but got "
                f"{type(estimator).__name__}; for a regressor use "
                "adversarial_neg_mse_scorer(attack).")
        if metric == "neg_mse" and not is_regressor(estimator):
            raise TypeError(
                f"{self!r} scores regressors, but got "
                f"{type(estimator).__name__}; for a classifier use an "
                "accuracy scorer such as pgd_accuracy_scorer(eps).")
        kwargs = {"sample_weight": sample_weight,
                  "batch_size": self.batch_size}
        if metric == "accuracy":
            return adversarial_accuracy(estimator, X, y, self.attack,
                                        **kwargs)
        return -adversarial_mse(estimator, X, y, self.attack, **kwargs)

    def __repr__(self):
        return (f"make_robustness_scorer({self.attack!r}, "
                f"metric={self.metric!r})")


class LipschitzScorer(_ScoreRequest):
    """Minus an empirical lower bound of ``Lip(f)`` (greater is better).

    Build one with :func:`lipschitz_scorer`. The bound comes from
    :func:`sklip.lipschitz.lipschitz_lower_bound` on the scored ``X``;
    ``y`` is ignored.

    Parameters
    ----------
    method : str, default="pairs"
        Passed to ``lipschitz_lower_bound``.
    n_pairs, n_iter : int or None, default=None
        Passed on when not ``None``; ``None`` keeps that function's defaults.
    random_state : int, RandomState or None, default=0
        Seeds the search, so that every fold is scored the same way.
    """

    def __init__(self, method="pairs", n_pairs=None, n_iter=None,
                 random_state=0):
        self.method = method
        self.n_pairs = n_pairs
        self.n_iter = n_iter
        self.random_state = random_state

    def __call__(self, estimator, X, y=None, sample_weight=None):
        """Minus the lower bound of the estimator's Lipschitz constant on X.

        Parameters
        ----------
        estimator : fitted estimator, Pipeline or torch.nn.Module
            A model with a torch network (see :ref:`any-model`).
        X : array-like of shape (n_samples, ...)
        y : ignored
        sample_weight : ignored

        Returns
        -------
        float
        """
        # Imported here: sklip.lipschitz depends on more of the package than
        # the scorers do, and only this scorer needs it.
        from ..lipschitz import lipschitz_lower_bound

        kwargs = {"method": self.method, "random_state": self.random_state}
        if self.n_pairs is not None:
            kwargs["n_pairs"] = self.n_pairs
        if self.n_iter is not None:
            kwargs["n_iter"] = self.n_iter
        return -float(lipschitz_lower_bound(estimator, X, **kwargs))

    def __repr__(self):
        return (f"lipschitz_scorer(method={self.method!r}, "
                f"n_pairs={self.n_pairs!r}, n_iter={self.n_iter!r}, "
                f"random_state={self.random_state!r})")


def _wrapped_module(module, metric, X, y):
    """A bare module as the fitted estimator its ``metric`` implies."""
    if metric == "auto":
        raise TypeError(
            "a bare torch.nn.Module does not say whether it classifies or "
            "regresses: wrap it, PretrainedClassifier(module).fit(X, y) or "
            "PretrainedRegressor(module).fit(X, y) (sklip), or build the "
            "scorer with metric='accuracy' or metric='neg_mse'.")
    wrapper = PretrainedClassifier(module) if metric == "accuracy" \
        else PretrainedRegressor(module)
    return wrapper.fit(X, y)


def make_robustness_scorer(attack, *, metric="auto", batch_size=1024,
                           **attack_params):
    """A scorer of the estimator's performance under an attack.

    Parameters
    ----------
    attack : str, Attack subclass or Attack instance
        A name of :func:`sklip.attacks.attack_names` (``"fgsm"``,
        ``"pgd"``, ``"apgd"``, ``"square"``, ``"worst_case"``, ``"noise"``)
        or an attack object (cloned).
    metric : {"auto", "accuracy", "neg_mse"}, default="auto"
        Accuracy for classifiers, minus the mean squared error for
        regressors; ``"auto"`` picks by estimator type.
    batch_size : int, default=1024
        Samples attacked at once.
    **attack_params
        Parameters of the attack, e.g. ``eps=2.0``. A randomised attack
        whose ``random_state`` is left unset is seeded with 0, as the
        named factories do, so that scores are reproducible.

    Returns
    -------
    RobustnessScorer
        Callable as ``scorer(estimator, X, y)``.

    Examples
    --------
    >>> from sklip.metrics import make_robustness_scorer
    >>> make_robustness_scorer("pgd", eps=2.0, n_iter=50)
    make_robustness_scorer(PGDAttack(eps=2.0, n_iter=50), metric='auto')
    """
    check_choice(metric, "metric", _METRICS)
    check_int(batch_size, "batch_size", min_val=1)
    attack = get_attack(attack, **attack_params)
    if "random_state" not in attack_params and \
            attack.get_params().get("random_state", 0) is None:
        # Seeded like the named factories, so that every fold and every
        # call is attacked the same way.
        attack.set_params(random_state=0)
    return RobustnessScorer(attack.validate(), metric=metric,
                            batch_size=batch_size)


def adversarial_neg_mse_scorer(attack, *, batch_size=1024, **attack_params):
    """Minus the mean squared error of a regressor under an attack.

    Parameters
    ----------
    attack : str, Attack subclass or Attack instance
        A name of :func:`sklip.attacks.attack_names` or an attack object;
        ``"worst_case"`` keeps per sample the highest error of APGD and PGD
        on the squared error and the Square Attack.
    batch_size : int, default=1024
        Samples attacked at once.
    **attack_params
        Parameters of the attack, e.g. ``eps=0.1``; an unset
        ``random_state`` is seeded with 0.

    Returns
    -------
    RobustnessScorer

    Examples
    --------
    >>> from sklip.metrics import adversarial_neg_mse_scorer
    >>> scorer = adversarial_neg_mse_scorer("pgd", eps=0.1, norm="inf")
    """
    return make_robustness_scorer(attack, metric="neg_mse",
                                  batch_size=batch_size, **attack_params)


def lipschitz_scorer(method="pairs", n_pairs=None, n_iter=None,
                     random_state=0):
    """Minus an empirical lower bound of the Lipschitz constant.

    A smaller Lipschitz constant scores higher, so the scorer can be used
    with ``refit=`` like any other (greater is better).

    Parameters
    ----------
    method : str, default="pairs"
        Estimation method of :func:`sklip.lipschitz.lipschitz_lower_bound`.
    n_pairs, n_iter : int or None, default=None
        Passed on when not ``None``.
    random_state : int, RandomState or None, default=0
        Seeds the search.

    Returns
    -------
    LipschitzScorer

    Examples
    --------
    >>> from sklip.metrics import lipschitz_scorer
    >>> scoring = {"accuracy": "accuracy", "lipschitz": lipschitz_scorer()}
    """
    # Checked now: inside a search a bad value would only turn every score
    # into NaN with a warning.
    from ..lipschitz import LOWER_BOUND_METHODS

    check_choice(method, "method", LOWER_BOUND_METHODS)
    check_int(n_pairs, "n_pairs", min_val=1, allow_none=True)
    check_int(n_iter, "n_iter", min_val=0, allow_none=True)
    check_attack_random_state(random_state)
    return LipschitzScorer(method=method, n_pairs=n_pairs, n_iter=n_iter,
                           random_state=random_state)
