"""Input and target validation of the sklip estimators.

``fit`` and ``predict`` take what scikit-learn estimators take (arrays,
DataFrames, float64 or int data) and torch map-style Datasets, and hand the
network float32 inputs of the shape it was fitted on. Everything is checked
before any training starts, with messages that say what was expected.
"""

import contextlib

import numpy as np
import torch
from sklearn.utils.validation import validate_data
from skorch.dataset import unpack_data
from skorch.utils import is_dataset

from ._dataset import CheckedDataset

__all__ = ["InputChecks"]


class InputChecks:
    """Data checks of :class:`~sklip._base.LipschitzNet` (a mixin).

    Subclasses provide ``_validate_targets``, ``_set_output_dims_from_target``
    and ``_dataset_targets``.
    """

    def _validate_fit_data(self, X, y, reset, classes=None):
        if is_dataset(X):
            X = map_style(X)
            if reset:
                self._set_dims_from_dataset(X, classes=classes)
            return CheckedDataset(X, self.input_shape_,
                                  self._dataset_targets(classes)), y
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the "
                "target y is None.")
        with _named_input_errors(X, y):
            X, y = validate_data(self, X, y, reset=reset,
                                 **self._x_check_args(),
                                 **self._y_check_args())
        y = self._validate_targets(y, reset=reset, classes=classes)
        if reset:
            self.input_shape_ = tuple(X.shape[1:])
            self.n_inputs_ = int(np.prod(self.input_shape_))
        else:
            self._check_input_shape(X)
        return X, y

    def _x_check_args(self):
        return {"dtype": np.float32, "allow_nd": True,
                "ensure_all_finite": True, "ensure_min_samples": 1}

    def _y_check_args(self):
        return {}

    def _validate_predict_data(self, X):
        self.check_is_fitted()
        if is_dataset(X):
            # Checked item by item as it is read; the targets are ignored.
            return CheckedDataset(map_style(X), self.input_shape_)
        with _named_input_errors(X):
            X = validate_data(self, X, reset=False, **self._x_check_args())
        self._check_input_shape(X)
        return X

    def _check_input_shape(self, X):
        expected = getattr(self, "input_shape_", None)
        if expected is not None and tuple(X.shape[1:]) != expected:
            raise ValueError(
                f"X has shape {X.shape} but {type(self).__name__} was fitted "
                f"on inputs of shape (n_samples, "
                f"{', '.join(map(str, expected))}).")

    def _set_dims_from_dataset(self, dataset, classes=None):
        if len(dataset) == 0:
            raise ValueError(
                "Found an empty Dataset (0 samples) while a minimum of 1 is "
                f"required by {type(self).__name__}.")
        Xi, yi = unpack_data(dataset[0])
        Xi = torch.as_tensor(Xi)
        self.input_shape_ = tuple(Xi.shape)
        self.n_inputs_ = int(np.prod(self.input_shape_))
        self.n_features_in_ = self.input_shape_[0] if self.input_shape_ else 1
        # Column names come from a DataFrame; a Dataset has none, and names
        # left from an earlier fit would be checked against the next X.
        vars(self).pop("feature_names_in_", None)
        self._set_output_dims_from_target(yi, classes=classes)


@contextlib.contextmanager
def _named_input_errors(X, y=None):
    """Name X or y in numpy's and scikit-learn's conversion errors, whose
    own messages name only the value ("could not convert string to float:
    'a'", "Expected 2D array, got scalar array instead: array=nan")."""
    try:
        yield
    except ValueError as exc:
        message = str(exc)
        if "got scalar array instead" in message:
            raise ValueError(
                "X must be array-like of shape (n_samples, n_features) or a "
                f"torch Dataset, got {type(X).__name__} {_short(X)}."
            ) from exc
        if "could not convert" not in message:
            raise
        if y is not None and _converts(X):
            raise ValueError(
                f"y must hold numbers only for a regressor, but {message}."
            ) from exc
        raise ValueError(
            f"X must hold numbers only, but {message}. Encode text or "
            "categorical columns first, e.g. with "
            "sklearn.preprocessing.OneHotEncoder in a ColumnTransformer."
        ) from exc


def _converts(X):
    """Whether numpy turns ``X`` into floats (only asked once a conversion
    failed, to tell whether X or y did)."""
    try:
        np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _short(value):
    """``repr(value)``, cut to a length a message can hold."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def map_style(dataset):
    """The Dataset a ``CheckedDataset`` wraps, checked to be map-style."""
    if isinstance(dataset, CheckedDataset):
        dataset = dataset.dataset
    if isinstance(dataset, torch.utils.data.IterableDataset) or not (
            hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(
            f"X is a {type(dataset).__name__}, but sklip estimators need a "
            "map-style torch Dataset (with __len__ and __getitem__ returning "
            "(X_i, y_i)): training batches are shuffled by index.")
    return dataset
