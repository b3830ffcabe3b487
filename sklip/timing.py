"""Timing mode of the benchmark: seconds per epoch against standard training.

Every method trains the same network on the same data with the same batch
size in one process, and its median seconds per epoch is divided by that of
standard training through sklip in the same run — the slides' Table 1 puts
the regularisers at 1.7–2.3× standard training. Two hand-written loops give
the floor sklip's own overhead is judged against: a loop over a torch
``DataLoader`` and a loop that slices pre-loaded tensors.

:func:`run_timing` is the timing mode of ``sklip benchmark --timing``: it
checks its options with :func:`sklip.benchmark.check_options` (the
benchmark's own checks) before anything trains, then calls
:func:`time_methods`.
"""

import time

import numpy as np
import torch
from torch import nn

from ._benchmark_checks import (MAX_SEED, OptionError, OptionTypeError,
                               check_device, check_int, check_real)
from .estimators import LipschitzClassifier
from .modules import MLP

__all__ = ["time_methods", "format_timing"]


class _HandLoop:
    """A hand-written PyTorch training loop, one epoch per call."""

    def __init__(self, X, y, hidden, batch_size, lr, device, seed,
                 use_dataloader):
        torch.manual_seed(seed)
        self.module = MLP(X.shape[1], int(y.max()) + 1, hidden).to(device)
        self.optimizer = torch.optim.Adam(self.module.parameters(), lr=lr)
        self.loss_fn = nn.CrossEntropyLoss()
        self.X = torch.as_tensor(X, device=device)
        self.y = torch.as_tensor(y, device=device)
        self.loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(self.X, self.y),
            batch_size=batch_size, shuffle=True)
        self.batch_size = batch_size
        self.device = device
        self.use_dataloader = use_dataloader

    def epoch(self):
        """Train one epoch and return its wall-clock seconds."""
        start = time.perf_counter()
        if self.use_dataloader:
            batches = self.loader
        else:
            order = torch.randperm(len(self.X), device=self.device)
            batches = ((self.X[i], self.y[i])
                       for i in order.split(self.batch_size))
        for Xb, yb in batches:
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.module(Xb), yb)
            loss.backward()
            self.optimizer.step()
            # skorch reads every batch loss; so does this loop, to compare
            # like with like.
            loss.item()
        _synchronize(self.device)
        return time.perf_counter() - start


class _SklipLoop:
    """A sklip estimator trained one epoch per call (``partial_fit``)."""

    def __init__(self, X, y, params):
        self.X, self.y = X, y
        # The first epoch initialises everything and is not timed.
        self.estimator = LipschitzClassifier(**{**params, "max_epochs": 1})
        self.estimator.fit(X, y)

    def epoch(self):
        """Train one epoch and return its seconds (skorch's epoch timer)."""
        self.estimator.partial_fit(self.X, self.y)
        return float(self.estimator.history[-1, "dur"])


def _synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_methods(X, y, methods, method_params, *, hidden=(200, 80),
                 epochs=10, batch_size=128, lr=1e-3, device="cpu", seed=0):
    """Median seconds per epoch of every method and of two hand-written loops.

    Every contender first trains one untimed epoch; then ``epochs`` rounds
    follow, in each of which every contender trains one epoch in turn. The
    rounds interleave the contenders, so a change of the machine's load
    during the run falls on all of them alike rather than on whichever
    happened to be training.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), int
        Class indices.
    methods : sequence of str
        Regulariser names; ``"none"`` is always timed as the reference.
    method_params : dict
        Method -> estimator parameters (e.g.
        :data:`sklip.benchmark.METHOD_PARAMS`).
    hidden : tuple of int, default=(200, 80)
        Hidden layers of the perceptron.
    epochs : int, default=10
        Timed epochs (rounds) per contender.
    batch_size : int, default=128
    lr : float, default=1e-3
        Adam's learning rate, the same everywhere.
    device : str, default="cpu"
    seed : int, default=0

    Returns
    -------
    list of dict
        ``{"method", "sec_per_epoch", "ratio"}`` rows: the ratio is to
        standard training through sklip; the per-epoch Lipschitz monitor is
        switched off for every method (it is an evaluation, not training)
        and timed separately as ``none + monitor``.
    """
    epochs, batch_size, lr, device, seed = _check_timing_args(
        X, y, methods, method_params, hidden, epochs, batch_size, lr, device,
        seed)

    def sklip_loop(method, monitor=False):
        params = {"hidden_layer_sizes": hidden, "batch_size": batch_size,
                  "lr": lr, "device": device, "random_state": seed,
                  **method_params[method]}
        if not monitor:
            params["callbacks__lipschitz"] = None
        return _SklipLoop(X, y, params)

    sklip_loop("none").epoch()  # torch's lazy initialisation, untimed
    loops = {"none": sklip_loop("none"),
             "none + monitor": sklip_loop("none", monitor=True)}
    loops.update((m, sklip_loop(m)) for m in methods if m != "none")
    for name, use_dataloader in (("hand loop, DataLoader", True),
                                 ("hand loop, tensor slices", False)):
        loops[name] = _HandLoop(X, y, hidden, batch_size, lr, device, seed,
                                use_dataloader)
        loops[name].epoch()
    durations = {name: [] for name in loops}
    for _ in range(epochs):
        for name, loop in loops.items():
            durations[name].append(loop.epoch())
    reference = float(np.median(durations["none"]))
    return [{"method": name, "sec_per_epoch": float(np.median(d)),
             "ratio": float(np.median(d)) / reference}
            for name, d in durations.items()]


