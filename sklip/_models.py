"""What a robustness tool needs from the model a user hands it.

Attacks, scorers, Lipschitz bounds and certificates all take "a model":
a fitted sklip estimator, a skorch net, a :class:`torch.nn.Module`, a
:class:`~sklearn.pipeline.Pipeline` ending in one of those, or any fitted
scikit-learn estimator. :func:`resolve_model` reads each of them as one
:class:`ResolvedModel`: a torch module from the *raw* inputs the user
passes to the model's outputs (logits, log-probabilities or regression
outputs), and how to turn the user's ``X`` and ``y`` into its tensors.

- A pipeline's preprocessing becomes torch layers
  (:mod:`sklip.preprocessing`) in front of the network, so a gradient
  attack differentiates through it and ``eps`` is in the units of the data
  the user passed.
- A model without a torch network (``MLPClassifier``, a pipeline with a
  step that has no torch form, ...) is read through its predictions: its
  module runs ``predict_proba`` (or ``decision_function``, or ``predict``)
  on numpy, which an attack that needs only outputs (noise, Square) can
  use. ``gradient_free_reason`` says why gradients are unavailable.
"""

from collections import OrderedDict

import numpy as np
import torch
from sklearn.base import is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .preprocessing import transformer_to_torch

__all__ = ["ResolvedModel", "resolve_model", "module_device",
           "input_tensor", "target_tensor"]

_NETWORKS = ("a fitted sklip estimator, a skorch net, a torch.nn.Module and "
             "a Pipeline of those behind preprocessing that has a torch "
             "form (sklip.preprocessing)")
_ACCEPTED = ("a fitted sklip estimator, a fitted skorch net, a "
             "torch.nn.Module, a fitted Pipeline ending in one of them, or "
             "any fitted scikit-learn classifier or regressor")


def module_device(module):
    """The device of a module's first parameter or buffer (CPU if none)."""
    first = next(iter((*module.parameters(), *module.buffers())), None)
    return first.device if first is not None else torch.device("cpu")


class ResolvedModel:
    """A model read as a torch module on raw inputs.

    Parameters
    ----------
    module : torch.nn.Module
        Raw inputs to outputs.
    device : torch.device
        Where its inputs go.
    estimator : estimator or None
        The model as the user passed it; ``None`` for a bare module.
    kind : {"classifier", "regressor"} or None
        ``None`` for a bare module (read from ``y``: class indices or
        float targets).
    input_shape : tuple of int or None
        One raw sample's shape, where the model records it.
    gradient_free_reason : str or None
        Why the module passes no gradients (``None`` when it does).
    validate_X, validate_y : callable
        ``X`` (array-like) to a float32 array or a dataset, ``y`` to class
        indices or float targets.
    """

    def __init__(self, module, device, *, estimator=None, kind=None,
                 input_shape=None, gradient_free_reason=None,
                 validate_X=None, validate_y=None):
        self.module = module
        self.device = device
        self.estimator = estimator
        self.kind = kind
        self.input_shape = input_shape
        self.gradient_free_reason = gradient_free_reason
        self._validate_X = validate_X or _check_inputs
        self._validate_y = validate_y or _index_or_float_targets

    @property
    def has_gradients(self):
        """Whether the module's outputs pass gradients to its inputs."""
        return self.gradient_free_reason is None

    def require_gradients(self, what):
        """Raise a TypeError naming ``what`` if the module is opaque."""
        if self.gradient_free_reason is not None:
            raise TypeError(
                f"{what} needs the model's torch network, and "
                f"{self.gradient_free_reason}. It works on {_NETWORKS}.")

    def inputs(self, X):
        """``X`` validated, as a float32 tensor on :attr:`device`."""
        # A dataset comes back checked item by item; as an array it stacks
        # its inputs.
        X = self._validate_X(_host_array(X))
        return torch.as_tensor(_writable(np.ascontiguousarray(
            X, dtype=np.float32)), device=self.device)

    def targets(self, y):
        """Class indices (int64) or float32 targets on :attr:`device`."""
        return torch.as_tensor(_writable(self._validate_y(_host_array(y))),
                               device=self.device)


def _writable(array):
    """``array``, copied if it is read-only: joblib hands its workers large
    arrays as read-only memory maps, and a tensor sharing such memory is
    unsafe to write (torch warns about it)."""
    if isinstance(array, np.ndarray) and not array.flags.writeable:
        return array.copy()
    return array


