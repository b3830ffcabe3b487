"""Mini-batches of in-memory arrays by slicing, without per-sample indexing.

skorch hands a :class:`torch.utils.data.DataLoader` a dataset that is indexed
one sample at a time and collated back into a batch: for a small network on
8,000 MNIST images that is about a fifth of an epoch's time. When the data
are plain arrays in memory, :class:`TensorBatches` cuts the same batches out
of the whole tensors in one indexing operation each. It permutes with the
generator of the loader's :class:`~torch.utils.data.RandomSampler` (or,
without one, draws from torch's global generator exactly as a ``DataLoader``
with ``shuffle=True`` does), so it yields the very batches the
``DataLoader`` would: results do not depend on which of the two is used.
"""

import warnings

import numpy as np
import torch
from skorch.dataset import Dataset

from ._dataset import WeightedDataset

__all__ = ["TensorBatches", "fast_batches"]

# DataLoader arguments TensorBatches reproduces; any other (a sampler,
# workers, a collate_fn, pinned memory, ...) keeps the DataLoader.
_SUPPORTED = {"batch_size", "shuffle", "drop_last", "generator", "sampler"}


def _is_plain_array(a):
    return (isinstance(a, torch.Tensor)
            or (isinstance(a, np.ndarray) and a.dtype.kind in "biuf"))


def _as_tensor(a):
    if isinstance(a, torch.Tensor):
        return a
    with warnings.catch_warnings():
        # joblib hands workers read-only memory maps; the batches are
        # copies (or read-only views), so nothing is ever written back.
        warnings.filterwarnings("ignore", message=".*not writable.*")
        return torch.from_numpy(a)


class TensorBatches:
    """Iterable of ``(X_batch, y_batch)`` sliced from whole tensors.

    Parameters
    ----------
    X : ndarray or torch.Tensor of shape (n_samples, ...)
    y : ndarray or torch.Tensor of shape (n_samples, ...) or None
        ``None`` yields skorch's placeholder target (zeros of shape
        ``(batch, 1)``).
    sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
        With weights, a batch's target is ``{"y": y_batch, "sample_weight":
        w_batch}``, as a data loader collates a
        :class:`~sklip._dataset.WeightedDataset`'s items.
    batch_size : int
    shuffle : bool, default=False
    drop_last : bool, default=False
    generator : torch.Generator or None, default=None
        The shuffling's permutation generator, as a ``RandomSampler``'s;
        ``None`` draws from torch's global generator, as a ``DataLoader``
        with neither a sampler nor a generator does.
    """

    def __init__(self, X, y, batch_size, shuffle=False, drop_last=False,
                 generator=None, sample_weight=None):
        self.X = _as_tensor(X)
        self.y = None if y is None else _as_tensor(y)
        self.sample_weight = sample_weight
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator

    def __len__(self):
        n, size = len(self.X), self.batch_size
        return n // size if self.drop_last else -(-n // size)

    def _batch(self, index):
        X = self.X[index]
        y = (torch.zeros(len(X), 1) if self.y is None else self.y[index])
        if self.sample_weight is not None:
            y = {"y": y, "sample_weight": self.sample_weight[index]}
        return X, y

    def __iter__(self):
        n, size = len(self.X), self.batch_size
        generator = self.generator
        if generator is None:
            # A DataLoader without a generator draws its base seed from the
            # global generator when an iteration starts, and its
            # RandomSampler a seed of its own next: the same draws keep the
            # caller's random state, and the batches, identical to its.
            torch.empty((), dtype=torch.int64).random_()
            if self.shuffle:
                seed = int(torch.empty((), dtype=torch.int64).random_().item())
                generator = torch.Generator().manual_seed(seed)
        if self.shuffle:
            order = torch.randperm(n, generator=generator)
            if self.generator is not None:
                # A RandomSampler of n samples permutes once for the pass
                # and once more for its (empty) remainder: the next pass of
                # a reused sampler starts two permutations on.
                torch.randperm(n, generator=generator)
            chunks = order.split(size)
        else:
            chunks = [slice(start, min(start + size, n))
                      for start in range(0, n, size)]
        for i, index in enumerate(chunks):
            if self.drop_last and i == len(self):
                return
            yield self._batch(index)


def fast_batches(dataset, iterator, kwargs):
    """A :class:`TensorBatches` for ``dataset`` when it is equivalent to
    ``iterator(dataset, **kwargs)``, else ``None``.

    Parameters
    ----------
    dataset : torch Dataset
        What skorch would iterate over.
    iterator : type
        The iterator class the estimator is configured with.
    kwargs : dict
        Its arguments.

    Returns
    -------
    TensorBatches or None
    """
    sample_weight = None
    if type(dataset) is WeightedDataset:
        # The weights are sliced with their rows, as the loader would.
        sample_weight, dataset = dataset.sample_weight, dataset.dataset
    if (iterator is not torch.utils.data.DataLoader
            or type(dataset) is not Dataset
            or not set(kwargs) <= _SUPPORTED
            or not _is_plain_array(dataset.X)
            or not (dataset.y is None or _is_plain_array(dataset.y))
            or len(dataset.X) != len(dataset)):
        return None
    shuffle = bool(kwargs.get("shuffle", False))
    sampler = kwargs.get("sampler")
    if sampler is not None:
        # A permutation of the whole data set with its own generator.
        if (shuffle or type(sampler) is not torch.utils.data.RandomSampler
                or sampler.replacement or sampler.generator is None
                or sampler.num_samples != len(dataset)):
            return None
        shuffle, generator = True, sampler.generator
    elif shuffle and kwargs.get("generator") is not None:
        # The loader's generator would seed the loader, then permute.
        return None
    else:
        generator = None if "generator" not in kwargs else kwargs["generator"]
    return TensorBatches(dataset.X, dataset.y, kwargs["batch_size"],
                         shuffle=shuffle,
                         drop_last=bool(kwargs.get("drop_last", False)),
                         generator=generator, sample_weight=sample_weight)
