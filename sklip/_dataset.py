"""Checked, item-by-item views of a torch Dataset.

A :class:`torch.utils.data.Dataset` passed to ``fit`` or ``predict`` is read
one item at a time by skorch's data loader, so data larger than memory can
stream. :class:`CheckedDataset` applies to every item what ``fit`` applies
to arrays as a whole: the input becomes a float32 tensor of the fitted
shape and must be finite, and the target is converted as the loss expects
it (a classifier's label becomes its index in ``classes_``, a regressor's
target float32). A bad item raises a ``ValueError`` that names it, instead
of training on garbage. :class:`WeightedDataset` carries ``fit``'s
``sample_weight`` alongside the targets, row by row.
"""

import numpy as np
import torch
from skorch.dataset import unpack_data

__all__ = ["CheckedDataset", "ClassIndexTargets", "FloatTargets",
           "WeightedDataset", "item_label", "split_weights"]


def item_label(label):
    """A Dataset item's label as a hashable Python scalar (or the object).

    0-d tensors and numpy scalars become Python numbers, so that the label
    ``torch.tensor(3)`` finds the class ``3``.
    """
    if torch.is_tensor(label) or isinstance(label, np.ndarray):
        size = label.numel() if torch.is_tensor(label) else label.size
        return label.reshape(()).tolist() if size == 1 else None
    if isinstance(label, np.generic):
        return label.item()
    return label


class ClassIndexTargets:
    """Map a classifier's labels to class indices, item by item.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
        The fitted ``classes_`` (sorted, unique).
    """

    def __init__(self, classes):
        self.classes = classes
        self.index_ = {label: i for i, label in enumerate(classes.tolist())}

    def __call__(self, label, index):
        key = item_label(label)
        try:
            position = self.index_.get(key)
        except TypeError:  # an unhashable label, e.g. a list
            position = None
        if position is None:
            raise ValueError(
                f"item {index} of the Dataset has label {label!r}, which is "
                f"not one of the classes {self.classes.tolist()}; pass every "
                "label the Dataset yields in the estimator's classes "
                "parameter.")
        # A Python int: the data loader collates ints into an int64 tensor.
        return position


class FloatTargets:
    """Float32 regression targets of ``n_outputs`` values, item by item.

    Parameters
    ----------
    n_outputs : int
        Number of targets per sample seen in the first fit.
    """

    def __init__(self, n_outputs):
        self.n_outputs = n_outputs

    def __call__(self, target, index):
        try:
            target = torch.as_tensor(target, dtype=torch.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"item {index} of the Dataset has target {target!r}, which "
                "is not numeric.") from exc
        if target.numel() != self.n_outputs:
            raise ValueError(
                f"item {index} of the Dataset has {target.numel()} target "
                f"value(s) but the estimator has {self.n_outputs} output(s).")
        if not bool(torch.isfinite(target).all()):
            raise ValueError(
                f"item {index} of the Dataset has a target that contains NaN "
                "or infinity (after conversion to float32).")
        # (n_outputs,) per item: batches are (batch, n_outputs), as for arrays.
        return target.reshape(-1)


