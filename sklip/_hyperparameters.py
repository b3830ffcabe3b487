"""Hyperparameter checks of the sklip estimators, run before any training.

skorch replaces scikit-learn's ``_validate_params``, so the estimators check
their own parameters in ``fit`` (and ``initialize``), with messages that
name the parameter and what was expected.
"""

import numpy as np
import torch
from sklearn.base import is_classifier
from skorch.callbacks import Callback

from ._auto_lambda import auto_lambda_scale, auto_radius_scale, \
    loss_and_separation
from ._path_lambda import lambda_from_path
from ._validation import check_choice, check_int, check_real
from .attacks._checks import check_attack_random_state
from .modules import ACTIVATIONS
from .optim import resolve_optimizer
from .regularizers import REGULARIZERS, get_regularizer
from .regularizers._base import prefixed_errors

__all__ = ["HyperparameterChecks"]


def _is_callback(item):
    return isinstance(item, Callback) or (isinstance(item, type)
                                          and issubclass(item, Callback))

_REG_PREFIX = "regularizer__"


class HyperparameterChecks:
    """Hyperparameter validation of :class:`~sklip._base.LipschitzNet`
    (a mixin)."""

    def _validate_hyperparameters(self):
        """Check every sklip hyperparameter; return the regulariser."""
        self._check_lambda_params()
        regularizer = self._build_regularizer()
        self._check_epsilon_params(regularizer)
        if regularizer.needs_classes and not is_classifier(self):
            raise ValueError(
                f"regularizer={regularizer.name!r} needs class targets; "
                f"{type(self).__name__} is a regressor. Use a classifier "
                "or another regulariser.")
        sizes = self.hidden_layer_sizes
        if not isinstance(sizes, (tuple, list)) or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                and s > 0 for s in sizes):
            raise ValueError(
                "hidden_layer_sizes must be a tuple of positive ints, got "
                f"{sizes!r}.")
        check_choice(self.activation, "activation", sorted(ACTIVATIONS))
        resolve_optimizer(self.optimizer)
        check_real(self.lr, "lr", min_val=0, include_boundaries="neither")
        check_int(self.max_epochs, "max_epochs", min_val=0)
        self._check_batch_size(self.batch_size, "batch_size")
        for prefix in ("iterator_train", "iterator_valid"):
            size = self.get_params_for(prefix).get("batch_size")
            if size is not None:
                self._check_batch_size(size, f"{prefix}__batch_size")
        check_attack_random_state(self.random_state)
        self._check_criterion_param()
        self._check_callbacks_param()
        if self.train_split is not None and not callable(self.train_split):
            raise TypeError(
                "train_split must be None (no validation split) or a "
                "callable such as skorch.dataset.ValidSplit(0.2), got "
                f"{self.train_split!r}.")
        self._check_module_param()
        self._validate_device()
        return regularizer

    @staticmethod
    def _check_batch_size(size, name):
        check_int(size, name, min_val=-1)
        if size == 0:
            raise ValueError(f"{name} must be positive or -1 (whole data "
                             "set), got 0.")

    def _check_criterion_param(self):
        criterion = self.criterion
        if criterion is None or isinstance(criterion, torch.nn.Module) or (
                isinstance(criterion, type)
                and issubclass(criterion, torch.nn.Module)):
            return
        raise TypeError(
            "criterion must be None (the estimator's default loss), a torch "
            "loss class such as torch.nn.MSELoss or an instance of one, got "
            f"{criterion!r}.")

    def _check_callbacks_param(self):
        callbacks = self.callbacks
        if callbacks is None or (isinstance(callbacks, str)
                                 and callbacks == "disable"):
            return
        if isinstance(callbacks, (list, tuple)) and all(
                _is_callback(item) or (isinstance(item, tuple)
                                       and len(item) == 2
                                       and isinstance(item[0], str)
                                       and _is_callback(item[1]))
                for item in callbacks):
            return
        raise TypeError(
            "callbacks must be None, 'disable' or a list of skorch callbacks "
            "(instances, classes or (name, callback) pairs), got "
            f"{callbacks!r}.")

    def _check_lambda_params(self):
        if isinstance(self.reg_lambda, str):
            check_choice(self.reg_lambda, "reg_lambda", ["auto", "path"])
        else:
            check_real(self.reg_lambda, "reg_lambda", min_val=0)
        check_real(self.target_accuracy, "target_accuracy", min_val=0,
                   max_val=1,
                   allow_none=True)
        if not isinstance(self.warm_up, (bool, np.bool_)):
            raise TypeError(f"warm_up must be a bool, got {self.warm_up!r}.")
        if self.warm_up and self.target_accuracy is None:
            raise ValueError(
                "warm_up=True needs target_accuracy (the threshold α at "
                "which the regulariser is switched on).")
        check_real(self.reg_lambda_step, "reg_lambda_step", min_val=0)
        if self.reg_lambda_step > 0 and self.target_accuracy is None:
            raise ValueError(
                "reg_lambda_step > 0 needs target_accuracy (the threshold α "
                "of the discrepancy rule).")
        check_choice(self.reg_lambda_update, "reg_lambda_update",
                     ["batch", "epoch"])

    def _check_epsilon_params(self, regularizer):
        check_real(self.epsilon, "epsilon", min_val=0,
                   include_boundaries="neither", allow_none=True)
        auto_decay = (isinstance(self.epsilon_decay, str)
                      and self.epsilon_decay == "auto")
        if not auto_decay:
            check_real(self.epsilon_decay, "epsilon_decay", min_val=0,
                       max_val=1, include_boundaries="right")
        if regularizer.uses_epsilon:
            return
        name = "epsilon" if self.epsilon is not None else (
            None if auto_decay else "epsilon_decay")
        if name is not None:
            users = sorted(key for key, cls in REGULARIZERS.items()
                           if cls.uses_epsilon)
            raise ValueError(
                f"{name}={getattr(self, name)!r} is set, but the "
                f"{type(regularizer).__name__} uses no radius; only {users} "
                f"do. Leave epsilon=None and epsilon_decay='auto'.")

    def _check_module_param(self):
        module = self.module
        ok = (module is None or isinstance(module, torch.nn.Module)
              or (isinstance(module, type)
                  and issubclass(module, torch.nn.Module)))
        if not ok:
            raise TypeError(
                "module must be None (a multilayer perceptron sized from the "
                "data), a torch.nn.Module subclass or instance, got "
                f"{module!r}.")

    def _validate_device(self):
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must name a torch device such as 'cpu' or 'cuda', "
                f"got {self.device!r}.") from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} but CUDA is not available here; "
                "use device='cpu'.")

    def _regularizer_params(self):
        return {key[len(_REG_PREFIX):]: value
                for key, value in vars(self).items()
                if key.startswith(_REG_PREFIX)}

    def _build_regularizer(self):
        """A fresh, validated regulariser from the hyperparameters."""
        params = self._regularizer_params()
        with prefixed_errors(_REG_PREFIX, params):
            regularizer = get_regularizer(self.regularizer, **params)
        with prefixed_errors(_REG_PREFIX, regularizer.get_params()):
            regularizer.validate()
        return regularizer

    def _check_regularizer_input(self, X):
        """The regulariser's checks of the training data (its buffers'
        size), under the estimator's parameter names."""
        if hasattr(X, "shape") and hasattr(X, "itemsize"):
            with prefixed_errors(_REG_PREFIX, self.regularizer_.get_params()):
                self.regularizer_.check_input(X)

    def _validate_fit_data(self, X, y, reset, *args, **kwargs):
        X, y = super()._validate_fit_data(X, y, reset, *args, **kwargs)
        if reset:
            # What reg_lambda="auto" scales λ by (sklip._auto_lambda); of a
            # Dataset only the drawn items are read.
            dataset = isinstance(X, torch.utils.data.Dataset)
            self._loss_and_separation = loss_and_separation(
                X, None if dataset else y, is_classifier(self))
        return X, y

    def _choose_lambda_by_path(self, X, y):
        """With ``reg_lambda="path"``, choose λ by a cross-validated path on
        the training data (:mod:`sklip._path_lambda`); forget an earlier
        choice otherwise."""
        vars(self).pop("_path_lambda", None)
        vars(self).pop("lambda_path_", None)
        if isinstance(self.reg_lambda, str) and self.reg_lambda == "path":
            self._path_lambda, self.lambda_path_ = lambda_from_path(
                self, X, y)

    def _resolved_reg_lambda(self):
        chosen = vars(self).get("_path_lambda")
        if self.reg_lambda == "path" and chosen is not None:
            return chosen
        if isinstance(self.reg_lambda, str):  # "auto", or the path's centre
            regularizer = self.regularizer_
            return float(regularizer.default_lambda) * auto_lambda_scale(
                vars(self).get("_loss_and_separation"),
                getattr(regularizer, "quotient_power", 0))
        return float(self.reg_lambda)

    def _resolved_epsilon(self):
        """The starting radius, or ``None`` for a regulariser without one."""
        regularizer = self.regularizer_
        if not regularizer.uses_epsilon:
            return None
        if self.epsilon is not None:
            return float(self.epsilon)
        scale = (auto_radius_scale(vars(self).get("_loss_and_separation"))
                 if regularizer.epsilon_scales_with_data else 1.0)
        return float(regularizer.default_epsilon) * scale

    def _resolved_epsilon_decay(self):
        if isinstance(self.epsilon_decay, str):  # "auto"
            return float(self.regularizer_.default_epsilon_decay)
        return float(self.epsilon_decay)