def _check_timing_args(X, y, methods, method_params, hidden, epochs,
                       batch_size, lr, device, seed):
    """:func:`time_methods`' options, checked before anything trains."""
    if np.ndim(X) != 2 or np.ndim(y) != 1 or len(X) != len(y) or not len(X):
        raise OptionError("X", f"and y must be a non-empty (n_samples, "
                          f"n_features) array and its n_samples labels, got "
                          f"shapes {np.shape(X)} and {np.shape(y)}.")
    missing = [m for m in ("none", *methods) if m not in method_params]
    if missing:
        raise OptionError("method_params", f"lacks the parameters of "
                          f"{missing} ('none' is always timed).")
    if np.ndim(hidden) != 1 or not len(hidden):
        raise OptionTypeError("hidden", f"must be a tuple of layer widths, "
                              f"got {hidden!r}.")
    for width in hidden:
        check_int(width, "hidden")
    return (check_int(epochs, "epochs"), check_int(batch_size, "batch_size"),
            check_real(lr, "lr"), check_device(device),
            check_int(seed, "seed", low=0, high=MAX_SEED))


def run_timing(dataset="digits", methods=None, *, data_dir=None, epochs=None,
               tile=1, device="cpu", seed=0, preset="tuned"):
    """Time every method's training on a benchmark data set.

    The options are those of :func:`sklip.benchmark.run_benchmark` and are
    checked the same way (:func:`sklip.benchmark.check_options`) before the
    first epoch, the tiled training set against the memory free.

    Parameters
    ----------
    dataset : {"digits", "mnist"}, default="digits"
    methods : sequence of str or None, default=None
        Which of :data:`sklip.benchmark.METHODS` (default: all).
    data_dir : str or Path or None
        Folder of the MNIST IDX files.
    epochs : int or None
        Timed epochs per method (default 10).
    tile : int, default=1
        Repeat the training set this many times (6 turns MNIST's 8,000
        images into the 48,000 of a GPU timing).
    device : str, default="cpu"
    seed : int, default=0
    preset : {"tuned", "slides"}, default="tuned"
        The methods' settings, as in
        :func:`~sklip.benchmark.run_benchmark`.

    Returns
    -------
    rows : list of dict
        :func:`time_methods`' rows.
    settings : dict
        ``dataset``, ``epochs``, ``tile``, ``n_distinct`` (training images
        before tiling), ``n_train``, ``n_features`` and ``n_classes``.
    """
    from .benchmark import METHODS, check_options, method_params

    options = check_options(dataset, methods, timing=True, tile=tile,
                            data_dir=data_dir, epochs=epochs, device=device,
                            seed=seed, preset=preset)
    X_train, _, y_train, _ = options["data"]
    settings = {"dataset": dataset, "epochs": options["epochs"],
                "tile": tile, "n_distinct": len(X_train)}
    X_train = np.tile(X_train, (tile, 1))
    y_train = np.tile(y_train, tile)
    params = {m: method_params(m, 2.0, preset=preset) for m in METHODS}
    rows = time_methods(X_train, y_train, options["methods"], params,
                        epochs=options["epochs"], device=device, seed=seed)
    settings.update(n_train=len(X_train), n_features=X_train.shape[1],
                    n_classes=int(y_train.max()) + 1)
    return rows, settings


def format_timing(rows):
    """Text table of :func:`time_methods` rows.

    Parameters
    ----------
    rows : list of dict

    Returns
    -------
    str
    """
    lines = [f"{'method':<26}{'s/epoch':>10}{'ratio':>8}", "-" * 44]
    lines += [f"{r['method']:<26}{r['sec_per_epoch']:>10.4f}{r['ratio']:>8.2f}"
              for r in rows]
    return "\n".join(lines)
