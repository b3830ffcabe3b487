"""Named scorers of a classifier's accuracy under an attack.

Factories of :class:`~sklip.metrics.RobustnessScorer` with the attack's
parameters spelled out and seeded by default: accuracy under FGSM
(Goodfellow et al., ICLR 2015), PGD (Madry et al., ICLR 2018), the worst
case of strong attacks (Croce & Hein, ICML 2020) and Gaussian noise. The
regressors' counterpart, :func:`~sklip.metrics.adversarial_neg_mse_scorer`,
and the generic :func:`~sklip.metrics.make_robustness_scorer` they all
call are in ``_scorers``.
"""

from ._scorers import make_robustness_scorer

__all__ = ["fgsm_accuracy_scorer", "pgd_accuracy_scorer",
           "worst_case_accuracy_scorer", "noise_accuracy_scorer"]


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

