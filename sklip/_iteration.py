"""How :class:`~sklip._base.LipschitzNet` draws its batches.

Training batches are shuffled (as in scikit-learn's MLP) by generators of
the estimator's own, never torch's global one; a ``sample_weight`` joins its
rows before the validation split; in-memory arrays are sliced in whole
batches (:mod:`sklip._batches`) rather than indexed sample by sample.
"""

import torch

from ._batches import fast_batches
from ._dataset import WeightedDataset

__all__ = ["BatchIteration"]


class BatchIteration:
    """Data loaders of :class:`~sklip._base.LipschitzNet` (a mixin)."""

    def _iterator_args(self, dataset, training):
        """The iterator class and its arguments for ``dataset``."""
        # Training batches are shuffled by default, as in scikit-learn's
        # MLP; skorch's DataLoader default would not shuffle.
        if training:
            iterator = self.iterator_train
            kwargs = {"shuffle": True, **self.get_params_for("iterator_train")}
        else:
            iterator = self.iterator_valid
            kwargs = self.get_params_for("iterator_valid")
        if isinstance(iterator, type) and issubclass(
                iterator, torch.utils.data.DataLoader):
            kwargs = self._own_generators(dataset, kwargs)
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        return iterator, kwargs

    def _own_generators(self, dataset, kwargs):
        """DataLoader arguments that never read torch's global generator.

        A DataLoader draws a base seed from its ``generator`` (the global
        one without it) even when it does not shuffle. Shuffling permutes
        with a fresh generator per epoch drawn from the estimator's own, in
        a RandomSampler (which Accelerate keeps when it prepares a loader);
        the loader itself gets a generator used for nothing else.
        """
        if "generator" in kwargs or "sampler" in kwargs:
            return kwargs  # the user's choice
        kwargs = dict(kwargs, generator=torch.Generator())
        if kwargs.get("shuffle"):
            kwargs["shuffle"] = False
            kwargs["sampler"] = torch.utils.data.RandomSampler(
                dataset, generator=self.random_.epoch_generator())
        return kwargs

    def get_split_datasets(self, X, y=None, **fit_params):
        # The weights join their rows before train_split, so that a
        # validation split keeps each row's weight.
        weights = vars(self).get("_sample_weight")
        if weights is not None:
            X = WeightedDataset(self.get_dataset(X, y), weights)
        return super().get_split_datasets(X, y, **fit_params)

    def get_iterator(self, dataset, training=False):
        iterator, kwargs = self._iterator_args(dataset, training)
        # In-memory arrays are sliced in whole batches rather than indexed
        # sample by sample (the same batches; see sklip._batches).
        batches = fast_batches(dataset, iterator, kwargs)
        return batches if batches is not None else iterator(dataset, **kwargs)
