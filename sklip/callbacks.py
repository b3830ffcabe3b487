"""Optional skorch callbacks that observe Lipschitz training.

- :class:`LipschitzMonitor`: the pair-search lower bound of ``Lip(f)``
  after every epoch (the slides' Figure 10), computed by the same function
  as :func:`sklip.lipschitz.lipschitz_lower_bound`.

Callbacks only observe: the λ and ε schedules that training needs belong to
the estimator, so every default callback can be replaced or switched off
with ``callbacks__<name>=None`` and ``fit`` still works.
"""

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import is_dataset

from ._random import torch_generator
from .functional import pair_search_bound
from .lipschitz._eval import evaluating

__all__ = ["LipschitzMonitor"]


class LipschitzMonitor(Callback):
    """Record an empirical lower bound of ``Lip(f)`` after every epoch.

    When training starts, ``n_samples`` training inputs are drawn at random
    (all of them, in order, when there are no more) and copied; after every epoch the pair search of
    :func:`sklip.lipschitz.lipschitz_lower_bound` runs from them (``n_pairs``
    pairs, ``n_iter`` ascent steps, the network in evaluation mode, its
    seeding from ``random_state``), and the result is recorded as
    ``lipschitz``. The sample is dropped when training ends, so a fitted
    estimator keeps no training data.

    Parameters
    ----------
    n_pairs : int, default=32
        Number of pairs searched.
    n_iter : int, default=5
        Ascent steps per epoch (kept small: the monitor runs every epoch and
        should cost a few training batches at most).
    n_samples : int, default=512
        Size of the training sample the pairs are seeded from.
    random_state : int, default=0
        Seeds the choice of the sample and the pair seeding (a generator of
        the monitor's own; torch's global random state is not used).

    Examples
    --------
    >>> from sklip import LipschitzClassifier
    >>> from sklip.callbacks import LipschitzMonitor
    >>> clf = LipschitzClassifier(
    ...     callbacks__lipschitz=LipschitzMonitor(n_pairs=64, n_iter=20))
    """

    def __init__(self, n_pairs=32, n_iter=5, n_samples=512, random_state=0):
        self.n_pairs = n_pairs
        self.n_iter = n_iter
        self.n_samples = n_samples
        self.random_state = random_state

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.sample_ = _sample_rows(X, self.n_samples, self.random_state)

    def on_epoch_end(self, net, **kwargs):
        sample = getattr(self, "sample_", None)
        if sample is None or sample.shape[0] < 2:
            return
        module = _unwrapped(net.module_)
        device = next(module.parameters(), torch.empty(0)).device
        # Seeded as lipschitz_lower_bound seeds from its random_state.
        generator = torch_generator(self.random_state, device)
        with evaluating(module):
            bound = pair_search_bound(module, sample.to(device),
                                      self.n_pairs, self.n_iter, generator)
        net.history.record("lipschitz", bound)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.sample_ = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("sample_", None)  # training data never pickles
        return state


def _sample_rows(X, n_samples, random_state):
    """A float32 copy of up to ``n_samples`` random rows of ``X``."""
    if X is None:
        return None
    n = len(X)
    if n == 0:
        return None
    rows = np.sort(np.random.default_rng(random_state).permutation(n)[
        :min(n_samples, n)])
    if is_dataset(X):
        items = [torch.as_tensor(unpack_data(X[int(i)])[0]) for i in rows]
        return torch.stack(items).to(torch.float32)
    return torch.as_tensor(np.array(X[rows], dtype=np.float32))


def _unwrapped(module):
    # DistributedDataParallel and similar wrappers keep the network in
    # ``.module``; the bound copies the network, not the wrapper.
    wrapped = getattr(module, "module", None)
    if isinstance(module, torch.nn.parallel.DistributedDataParallel) and \
            isinstance(wrapped, torch.nn.Module):
        return wrapped
    return module
