"""Checks of hyperparameters and data with messages that name the culprit.

skorch replaces scikit-learn's ``_validate_params``, so sklip validates its
own parameters in ``fit`` before any training happens.
"""

import numbers

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_array, check_scalar

__all__ = ["check_real", "check_int", "check_choice", "resolve_model",
           "input_tensor", "target_tensor"]


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


def module_device(module):
    """The device of a module's first parameter (CPU when it has none)."""
    first = next(module.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def resolve_model(model):
    """The network, its device and the estimator behind ``model``.

    Parameters
    ----------
    model : fitted sklip estimator or torch.nn.Module
        What to attack or measure.

    Returns
    -------
    module : torch.nn.Module
    device : torch.device
    estimator : sklip estimator or None
        ``None`` when a bare module was given.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        For an sklip estimator that has not been fitted.
    TypeError
        For anything else.
    """
    if isinstance(model, torch.nn.Module):
        return model, module_device(model), None
    if hasattr(model, "initialized_") and hasattr(model, "module"):
        if not getattr(model, "initialized_", False) or \
                not hasattr(model, "module_"):
            raise NotFittedError(
                f"This {type(model).__name__} instance is not fitted yet; "
                "call 'fit' before measuring or attacking it.")
        # An accelerated estimator has device None: Accelerate placed it.
        device = (module_device(model.module_) if model.device is None
                  else torch.device(model.device))
        return model.module_, device, model
    raise TypeError(
        "expected a fitted sklip estimator or a torch.nn.Module, got "
        f"{type(model).__name__}.")


def _host_array(data):
    """A tensor as a numpy array on the CPU (validation works on numpy);
    anything else unchanged."""
    if torch.is_tensor(data):
        return data.detach().cpu().numpy()
    return data


def input_tensor(model, X):
    """``X`` validated like the estimator's ``predict`` input, as a float32
    tensor on the model's device.

    Parameters
    ----------
    model : fitted sklip estimator or torch.nn.Module
    X : array-like or torch.Tensor of shape (n_samples, ...)

    Returns
    -------
    torch.Tensor
    """
    module, device, estimator = resolve_model(model)
    X = _host_array(X)
    if estimator is not None:
        X = estimator._validate_predict_data(X)
    else:
        X = check_array(X, dtype=np.float32, allow_nd=True,
                        ensure_all_finite=True)
    return torch.as_tensor(np.ascontiguousarray(X), device=device)


def target_tensor(model, y):
    """Targets as the loss expects them, on the model's device.

    Class labels of a classifier become class indices (unknown labels are an
    error); regression targets become float32 of shape (n, n_outputs).

    Parameters
    ----------
    model : fitted sklip estimator or torch.nn.Module
        With a bare module, integer ``y`` is taken as class indices and
        float ``y`` as regression targets.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)

    Returns
    -------
    torch.Tensor
    """
    _, device, estimator = resolve_model(model)
    y = _host_array(y)
    if estimator is not None:
        y = estimator._validate_targets(np.asarray(y), reset=False)
    else:
        y = np.asarray(y)
        if not np.all(np.isfinite(y.astype(np.float64))):
            raise ValueError("Input y contains NaN or infinity.")
        y = y.astype(np.int64) if y.dtype.kind in "iub" \
            else y.astype(np.float32)
    return torch.as_tensor(y, device=device)
