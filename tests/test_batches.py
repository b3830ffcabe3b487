"""sklip._batches: in-memory arrays are batched by slicing and give the very
batches, and so the very network, that a DataLoader gives."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset
from torch.utils.data import DataLoader

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip._batches import TensorBatches, fast_batches


def _batches(iterable):
    return [(X.clone(), y.clone()) for X, y in iterable]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drop_last", [True, False])
@pytest.mark.parametrize("with_y", [True, False])
def test_sliced_batches_equal_dataloader_batches(shuffle, drop_last, with_y):
    rng = np.random.RandomState(0)
    X = rng.rand(300, 4).astype(np.float32)
    y = rng.randint(0, 3, 300) if with_y else None
    dataset = Dataset(X, y)
    kwargs = {"batch_size": 64, "shuffle": shuffle, "drop_last": drop_last}

    torch.manual_seed(7)
    expected = _batches(DataLoader(dataset, **kwargs))
    after_loader = torch.rand(3)
    torch.manual_seed(7)
    batches = fast_batches(dataset, DataLoader, kwargs)
    assert isinstance(batches, TensorBatches)
    got = _batches(batches)
    # The same draws from the global generator: what follows is unchanged.
    assert torch.equal(torch.rand(3), after_loader)

    assert len(batches) == len(expected) == len(got)
    for (X_a, y_a), (X_b, y_b) in zip(expected, got):
        assert torch.equal(X_a, X_b) and X_a.dtype == X_b.dtype
        assert torch.equal(y_a, y_b) and y_a.dtype == y_b.dtype


def test_other_datasets_and_loader_options_keep_the_dataloader():
    X = np.zeros((10, 2), dtype=np.float32)
    y = np.zeros(10, dtype=np.int64)
    plain = {"batch_size": 4}
    assert fast_batches(Dataset(X, y), DataLoader, plain) is not None
    # Loader options it does not reproduce, another iterator class, a
    # dataset of its own kind, dict input: all left to the DataLoader.
    assert fast_batches(Dataset(X, y), DataLoader,
                        {**plain, "num_workers": 0}) is None
    assert fast_batches(Dataset(X, y), list, plain) is None
    assert fast_batches(torch.utils.data.TensorDataset(
        torch.as_tensor(X), torch.as_tensor(y)), DataLoader, plain) is None
    assert fast_batches(Dataset({"a": X}, y), DataLoader, plain) is None


@pytest.mark.parametrize("Estimator, target", [
    (LipschitzClassifier, "class"), (LipschitzRegressor, "value")])
def test_estimator_trains_identically_on_either_iterator(digits, Estimator,
                                                         target):
    X, _, y, _ = digits
    X, y = X[:400], y[:400]
    if target == "value":
        y = (y / 9.0).astype(np.float32)
    params = dict(regularizer="clip", reg_lambda=0.01, max_epochs=3,
                  hidden_layer_sizes=(16,), random_state=0)
    fast = Estimator(**params).fit(X, y)
    # num_workers is an option only the DataLoader has: it forces the
    # per-sample path (with no worker processes, the same computation).
    slow = Estimator(iterator_train__num_workers=0,
                     iterator_valid__num_workers=0, **params).fit(X, y)
    np.testing.assert_array_equal(fast.predict(X), slow.predict(X))
    for a, b in zip(fast.module_.parameters(), slow.module_.parameters()):
        assert torch.equal(a, b)


