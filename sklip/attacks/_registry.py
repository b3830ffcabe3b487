"""Look up attacks by name."""

import inspect

from sklearn.base import clone

from ._apgd import APGDAttack
from ._base import Attack
from ._gradient import FGSMAttack, PGDAttack
from ._noise import NoiseAttack
from ._square import SquareAttack
from ._worst_case import WorstCaseAttack

__all__ = ["ATTACKS", "get_attack", "attack_names"]

#: Registry name -> attack class.
ATTACKS = {cls.name: cls for cls in (FGSMAttack, PGDAttack, APGDAttack,
                                     SquareAttack, WorstCaseAttack,
                                     NoiseAttack)}


def attack_names():
    """Names accepted by :func:`get_attack` (sorted).

    Returns
    -------
    list of str
    """
    return sorted(ATTACKS)


def get_attack(attack, **params):
    """A fresh attack from a name, a class or an instance.

    Parameters
    ----------
    attack : str, Attack subclass or Attack instance
        One of :func:`attack_names` (``"fgsm"``, ``"pgd"``, ``"apgd"``,
        ``"square"``, ``"worst_case"``, ``"noise"``); an instance is
        cloned, so the caller's object is never changed.
    **params
        Hyperparameters of the attack, e.g. ``eps=2.0``. A name or a class
        needs its radius (``eps`` or ``sigma``).

    Returns
    -------
    Attack

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones), an unknown
        parameter or a missing radius.
    TypeError
        For any other kind of object.

    Examples
    --------
    >>> from sklip.attacks import get_attack
    >>> get_attack("pgd", eps=2.0, n_iter=100).n_iter
    100
    """
    if isinstance(attack, str):
        if attack not in ATTACKS:
            raise ValueError(
                f"attack must be one of {attack_names()} or an Attack "
                f"instance, got {attack!r}.")
        cls = ATTACKS[attack]
    elif isinstance(attack, type) and issubclass(attack, Attack):
        cls = attack
    elif isinstance(attack, Attack):
        obj = clone(attack)
        _check_params(obj, params)
        return obj.set_params(**params)
    else:
        raise TypeError(
            f"attack must be one of {attack_names()} or an Attack instance, "
            f"got {type(attack).__name__}.")
    signature = inspect.signature(cls.__init__)
    required = [name for name, p in signature.parameters.items()
                if name != "self" and p.default is inspect.Parameter.empty
                and p.kind is p.POSITIONAL_OR_KEYWORD]
    missing = [name for name in required if name not in params]
    if missing:
        raise ValueError(
            f"the {cls.name!r} attack needs {', '.join(missing)}, e.g. "
            f"get_attack({cls.name!r}, {missing[0]}=...).")
    valid = set(signature.parameters) - {"self"}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ValueError(
            f"{unknown[0]} is not a parameter of {cls.__name__}; valid ones: "
            f"{sorted(valid)}.")
    return cls(**params)


def _check_params(attack, params):
    unknown = sorted(set(params) - set(attack.get_params()))
    if unknown:
        raise ValueError(
            f"{unknown[0]} is not a parameter of {type(attack).__name__}; "
            f"valid ones: {sorted(attack.get_params())}.")
