"""Checks of hyperparameters and data with messages that name the culprit.

skorch replaces scikit-learn's ``_validate_params``, so sklip validates its
own parameters in ``fit`` before any training happens.
"""

import numbers
import sys

import numpy as np
from sklearn.utils import check_scalar

__all__ = ["check_real", "check_int", "check_choice", "check_buffer_size",
           "caller_stacklevel", "MAX_BUFFER_BYTES"]

#: The most memory a buffer sized by one parameter may take. Beyond it the
#: value is almost surely a slip (``n_pairs=10**9``), and the allocation
#: would fail deep inside torch, or swap for minutes, after work has begun.
MAX_BUFFER_BYTES = 8 * 2**30


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
    _check_number(value, name, numbers.Real, "a real number", min_val=min_val,
                  max_val=max_val, include_boundaries=include_boundaries)
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
    _check_number(value, name, numbers.Integral, "an int", min_val=min_val,
                  max_val=max_val)
    return int(value)


def _check_number(value, name, target_type, kind, **bounds):
    """:func:`sklearn.utils.check_scalar`, refusing a bool first: a bool
    is an int to Python, but never meant as a number here."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be {kind}, got a bool ({value}).")
    check_scalar(value, name, target_type, **bounds)


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


def check_buffer_size(n_bytes, name, value):
    """Refuse a parameter whose buffer would exceed :data:`MAX_BUFFER_BYTES`.

    Parameters
    ----------
    n_bytes : int
        Estimated size of the buffer the parameter sizes.
    name : str
        Parameter name used in the message.
    value : object
        Its value.
    """
    if n_bytes > MAX_BUFFER_BYTES:
        raise ValueError(
            f"{name}={value!r} needs about {n_bytes / 2**30:.1f} GiB of "
            f"memory at once, more than the {MAX_BUFFER_BYTES // 2**30} GiB "
            "sklip allows one buffer; use a smaller value.")


def caller_stacklevel():
    """The ``stacklevel`` for a warning raised here that names the first
    frame outside sklip, skorch and scikit-learn: the user's call (a
    callback or a check runs several frames deep inside ``fit``)."""
    level, frame = 2, sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").split(
            ".")[0] in ("sklip", "skorch", "sklearn"):
        level += 1
        frame = frame.f_back
    return level