def _host_array(data):
    """A tensor as a numpy array on the CPU (validation works on numpy);
    a DataFrame as an array; anything else unchanged."""
    if torch.is_tensor(data):
        return data.detach().cpu().numpy()
    if hasattr(data, "to_numpy") and hasattr(data, "columns"):
        return data.to_numpy()
    return data


def _check_inputs(X, n_features=None):
    X = check_array(X, dtype=np.float32, allow_nd=n_features is None,
                    ensure_all_finite=True)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but the model is expecting "
            f"{n_features} features as input.")
    return X


def _index_or_float_targets(y):
    """A bare module's targets: integers are class indices, floats are
    regression targets."""
    y = np.asarray(y)
    if y.dtype.kind not in "iubf":
        raise ValueError(
            "a bare torch module takes class indices (integers) or float "
            f"targets as y, got dtype {y.dtype}; wrap it in "
            "sklip.PretrainedClassifier(module, classes=...) to use labels.")
    if not np.all(np.isfinite(y.astype(np.float64))):
        raise ValueError("Input y contains NaN or infinity.")
    return y.astype(np.int64) if y.dtype.kind in "iub" \
        else y.astype(np.float32)


def _label_indices(classes):
    """``y`` (labels among ``classes``) to class indices."""
    lookup = {label: i for i, label in enumerate(np.asarray(classes).tolist())}

    def validate(y):
        try:
            return np.array([lookup[label] for label in
                             np.asarray(y).reshape(-1).tolist()],
                            dtype=np.int64)
        except KeyError as error:
            raise ValueError(
                f"y contains the label {error.args[0]!r}, which the model "
                f"does not know; its classes are {list(lookup)}.") from None
    return validate


def _float_targets(y):
    y = np.asarray(y, dtype=np.float32)
    if not np.all(np.isfinite(y)):
        raise ValueError("Input y contains NaN or infinity.")
    return y


def _is_sklip(model):
    return hasattr(model, "_validate_predict_data") and \
        hasattr(model, "_validate_targets") and hasattr(model, "module")


def _check_torch_fitted(model):
    if not getattr(model, "initialized_", True) or not isinstance(
            getattr(model, "module_", None), nn.Module):
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet; "
            "call 'fit' before measuring or attacking it.")


def _estimator_device(model):
    # An accelerated estimator has device None: Accelerate placed it.
    device = getattr(model, "device", None)
    return module_device(model.module_) if device is None \
        else torch.device(device)


def _kind(model):
    if is_classifier(model):
        return "classifier"
    if is_regressor(model):
        return "regressor"
    return None


class _LogProbabilities(nn.Module):
    """``log(p + eps)`` of a network that outputs probabilities, as skorch's
    ``NeuralNetClassifier`` does for its ``NLLLoss``: log-probabilities are
    logits, which is what the attacks' losses take."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, X):
        probabilities = self.network(X)
        return torch.log(probabilities + torch.finfo(
            probabilities.dtype).eps)


def _sklip_model(model):
    _check_torch_fitted(model)
    return ResolvedModel(
        model.module_, _estimator_device(model), estimator=model,
        kind=_kind(model),
        input_shape=getattr(model, "input_shape_", None),
        validate_X=model._validate_predict_data,
        validate_y=lambda y: model._validate_targets(np.asarray(y),
                                                     reset=False))


def _torch_estimator_model(model):
    """A skorch net or another estimator holding its network in ``module_``
    (:class:`sklip.PretrainedClassifier`)."""
    _check_torch_fitted(model)
    module, kind = model.module_, _kind(model)
    criterion = getattr(model, "criterion_", None)
    if kind == "classifier" and isinstance(criterion, nn.NLLLoss):
        module = _LogProbabilities(module)
    validate_y = _index_or_float_targets
    if kind == "classifier":
        classes = getattr(model, "classes_", None)
        validate_y = _label_indices(classes) if classes is not None else \
            (lambda y: _index_or_float_targets(y).astype(np.int64))
    elif kind == "regressor":
        validate_y = _float_targets
    return ResolvedModel(module, _estimator_device(model), estimator=model,
                         kind=kind,
                         input_shape=getattr(model, "input_shape_", None),
                         validate_y=validate_y)


class _PredictionModule(nn.Module):
    """A fitted estimator's predictions as a (gradient-free) torch module.

    Classifiers output log-probabilities (``predict_proba``), else
    ``decision_function`` scores (one column per class), else one-hot
    predictions; regressors output ``predict`` as (n, n_outputs).
    """

    def __init__(self, estimator, kind):
        super().__init__()
        self.estimator = estimator
        self.kind = kind

    def forward(self, X):
        rows = X.detach().cpu().numpy()
        rows = _named(self.estimator, rows.reshape(rows.shape[0], -1))
        if self.kind == "regressor":
            outputs = np.asarray(self.estimator.predict(rows),
                                 dtype=np.float64).reshape(len(rows), -1)
        elif hasattr(self.estimator, "predict_proba"):
            outputs = np.log(np.clip(self.estimator.predict_proba(rows),
                                     1e-30, None))
        elif hasattr(self.estimator, "decision_function"):
            outputs = np.asarray(self.estimator.decision_function(rows),
                                 dtype=np.float64)
            if outputs.ndim == 1:  # binary: the score of the second class
                outputs = np.stack([np.zeros_like(outputs), outputs], 1)
        else:
            labels = self.estimator.predict(rows)
            outputs = (np.asarray(labels)[:, None] ==
                       np.asarray(self.estimator.classes_)[None, :]) * 1.0
        return torch.as_tensor(outputs, dtype=X.dtype, device=X.device)


def _named(estimator, rows):
    """Rows as a DataFrame when the estimator was fitted on one, so that it
    does not warn about missing feature names."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None or rows.shape[1] != len(names):
        return rows
    import pandas as pd

    return pd.DataFrame(rows, columns=names)


