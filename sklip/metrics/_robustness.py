"""Robustness of a fitted estimator under attack, as plain functions.

Accuracy under FGSM (Goodfellow et al., *Explaining and Harnessing
Adversarial Examples*, ICLR 2015), PGD (Madry et al., *Towards Deep Learning
Models Resistant to Adversarial Attacks*, ICLR 2018) and Gaussian noise is
what the CLIP paper (Bungert et al., SSVM 2021) and the slides' Figures
13–15 report; :func:`robustness_curve` gives the data of those figures.
The accuracy under attack is the accuracy on the attacked inputs, as in ART
and the CLIP reference.
"""

import numpy as np
import torch
from sklearn.base import is_classifier, is_regressor
from sklearn.metrics import accuracy_score, mean_squared_error

from ..attacks import ATTACKS, Attack, WorstCaseAttack, get_attack

__all__ = ["adversarial_accuracy", "adversarial_error", "adversarial_mse",
           "robustness_curve", "attack_breakdown"]


def _check_estimator(estimator, kind, what):
    """Raise a TypeError naming the right tool for the wrong estimator."""
    if kind == "classifier":
        ok, example = is_classifier(estimator), "LipschitzClassifier"
        other = "adversarial_mse / adversarial_neg_mse_scorer"
    else:
        ok, example = is_regressor(estimator), "LipschitzRegressor"
        other = "adversarial_accuracy / an accuracy scorer"
    if not ok:
        wrap = ""
        if isinstance(estimator, torch.nn.Module):
            wrap = (f"; wrap a bare torch module as "
                    f"sklip.Pretrained{kind.capitalize()}(module).fit(X, y)")
        raise TypeError(
            f"{what} needs a {kind} (e.g. a fitted {example}, a pipeline "
            f"ending in one, or any fitted scikit-learn {kind}), got "
            f"{type(estimator).__name__}{wrap or f'; use {other} instead'}.")


def adversarial_accuracy(estimator, X, y, attack, *, sample_weight=None,
                         batch_size=1024):
    """Accuracy of a classifier on attacked inputs.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        Any fitted classifier (see :ref:`any-model`); gradient attacks
        need a torch network.
        The classifier to attack.
    X : array-like of shape (n_samples, ...)
        Inputs.
    y : array-like of shape (n_samples,)
        True labels (the attack pushes away from them).
    attack : Attack
        E.g. ``PGDAttack(eps=2.0)``; a name needs its ``eps``, so pass an
        object.
    sample_weight : array-like of shape (n_samples,) or None
        Weights of the accuracy.
    batch_size : int, default=1024
        Samples attacked at once.

    Returns
    -------
    float

    Examples
    --------
    >>> from sklip import LipschitzClassifier
    >>> from sklip.attacks import FGSMAttack
    >>> from sklip.datasets import load_digits_scaled
    >>> from sklip.metrics import adversarial_accuracy
    >>> X, y = load_digits_scaled()
    >>> clf = LipschitzClassifier(regularizer="none", max_epochs=5,
    ...                           random_state=0).fit(X, y)
    >>> attack = FGSMAttack(eps=0.1, clamp=(0, 1))
    >>> acc = adversarial_accuracy(clf, X, y, attack)
    >>> 0 <= acc <= 1
    True
    """
    _check_estimator(estimator, "classifier", "adversarial_accuracy")
    return _score_attacked(accuracy_score, estimator, X, y, attack,
                           sample_weight, batch_size)


def adversarial_error(estimator, X, y, attack, *, sample_weight=None,
                      batch_size=1024):
    """Error rate (1 − accuracy) of a classifier on attacked inputs.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        Any fitted classifier (see :ref:`any-model`); gradient attacks
        need a torch network.
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,)
    attack : Attack
    sample_weight : array-like of shape (n_samples,) or None
    batch_size : int, default=1024

    Returns
    -------
    float

    See Also
    --------
    adversarial_accuracy
    """
    return 1.0 - adversarial_accuracy(estimator, X, y, attack,
                                      sample_weight=sample_weight,
                                      batch_size=batch_size)


