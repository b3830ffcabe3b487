"""A torch network trained elsewhere, as a fitted scikit-learn estimator.

A user who wants to compare the robustness of a network they already have
with a Lipschitz-regularised one needs it where scikit-learn's tools expect
an estimator: ``cross_validate(PretrainedClassifier(net), X, y,
scoring={"pgd": pgd_accuracy_scorer(2.0)})`` scores it on every fold with
the same attacks as any sklip model. ``fit`` does not train: like
:class:`sklearn.frozen.FrozenEstimator`, it checks the data against the
network and records what scikit-learn needs (``classes_``,
``n_features_in_``).
"""

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from ._models import module_device
from ._validation import check_int

__all__ = ["PretrainedClassifier", "PretrainedRegressor"]


class _Pretrained(BaseEstimator):
    """What both estimators share: the checks of ``fit`` and the batched
    forward pass of the prediction methods."""

    def _fit_inputs(self, X, y):
        if not isinstance(self.module, nn.Module):
            raise TypeError(
                "module must be a torch.nn.Module (a trained network), got "
                f"{type(self.module).__name__}.")
        check_int(self.batch_size, "batch_size", min_val=1)
        X, y = validate_data(self, X, y, dtype=np.float32, allow_nd=True,
                             ensure_all_finite=True, multi_output=True,
                             y_numeric=not isinstance(self, ClassifierMixin))
        self.input_shape_ = tuple(X.shape[1:])
        self.module_ = self.module
        try:
            outputs = self._forward(X[:1])
        except RuntimeError as error:
            raise ValueError(
                f"module does not take inputs of shape {self.input_shape_} "
                f"(one sample of X): {error}") from error
        return X, y, outputs

    def _forward(self, X):
        device = module_device(self.module_)
        was_training = self.module_.training
        self.module_.eval()
        try:
            with torch.no_grad():
                return torch.cat([
                    self.module_(torch.as_tensor(
                        X[start:start + self.batch_size], device=device))
                    .reshape(min(self.batch_size, len(X) - start), -1)
                    .float().cpu()
                    for start in range(0, len(X), self.batch_size)]).numpy()
        finally:
            self.module_.train(was_training)

    def _outputs(self, X):
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=np.float32,
                          allow_nd=True, ensure_all_finite=True)
        if tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {tuple(X.shape[1:])}, but the "
                f"network was given samples of shape {self.input_shape_}.")
        return self._forward(X)


class PretrainedClassifier(ClassifierMixin, _Pretrained):
    """A trained torch classifier as a fitted scikit-learn classifier.

    Parameters
    ----------
    module : torch.nn.Module
        A network mapping inputs of shape (n, ...) to one logit per class.
        It is used as it is: ``fit`` does not train it.
    classes : array-like of shape (n_classes,) or None, default=None
        The label of each output, in order; ``None`` labels them
        ``0, ..., n_classes - 1``.
    batch_size : int, default=1024
        Samples per forward pass.

    Attributes
    ----------
    module_ : torch.nn.Module
        The network (the same object as ``module``).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    input_shape_ : tuple of int

    Examples
    --------
    >>> import torch
    >>> from sklearn.datasets import load_iris
    >>> from sklip import PretrainedClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> net = torch.nn.Linear(4, 3)
    >>> clf = PretrainedClassifier(net).fit(X, y)
    >>> clf.predict(X[:2]).shape
    (2,)
    """

    def __init__(self, module, *, classes=None, batch_size=1024):
        self.module = module
        self.classes = classes
        self.batch_size = batch_size

    def fit(self, X, y):
        """Check ``X`` and ``y`` against the network; it is not trained.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
            Labels among ``classes``.

        Returns
        -------
        self
        """
        X, y, outputs = self._fit_inputs(X, y)
        check_classification_targets(y)
        n_outputs = outputs.shape[1]
        classes = np.arange(n_outputs) if self.classes is None \
            else np.asarray(self.classes)
        if classes.ndim != 1 or len(classes) != n_outputs or n_outputs < 2:
            raise ValueError(
                f"module outputs {n_outputs} value(s) per sample, but a "
                f"classifier needs one logit per class (at least 2) and "
                f"classes must name each of them; got classes={self.classes!r}.")
        unknown = np.setdiff1d(np.unique(y), classes)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()} that are not among "
                f"classes {classes.tolist()}; pass classes=[...] naming the "
                "network's outputs in order.")
        self.classes_ = classes
        return self

    def decision_function(self, X):
        """The network's logits, shape (n_samples, n_classes)."""
        return self._outputs(X)

    def predict_proba(self, X):
        """Softmax of the logits, shape (n_samples, n_classes)."""
        logits = torch.as_tensor(self._outputs(X))
        return torch.softmax(logits.double(), dim=1).numpy()

    def predict(self, X):
        """The label of the largest logit, shape (n_samples,)."""
        return self.classes_[self._outputs(X).argmax(axis=1)]


class PretrainedRegressor(RegressorMixin, _Pretrained):
    """A trained torch regressor as a fitted scikit-learn regressor.

    Parameters
    ----------
    module : torch.nn.Module
        A network mapping inputs of shape (n, ...) to outputs of shape
        (n, n_outputs) or (n,). Used as it is: ``fit`` does not train it.
    batch_size : int, default=1024
        Samples per forward pass.

    Attributes
    ----------
    module_ : torch.nn.Module
    n_outputs_ : int
    n_features_in_ : int
    input_shape_ : tuple of int
    """

    def __init__(self, module, *, batch_size=1024):
        self.module = module
        self.batch_size = batch_size

    def fit(self, X, y):
        """Check ``X`` and ``y`` against the network; it is not trained.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        X, y, outputs = self._fit_inputs(X, y)
        n_targets = 1 if np.ndim(y) == 1 else np.shape(y)[1]
        if outputs.shape[1] != n_targets:
            raise ValueError(
                f"module outputs {outputs.shape[1]} value(s) per sample, but "
                f"y has {n_targets} target(s).")
        self.n_outputs_ = n_targets
        return self

    def predict(self, X):
        """The network's outputs, shape (n_samples,) for one output."""
        outputs = self._outputs(X)
        return outputs[:, 0] if self.n_outputs_ == 1 else outputs