def _prediction_model(model, reason):
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise NotFittedError(
            f"This {type(model).__name__} instance is not fitted yet; call "
            "'fit' before measuring or attacking it.") from None
    kind = _kind(model)
    if kind is None or not hasattr(model, "predict"):
        raise TypeError(
            f"expected {_ACCEPTED}, got {type(model).__name__}.")
    validate_y = _float_targets
    if kind == "classifier":
        validate_y = _label_indices(model.classes_)
    n_features = getattr(model, "n_features_in_", None)
    return ResolvedModel(
        _PredictionModule(model, kind), torch.device("cpu"), estimator=model,
        kind=kind, gradient_free_reason=reason,
        validate_X=lambda X: _check_inputs(X, n_features),
        validate_y=validate_y)


def _pipeline_model(pipeline):
    try:
        check_is_fitted(pipeline)
    except NotFittedError:
        raise NotFittedError(
            "This Pipeline instance is not fitted yet; call 'fit' before "
            "measuring or attacking it.") from None
    final = resolve_model(pipeline.steps[-1][1])
    if not final.has_gradients:
        return _prediction_model(pipeline, (
            f"the pipeline's last step: {final.gradient_free_reason}"))
    try:
        preprocessing = nn.Sequential(OrderedDict(
            (name, transformer_to_torch(step, name))
            for name, step in pipeline.steps[:-1]))
    except TypeError as error:
        return _prediction_model(pipeline, str(error))
    preprocessing.to(final.device)
    module = nn.Sequential(OrderedDict(preprocessing=preprocessing,
                                       network=final.module))
    n_features = getattr(pipeline, "n_features_in_", None)
    return ResolvedModel(
        module, final.device, estimator=pipeline, kind=_kind(pipeline),
        input_shape=None if n_features is None else (int(n_features),),
        validate_X=lambda X: _check_inputs(X, n_features),
        validate_y=final._validate_y)


def resolve_model(model):
    """Read ``model`` as a torch module on raw inputs.

    Parameters
    ----------
    model : estimator, Pipeline or torch.nn.Module
        A fitted sklip estimator, skorch net or scikit-learn estimator, a
        fitted pipeline, or a bare module.

    Returns
    -------
    ResolvedModel

    Raises
    ------
    sklearn.exceptions.NotFittedError
        For an unfitted estimator.
    TypeError
        For anything else.
    """
    if isinstance(model, ResolvedModel):
        return model
    if isinstance(model, nn.Module):
        return ResolvedModel(model, module_device(model))
    if isinstance(model, Pipeline):
        return _pipeline_model(model)
    if _is_sklip(model):
        return _sklip_model(model)
    if hasattr(model, "module_") or (hasattr(model, "initialized_")
                                     and hasattr(model, "module")):
        return _torch_estimator_model(model)
    if hasattr(model, "fit") and hasattr(model, "predict"):
        return _prediction_model(
            model, f"{type(model).__name__} is not a torch network")
    raise TypeError(f"expected {_ACCEPTED}, got {type(model).__name__}.")


def input_tensor(model, X):
    """``X`` validated for ``model``, as a float32 tensor on its device."""
    return resolve_model(model).inputs(X)


def target_tensor(model, y):
    """``y`` as class indices or float targets on ``model``'s device."""
    return resolve_model(model).targets(y)