def adversarial_mse(estimator, X, y, attack, *, sample_weight=None,
                    batch_size=1024):
    """Mean squared error of a regressor on attacked inputs.

    The gradient attacks maximise the squared error to the true targets.

    Parameters
    ----------
    estimator : fitted regressor or Pipeline
        Any fitted regressor (see :ref:`any-model`).
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        True targets.
    attack : Attack
    sample_weight : array-like of shape (n_samples,) or None
    batch_size : int, default=1024

    Returns
    -------
    float
    """
    _check_estimator(estimator, "regressor", "adversarial_mse")
    return _score_attacked(mean_squared_error, estimator, X, y, attack,
                           sample_weight, batch_size)


def _score_attacked(metric, estimator, X, y, attack, sample_weight,
                    batch_size):
    """``metric(y, prediction)`` on the inputs attacked by ``attack``."""
    X_adv = get_attack(attack).generate(estimator, X, y, batch_size=batch_size)
    return float(metric(y, estimator.predict(like_input(X_adv, X)),
                        sample_weight=sample_weight))


def like_input(X_adv, X):
    """``X_adv`` as a DataFrame with ``X``'s columns when ``X`` is one, so
    that a pipeline fitted on a DataFrame predicts it without warnings."""
    if hasattr(X, "columns") and hasattr(X, "iloc") and X_adv.ndim == 2:
        return type(X)(X_adv, columns=X.columns, index=X.index)
    return X_adv


def robustness_curve(estimator, X, y, attack="pgd",
                     eps_values=(0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0), *,
                     random_state=0, batch_size=1024, **attack_params):
    """Accuracy of a classifier against the radius of an attack.

    The clean predictions are computed once, and an ``eps`` of 0 reuses
    them.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        Any fitted classifier (see :ref:`any-model`); gradient attacks
        need a torch network.
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,)
    attack : str, Attack subclass or Attack instance, default="pgd"
        ``"fgsm"``, ``"pgd"``, ``"noise"`` or an object whose other
        parameters are kept; its radius (``eps`` or ``sigma``) is replaced by
        each value of ``eps_values``.
    eps_values : array-like of float, default=(0, 0.5, ..., 3)
        Radii ``eps`` (≥ 0; ``sigma`` for noise) to evaluate, in the attack's
        norm.
    random_state : int, RandomState or None, default=0
        Seed of a randomised attack (PGD's random start, noise) named by
        string, as for the scorers, so the curve is reproducible; an Attack
        object keeps its own.
    batch_size : int, default=1024
        Samples attacked at once.
    **attack_params
        Further parameters of the attack, e.g. ``norm="inf"``,
        ``n_iter=100``, ``clamp=(0, 1)``.

    Returns
    -------
    curve : dict
        ``eps_values`` (ndarray), ``accuracy`` (ndarray, one per value),
        ``clean_accuracy`` (float), ``attack`` (the registry name),
        ``attack_params`` (the attack's parameters other than the radius)
        and ``n_samples``.

    Examples
    --------
    >>> from sklip import LipschitzClassifier
    >>> from sklip.datasets import load_digits_scaled
    >>> from sklip.metrics import robustness_curve
    >>> X, y = load_digits_scaled()
    >>> clf = LipschitzClassifier(regularizer="none", max_epochs=5,
    ...                           random_state=0).fit(X, y)
    >>> curve = robustness_curve(clf, X, y, "fgsm", eps_values=[0, 0.1],
    ...                          norm="inf", clamp=(0, 1))
    >>> bool(curve["accuracy"][0] == curve["clean_accuracy"])
    True
    """
    _check_estimator(estimator, "classifier", "robustness_curve")
    eps_values = np.asarray(eps_values, dtype=np.float64)
    if eps_values.ndim != 1 or eps_values.size == 0 \
            or not np.all(np.isfinite(eps_values)) or np.any(eps_values < 0):
        raise ValueError(
            "eps_values must be a non-empty 1-D sequence of finite numbers "
            f">= 0, got {eps_values!r}.")
    if isinstance(attack, str) and attack in ATTACKS:
        radius_param = ATTACKS[attack].radius_param
    elif isinstance(attack, (type, Attack)) and hasattr(attack,
                                                        "radius_param"):
        radius_param = attack.radius_param
    else:
        radius_param = None  # get_attack names the bad value below
    if radius_param is not None and radius_param in attack_params:
        raise ValueError(
            f"pass the radii as eps_values=[...], not {radius_param}=...")
    if isinstance(attack, Attack):
        base = get_attack(attack, **attack_params)
    else:
        base = get_attack(attack, **{radius_param or "eps": 0.0,
                                     **attack_params})
        if "random_state" in base.get_params() \
                and "random_state" not in attack_params:
            base.set_params(random_state=random_state)
    base.validate()
    radius_param = base.radius_param

    clean = float(accuracy_score(y, estimator.predict(X)))
    accuracy = np.empty(eps_values.size)
    for i, radius in enumerate(eps_values):
        if radius == 0:
            accuracy[i] = clean
            continue
        attack_r = base.set_params(**{radius_param: float(radius)})
        X_adv = attack_r.generate(estimator, X, y, batch_size=batch_size)
        accuracy[i] = accuracy_score(y, estimator.predict(
            like_input(X_adv, X)))
    params = {key: value for key, value in base.get_params().items()
              if key != radius_param}
    return {"eps_values": eps_values, "accuracy": accuracy, "clean_accuracy": clean,
            "attack": base.name, "attack_params": params,
            "n_samples": int(len(y))}


