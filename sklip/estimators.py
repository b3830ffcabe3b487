"""Lipschitz-regularised networks as scikit-learn classifiers and regressors.

Training minimises ``mean_batch loss(f(x), y) + reg_lambda * R(f)`` where
``R`` is one of the regularisers of :mod:`sklip.regularizers` (CLIP: Bungert
et al., SSVM 2021, arXiv:2103.12531; SumLip, TV and pTV: the slides in
``shared/reference``).
"""

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d
from skorch.dataset import Dataset
from torch.utils.data import DataLoader

from ._base import LipschitzNet
from ._dataset import ClassIndexTargets, FloatTargets
from ._docstrings import ATTRIBUTES, CLASSES_PARAMETER, parameters

__all__ = ["LipschitzClassifier", "LipschitzRegressor"]

class LipschitzClassifier(ClassifierMixin, LipschitzNet):
    __doc__ = f"""Neural network classifier with Lipschitz regularisation.

    The network outputs one logit per class and is trained with the
    cross-entropy loss plus ``reg_lambda`` times the regulariser's penalty on
    the logits.

    Parameters
    ----------
{parameters("accuracy", ":class:`torch.nn.CrossEntropyLoss`",
             classes=CLASSES_PARAMETER)}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit`` (any hashable labels, e.g. strings).
{ATTRIBUTES}
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklip import LipschitzClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LipschitzClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _valid_score_name = "valid_acc"
    _outputs_hint = "classes=<every class label>"

    def __init__(self, module=None, *, classes=None, regularizer="clip",
                 reg_lambda="auto", target_accuracy=None, warm_up=False,
                 reg_lambda_step=0.0, reg_lambda_update="epoch",
                 epsilon=None, epsilon_decay="auto",
                 hidden_layer_sizes=(100,), activation="relu",
                 criterion=None, optimizer="adam", lr=0.001, max_epochs=50,
                 batch_size=128, train_split=None, callbacks=None,
                 device="cpu", n_threads=None, random_state=None, verbose=0,
                 warm_start=False, iterator_train=DataLoader,
                 iterator_valid=DataLoader, dataset=Dataset,
                 predict_nonlinearity="auto", compile=False,
                 use_caching="auto", torch_load_kwargs=None, **kwargs):
        super().__init__(
            module, regularizer=regularizer, reg_lambda=reg_lambda,
            target_accuracy=target_accuracy, warm_up=warm_up,
            reg_lambda_step=reg_lambda_step,
            reg_lambda_update=reg_lambda_update, epsilon=epsilon,
            epsilon_decay=epsilon_decay,
            hidden_layer_sizes=hidden_layer_sizes, activation=activation,
            criterion=criterion, optimizer=optimizer, lr=lr,
            max_epochs=max_epochs, batch_size=batch_size,
            train_split=train_split, callbacks=callbacks, device=device,
            n_threads=n_threads, random_state=random_state, verbose=verbose,
            warm_start=warm_start, iterator_train=iterator_train,
            iterator_valid=iterator_valid, dataset=dataset,
            predict_nonlinearity=predict_nonlinearity, compile=compile,
            use_caching=use_caching, torch_load_kwargs=torch_load_kwargs,
            **kwargs)
        self.classes = classes

    def _default_criterion(self):
        return torch.nn.CrossEntropyLoss

    def _validate_targets(self, y, reset, classes=None):
        y = column_or_1d(y, warn=True)
        if y.dtype.kind in "fc" and not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        check_classification_targets(y)
        if reset:
            self._set_classes(classes, y)
        elif classes is not None:
            self._check_same_classes(classes)
        try:
            unknown = np.setdiff1d(np.unique(y), self.classes_)
        except TypeError as exc:  # e.g. int labels against str classes
            raise ValueError(
                f"the labels of y (dtype {y.dtype}) cannot be compared with "
                f"the classes {self.classes_.tolist()}.") from exc
        if unknown.size:
            if self._given_classes(classes) is not None:
                raise ValueError(
                    f"y contains labels {unknown.tolist()} that are not in "
                    f"classes {self.classes_.tolist()}.")
            raise ValueError(
                f"y contains labels {unknown.tolist()} not seen in the first "
                f"fit; known classes: {self.classes_.tolist()}.")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _given_classes(self, classes):
        # partial_fit's classes first, then the hyperparameter.
        return classes if classes is not None else self.classes

    def _set_classes(self, classes, y):
        """Set ``classes_`` from ``partial_fit``'s or the constructor's
        ``classes``, else from the labels ``y`` (``None`` for a Dataset)."""
        classes = self._given_classes(classes)
        if classes is None:
            if y is None:
                raise ValueError(
                    f"{type(self).__name__} needs the classes parameter to "
                    "fit a Dataset: pass every label the Dataset yields, "
                    "e.g. classes=range(10) (with arrays the classes are "
                    "taken from y; reading them from a Dataset would cost a "
                    "pass over all of its items).")
            self.classes_ = np.unique(y)
        else:
            self.classes_ = _check_classes(classes)
        self.n_outputs_ = len(self.classes_)

    def _check_same_classes(self, classes):
        classes = _check_classes(classes)
        if not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"classes={classes.tolist()} is not the same as in the first "
                f"fit, {self.classes_.tolist()}.")

    def _set_output_dims_from_target(self, yi, classes=None):
        self._set_classes(classes, None)

    def _dataset_targets(self, classes=None):
        if classes is not None:
            self._check_same_classes(classes)
        return ClassIndexTargets(self.classes_)

    def _describe_without_data(self):
        # The classes hyperparameter is all a classifier's outputs need.
        if self.classes is not None and not hasattr(self, "classes_"):
            self._set_classes(None, None)

    def _score_sums(self, y_pred, y, sample_weight=None):
        correct = y_pred.argmax(dim=1) == y
        if sample_weight is not None:
            # The weighted accuracy, as score(X, y, sample_weight) gives.
            w = sample_weight.to(device=y_pred.device, dtype=y_pred.dtype)
            return torch.stack([(w * correct).sum(), w.sum()])
        return torch.stack([correct.sum().to(y_pred.dtype),
                            torch.tensor(float(y.shape[0]),
                                         device=y_pred.device)])

    def _score_from_sums(self, sums):
        return sums[0] / sums[1]

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        X = self._validate_predict_data(X)
        logits = self.forward(X).double()
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        X = self._validate_predict_data(X)
        return self.classes_[self.forward(X).argmax(dim=1).numpy()]


def _check_classes(classes):
    """``classes`` as a sorted array of unique labels, or a ValueError."""
    array = np.asarray(list(classes) if isinstance(classes, range)
                       else classes)
    message = ("classes must be a non-empty 1-D array-like of class labels "
               f"(ints or strings), got {classes!r}.")
    if array.ndim != 1 or array.size == 0:
        raise ValueError(message)
    try:
        check_classification_targets(array)
    except ValueError as exc:
        raise ValueError(message) from exc
    return np.unique(array)


class LipschitzRegressor(RegressorMixin, LipschitzNet):
    __doc__ = f"""Neural network regressor with Lipschitz regularisation.

    The network is trained with the mean squared error plus ``reg_lambda``
    times the regulariser's penalty. The training score that drives the
    warm-up and the discrepancy rule is the coefficient of determination R²
    of the epoch's training batches.

    Parameters
    ----------
{parameters("R²", ":class:`torch.nn.MSELoss`", valid_name="valid_r2")}
    Attributes
    ----------
{ATTRIBUTES}
    Examples
    --------
    >>> import numpy as np
    >>> from sklip import LipschitzRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> reg = LipschitzRegressor(max_epochs=5, random_state=0).fit(X, X[:, 0])
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _valid_score_name = "valid_r2"

    def _default_criterion(self):
        return torch.nn.MSELoss

    def _y_check_args(self):
        return {"multi_output": True, "y_numeric": True}

    def _validate_targets(self, y, reset, classes=None):
        y = np.asarray(y)
        if reset:
            self.y_ndim_ = y.ndim
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        with np.errstate(over="ignore"):  # overflow is reported below
            y = y.reshape(len(y), -1).astype(np.float32)
        if y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} targets but {type(self).__name__} was "
                f"fitted with {self.n_outputs_}.")
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity after "
                             "conversion to float32.")
        return y

    def _set_output_dims_from_target(self, yi, classes=None):
        try:
            yi = torch.as_tensor(yi, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(
                f"the first item of the Dataset has target {yi!r}, which is "
                "not numeric; a regressor needs numeric targets.") from exc
        # A scalar target per item is a 1-D y; a vector is one row of a 2-D y.
        self.y_ndim_ = 1 if yi.dim() == 0 else 2
        self.n_outputs_ = int(yi.numel())

    def _dataset_targets(self, classes=None):
        return FloatTargets(self.n_outputs_)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        # A 1-D target from a Dataset arrives as (n,); the network gives
        # (n, 1): align them instead of letting MSELoss broadcast.
        y_true = y_true.reshape(y_pred.shape) if y_true.numel() == \
            y_pred.numel() else y_true
        return super().get_loss(y_pred, y_true, X=X, training=training)

    def _describe_without_data(self):
        # A single-output network predicts a 1-D y, as after a 1-D fit.
        n_outputs = self.get_params_for("module").get("n_outputs")
        if n_outputs is not None and not hasattr(self, "n_outputs_"):
            self.n_outputs_ = int(n_outputs)
            self.y_ndim_ = 1 if self.n_outputs_ == 1 else 2

    def _score_sums(self, y_pred, y, sample_weight=None):
        y = y.reshape(y_pred.shape).to(y_pred.dtype)
        if sample_weight is not None:
            # Weighted sums give the weighted R² of sklearn's r2_score: the
            # total weight takes the place of the count.
            w = sample_weight.to(device=y_pred.device,
                                 dtype=y_pred.dtype).reshape(-1, 1)
            return torch.cat([(w * (y_pred - y).square()).sum(0),
                              (w * y).sum(0), (w * y.square()).sum(0),
                              w.sum().reshape(1)])
        n = torch.tensor([float(y.shape[0])], device=y_pred.device)
        return torch.cat([(y_pred - y).square().sum(0), y.sum(0),
                          y.square().sum(0), n])

    def _score_from_sums(self, sums):
        k = (sums.numel() - 1) // 3
        sse, total, total_sq, n = sums[:k], sums[k:2 * k], sums[2 * k:3 * k], \
            sums[-1]
        sst = total_sq - total.square() / n
        # A constant target has no variance to explain: score it 1 if it is
        # fitted exactly and 0 otherwise, as sklearn's r2_score does.
        r2 = torch.where(sst > 0, 1 - sse / sst.clamp_min(1e-12),
                         (sse == 0).to(sums.dtype))
        return r2.mean()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @available_if(lambda self: False)
    def predict_proba(self, X):
        """Not available: a regressor predicts values, not probabilities."""

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            1-D when the model was fitted on a 1-D ``y``.
        """
        X = self._validate_predict_data(X)
        y_pred = self.forward(X).numpy().astype(np.float64)
        # Without data (initialize then load_params) and without
        # module__n_outputs, a one-column output is taken as a 1-D target.
        y_ndim = getattr(self, "y_ndim_", 1 if y_pred.shape[1] == 1 else 2)
        return y_pred.ravel() if y_ndim == 1 else y_pred
