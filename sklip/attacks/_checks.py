"""Checks of the attacks' shared hyperparameters, and their seeding.

Every attack validates its hyperparameters before use (see
:meth:`sklip.attacks.Attack.validate`): the norm, the data range
``clamp``, flags and ``random_state`` are checked here with messages that
name the parameter; :func:`make_generator` turns a checked
``random_state`` into the torch generator an attack draws from.
"""

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .._random import torch_generator

__all__ = ["check_norm", "check_bool", "check_clamp",
           "check_attack_random_state", "make_generator"]

#: Names accepted for the Euclidean and the maximum norm.
_NORMS = {"2": 2, "l2": 2, "inf": "inf", "linf": "inf"}


def check_norm(norm, name="norm"):
    """``norm`` as ``2`` or ``"inf"``; the message lists what is accepted."""
    if isinstance(norm, str):
        key = norm.lower()
        if key in _NORMS:
            return _NORMS[key]
    elif isinstance(norm, numbers.Real) and not isinstance(norm, bool):
        if norm == 2:
            return 2
        if np.isposinf(norm):
            return "inf"
    raise ValueError(
        f"{name} must be 2 (Euclidean) or 'inf' (maximum norm; np.inf is "
        f"accepted too), got {norm!r}.")


def check_bool(value, name):
    """Reject anything that is not a bool, naming the parameter."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}.")
    return bool(value)


def check_clamp(clamp, name="clamp"):
    """``None`` or a ``(low, high)`` pair of finite floats with low < high."""
    if clamp is None:
        return None
    try:
        low, high = clamp
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be None or a (low, high) pair of numbers, got "
            f"{clamp!r}.") from None
    if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
        raise ValueError(
            f"{name} must be a (low, high) data range with finite "
            f"low < high, got {clamp!r}.")
    return low, high


def check_attack_random_state(random_state, name="random_state"):
    """Accept what :func:`sklearn.utils.check_random_state` accepts."""
    try:
        check_random_state(random_state)
    except ValueError:
        raise ValueError(
            f"{name} must be None, an int in [0, 2**32 - 1] or a numpy "
            f"RandomState, got {random_state!r}.") from None
    return random_state


def make_generator(random_state, device):
    """A torch generator seeded from ``random_state`` on ``device``.

    ``None`` gives ``None``: torch's global random state, for an attack
    used on its own without a seed. (Adversarial training passes the
    estimator's generator to ``perturb`` instead.)
    """
    if random_state is None:
        return None
    return torch_generator(random_state, device)