class CheckedDataset(torch.utils.data.Dataset):
    """A Dataset whose items are validated and converted when read.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style dataset whose items are ``(X_i, y_i)`` pairs, as skorch
        expects; ``X_i`` is an array or tensor of the input shape.
    input_shape : tuple of int
        Shape every ``X_i`` must have.
    targets : callable or None
        ``targets(y_i, index)`` returning the target of an item (a class
        index or a float32 tensor); ``None`` ignores the targets and yields
        0 in their place (prediction).

    Notes
    -----
    ``numpy.asarray`` on a ``CheckedDataset`` reads every item and stacks
    the inputs into one float32 array: functions that need all inputs at
    once (attacks, Lipschitz estimates, scorers) accept a Dataset this way.
    """

    def __init__(self, dataset, input_shape, targets=None):
        self.dataset = dataset
        self.input_shape = tuple(input_shape)
        self.targets = targets

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        Xi, yi = unpack_data(self.dataset[index])
        Xi = self._input(Xi, index)
        _check_finite([Xi], [index])
        return Xi, self._target(yi, index)

    def __getitems__(self, indices):
        # The DataLoader fetches a whole batch through this method when it
        # exists: the items are converted one by one but checked for NaN in
        # one operation per batch, which is most of the checking's cost.
        getitems = getattr(self.dataset, "__getitems__", None)
        items = (getitems(indices) if getitems is not None
                 else [self.dataset[index] for index in indices])
        batch = []
        for index, item in zip(indices, items):
            Xi, yi = unpack_data(item)
            batch.append((self._input(Xi, index), self._target(yi, index)))
        _check_finite([Xi for Xi, _ in batch], indices)
        return batch

    def _target(self, yi, index):
        if self.targets is None:
            return 0
        return self.targets(yi, index)

    def _input(self, Xi, index):
        try:
            Xi = torch.as_tensor(Xi, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(
                f"item {index} of the Dataset has an input of type "
                f"{type(Xi).__name__} that cannot be converted to a float32 "
                "tensor.") from exc
        if tuple(Xi.shape) != self.input_shape:
            raise ValueError(
                f"item {index} of the Dataset has an input of shape "
                f"{tuple(Xi.shape)}, expected {self.input_shape} (the shape "
                "of the first item, or of the inputs seen in fit).")
        return Xi

    def __array__(self, dtype=None, copy=None):
        inputs = [self[i][0].numpy() for i in range(len(self))]
        array = (np.stack(inputs) if inputs
                 else np.empty((0, *self.input_shape), dtype=np.float32))
        return array if dtype is None else array.astype(dtype, copy=False)


def _check_finite(inputs, indices):
    """Raise a ValueError naming the first item with a NaN or infinity."""
    if not inputs or bool(torch.isfinite(torch.stack(inputs)).all()):
        return
    for Xi, index in zip(inputs, indices):
        if not bool(torch.isfinite(Xi).all()):
            raise ValueError(
                f"Input X contains NaN or infinity: item {index} of the "
                "Dataset.")


class WeightedDataset(torch.utils.data.Dataset):
    """A Dataset whose targets travel with their sample weights.

    Every item ``(X_i, y_i)`` of ``dataset`` becomes ``(X_i, {"y": y_i,
    "sample_weight": w_i})``: the weight stays with its row through
    shuffling, batching and skorch's ``train_split``, and the data loader
    collates the targets into a dict of two batched tensors, which
    :func:`split_weights` takes apart again in the training step.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
        Map-style dataset of ``(X_i, y_i)`` pairs (skorch's Dataset over
        arrays, or a :class:`CheckedDataset`).
    sample_weight : torch.Tensor of shape (len(dataset),)
        Validated float32 weights.
    """

    def __init__(self, dataset, sample_weight):
        self.dataset = dataset
        self.sample_weight = sample_weight

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        Xi, yi = unpack_data(self.dataset[index])
        return Xi, {"y": yi, "sample_weight": self.sample_weight[index]}

    def __getitems__(self, indices):
        getitems = getattr(self.dataset, "__getitems__", None)
        items = (getitems(indices) if getitems is not None
                 else [self.dataset[index] for index in indices])
        return [(Xi, {"y": yi, "sample_weight": self.sample_weight[index]})
                for index, (Xi, yi) in zip(indices, map(unpack_data, items))]

    # skorch's EpochScoring reads the plain X and y of a skorch Dataset
    # (data_from_dataset); a wrapper of one offers them too.
    @property
    def X(self):
        return self.dataset.X

    @property
    def y(self):
        return self.dataset.y


def split_weights(yi):
    """``(targets, sample_weight)`` of a batch's targets; the weight is
    ``None`` for a batch without weights."""
    if isinstance(yi, dict) and "sample_weight" in yi:
        return yi["y"], yi["sample_weight"]
    return yi, None
