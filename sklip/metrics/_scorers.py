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
workers.
"""

from sklearn.base import is_classifier, is_regressor

from .._validation import check_choice, check_int
from ..attacks import get_attack
from ._robustness import adversarial_accuracy, adversarial_mse

__all__ = ["RobustnessScorer", "LipschitzScorer", "make_robustness_scorer",
           "fgsm_accuracy_scorer", "pgd_accuracy_scorer",
           "noise_accuracy_scorer", "adversarial_neg_mse_scorer",
           "worst_case_accuracy_scorer", "lipschitz_scorer"]

_METRICS = ("auto", "accuracy", "neg_mse")


class RobustnessScorer:
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
        estimator : fitted sklip estimator
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,) or None

        Returns
        -------
        float
        """
        metric = self.metric
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


class LipschitzScorer:
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
        estimator : fitted sklip estimator
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


def fgsm_accuracy_scorer(eps, norm="inf", clamp=None, loss=None, *,
                         batch_size=1024):
    """Accuracy of a classifier under FGSM of radius ``eps``.

    Parameters
    ----------
    eps : float
        Radius (≥ 0).
    norm : {"inf", 2}, default="inf"
        Norm of the radius.
    clamp : (float, float) or None, default=None
        Data range of the attacked inputs, e.g. ``(0, 1)``.
    loss : {None, "ce", "margin", "dlr"}, default=None
        The loss whose gradient is followed; ``None`` is the cross-entropy.
    batch_size : int, default=1024
        Samples attacked at once.

    Returns
    -------
    RobustnessScorer

    Examples
    --------
    >>> from sklip.metrics import fgsm_accuracy_scorer
    >>> scoring = {"clean": "accuracy", "fgsm": fgsm_accuracy_scorer(0.1)}
    """
    return make_robustness_scorer("fgsm", metric="accuracy",
                                  batch_size=batch_size, eps=eps, norm=norm,
                                  clamp=clamp, loss=loss)


def pgd_accuracy_scorer(eps, norm=2, n_iter=20, step_size=None,
                        random_start=True, n_restarts=1, early_stop=True,
                        clamp=None, random_state=0, loss=None, *,
                        batch_size=1024):
    """Accuracy of a classifier under PGD of radius ``eps``.

    With the default cross-entropy loss PGD overstates the robustness of
    Lipschitz-regularised networks (their small logits flatten the
    cross-entropy); ``loss="margin"`` with restarts is stronger, and
    :func:`worst_case_accuracy_scorer` is the strongest.

    Parameters
    ----------
    eps : float
        Radius (≥ 0).
    norm : {2, "inf"}, default=2
        Norm of the radius.
    n_iter : int, default=20
        Gradient steps.
    step_size : float or None, default=None
        Step length; ``None`` takes ``2.5 * eps / n_iter``.
    random_start : bool, default=True
        Start from a random point of the ball.
    n_restarts : int, default=1
        Runs from new random starts.
    early_stop : bool, default=True
        Stop moving a sample once it is misclassified.
    clamp : (float, float) or None, default=None
        Data range of the attacked inputs.
    random_state : int, RandomState or None, default=0
        Seeds the random starts; the default makes scores reproducible
        across folds and runs.
    loss : {None, "ce", "margin", "dlr"}, default=None
        The loss PGD maximises; ``None`` is the cross-entropy.
    batch_size : int, default=1024
        Samples attacked at once.

    Returns
    -------
    RobustnessScorer

    See Also
    --------
    sklip.attacks.PGDAttack
    worst_case_accuracy_scorer

    Examples
    --------
    >>> from sklip.metrics import pgd_accuracy_scorer
    >>> scorer = pgd_accuracy_scorer(eps=2.0, n_iter=100)
    """
    return make_robustness_scorer(
        "pgd", metric="accuracy", batch_size=batch_size, eps=eps, norm=norm,
        n_iter=n_iter, step_size=step_size, random_start=random_start,
        n_restarts=n_restarts, early_stop=early_stop, clamp=clamp,
        random_state=random_state, loss=loss)


def worst_case_accuracy_scorer(eps, norm=2, clamp=None, random_state=0, *,
                               n_iter=100, n_queries=5000, attacks=None,
                               batch_size=1024):
    """Accuracy of a classifier under the worst case of strong attacks.

    The strongest evaluation sklip has, and the one its reported robustness
    figures come from: per sample, the first success of APGD-CE, APGD-DLR,
    APGD-T, margin PGD with restarts and the black-box Square Attack
    (:class:`sklip.attacks.WorstCaseAttack`, the AutoAttack protocol of
    Croce & Hein, ICML 2020). It is at least as strong as each of them, and
    far stronger than cross-entropy PGD on Lipschitz-regularised networks.

    Parameters
    ----------
    eps : float
        Radius (≥ 0).
    norm : {2, "inf"}, default=2
        Norm of the radius.
    clamp : (float, float) or None, default=None
        Data range of the attacked inputs, e.g. ``(0, 1)``.
    random_state : int, RandomState or None, default=0
        Seeds every member; the default makes scores reproducible.
    n_iter : int, default=100
        Iterations of each gradient attack (per restart and target class).
    n_queries : int, default=5000
        Queries of the Square Attack.
    attacks : list of Attack or None, default=None
        Other members instead of the default ones.
    batch_size : int, default=1024
        Samples attacked at once.

    Returns
    -------
    RobustnessScorer

    See Also
    --------
    sklip.metrics.attack_breakdown : the accuracy after each member.

    Examples
    --------
    >>> from sklip.metrics import worst_case_accuracy_scorer
    >>> scoring = {"clean": "accuracy",
    ...            "robust": worst_case_accuracy_scorer(2.0, clamp=(0, 1))}
    """
    return make_robustness_scorer(
        "worst_case", metric="accuracy", batch_size=batch_size, eps=eps,
        norm=norm, attacks=attacks, n_iter=n_iter, n_queries=n_queries,
        clamp=clamp, random_state=random_state)


def noise_accuracy_scorer(sigma, clamp=None, random_state=0, *,
                          batch_size=1024):
    """Accuracy of a classifier under Gaussian noise of deviation ``sigma``.

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise (≥ 0).
    clamp : (float, float) or None, default=None
        Data range of the noisy inputs.
    random_state : int, RandomState or None, default=0
        Seeds the noise; the default makes scores reproducible.
    batch_size : int, default=1024
        Samples perturbed at once.

    Returns
    -------
    RobustnessScorer

    Examples
    --------
    >>> from sklip.metrics import noise_accuracy_scorer
    >>> scorer = noise_accuracy_scorer(sigma=1.0)
    """
    return make_robustness_scorer("noise", metric="accuracy",
                                  batch_size=batch_size, sigma=sigma,
                                  clamp=clamp, random_state=random_state)


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
    return LipschitzScorer(method=method, n_pairs=n_pairs, n_iter=n_iter,
                           random_state=random_state)