def attack_breakdown(estimator, X, y, attack, *, batch_size=1024):
    """Accuracy of a classifier after each member of a worst-case attack.

    The members run one after the other on the samples still classified
    correctly, so the accuracies only go down; the last is the worst-case
    accuracy, and the drop at each member is what that member alone added.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        Any fitted classifier (see :ref:`any-model`); gradient attacks
        need a torch network.
    X : array-like of shape (n_samples, ...)
    y : array-like of shape (n_samples,)
    attack : WorstCaseAttack
        E.g. ``WorstCaseAttack(eps=2.0, clamp=(0, 1), random_state=0)``.
    batch_size : int, default=1024
        Samples attacked at once.

    Returns
    -------
    dict
        ``{"clean": clean accuracy, member label: accuracy after it, ...}``
        in the order the members ran.

    Examples
    --------
    >>> from sklip import LipschitzClassifier
    >>> from sklip.attacks import APGDAttack, SquareAttack, WorstCaseAttack
    >>> from sklip.datasets import load_digits_scaled
    >>> from sklip.metrics import attack_breakdown
    >>> X, y = load_digits_scaled()
    >>> clf = LipschitzClassifier(regularizer="none", max_epochs=5,
    ...                           random_state=0).fit(X, y)
    >>> attack = WorstCaseAttack(eps=0.5, clamp=(0, 1), random_state=0,
    ...     attacks=[APGDAttack(0, n_iter=10), SquareAttack(0, n_queries=50)])
    >>> list(attack_breakdown(clf, X[:100], y[:100], attack))
    ['clean', 'apgd', 'square']
    """
    _check_estimator(estimator, "classifier", "attack_breakdown")
    if not isinstance(attack, WorstCaseAttack):
        raise TypeError(
            "attack must be a WorstCaseAttack, got "
            f"{type(attack).__name__}; use adversarial_accuracy for a "
            "single attack.")
    result = {"clean": float(accuracy_score(y, estimator.predict(X)))}
    for name, X_adv in attack.generate_stages(estimator, X, y,
                                              batch_size=batch_size):
        if name != "clean":
            result[name] = float(accuracy_score(y, estimator.predict(
                like_input(X_adv, X))))
    return result
