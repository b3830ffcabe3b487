"""Checks of hyperparameters and data with messages that name the culprit.

skorch replaces scikit-learn's ``_validate_params``, so sklip validates its
own parameters in ``fit`` before any training happens.
"""

import numbers

import numpy as np
from sklearn.utils import check_scalar

__all__ = ["check_real", "check_int", "check_choice"]


def check_real(value, name, *, min_val=None, max_val=None,
               include_boundaries="both", allow_none=False):
    """Check a finite real hyperparameter.

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Parameter name used in error messages.
    min_val, max_val : float or None
        Bounds; ``None`` for unbounded.
    include_boundaries : {"both", "left", "right", "neither"}
        Which bounds are allowed values.
    allow_none : bool, default=False
        Whether ``None`` is accepted.

    Returns
    -------
    value : float or None
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got a bool ({value}).")
    check_scalar(value, name, numbers.Real, min_val=min_val, max_val=max_val,
                 include_boundaries=include_boundaries)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return float(value)


def check_int(value, name, *, min_val=None, max_val=None, allow_none=False):
    """Check an integer hyperparameter (``bool`` is rejected).

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Parameter name used in error messages.
    min_val, max_val : int or None
        Inclusive bounds; ``None`` for unbounded.
    allow_none : bool, default=False
        Whether ``None`` is accepted.

    Returns
    -------
    value : int or None
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got a bool ({value}).")
    check_scalar(value, name, numbers.Integral, min_val=min_val,
                 max_val=max_val)
    return int(value)


def check_choice(value, name, choices):
    """Check that ``value`` is one of ``choices``; the message lists them.

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Parameter name used in error messages.
    choices : iterable of str
        Allowed values.

    Returns
    -------
    value : object
    """
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{name} must be one of {choices}, got {value!r}.")
    return value
