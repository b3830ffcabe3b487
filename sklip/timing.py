"""Timing mode of the benchmark: seconds per epoch against standard training.

Every method trains the same network on the same data with the same batch
size in one process, and its median seconds per epoch is divided by that of
standard training through sklip in the same run — the slides' Table 1 puts
the regularisers at 1.7–2.3× standard training. Two hand-written loops give
the floor sklip's own overhead is judged against: a loop over a torch
``DataLoader`` and a loop that slices pre-loaded tensors.
"""

import time

import numpy as np
import torch
from torch import nn

from .estimators import LipschitzClassifier
from .modules import MLP

__all__ = ["time_methods", "format_timing"]


def _median_epoch(durations):
    # The first epoch pays for lazy initialisation; leave it out when there
    # are others.
    durations = list(durations)
    return float(np.median(durations[1:] if len(durations) > 1 else durations))


def _hand_loop(X, y, hidden, epochs, batch_size, lr, device, seed,
               use_dataloader):
    torch.manual_seed(seed)
    module = MLP(X.shape[1], int(y.max()) + 1, hidden).to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    X_t = torch.as_tensor(X, device=device)
    y_t = torch.as_tensor(y, device=device)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X_t, y_t), batch_size=batch_size,
        shuffle=True)
    durations = []
    for _ in range(epochs):
        start = time.perf_counter()
        if use_dataloader:
            batches = loader
        else:
            order = torch.randperm(len(X_t), device=device)
            batches = ((X_t[i], y_t[i]) for i in order.split(batch_size))
        for Xb, yb in batches:
            optimizer.zero_grad()
            loss = loss_fn(module(Xb), yb)
            loss.backward()
            optimizer.step()
            # skorch reads every batch loss; so does this loop, to compare
            # like with like.
            loss.item()
        if device != "cpu":
            torch.cuda.synchronize()
        durations.append(time.perf_counter() - start)
    return _median_epoch(durations)


def time_methods(X, y, methods, method_params, *, hidden=(200, 80),
                 epochs=5, batch_size=128, lr=1e-3, device="cpu", seed=0):
    """Median seconds per epoch of every method and of two hand-written loops.

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
    epochs : int, default=5
        Epochs per method (the first is not counted).
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
    def sklip_epoch(method, monitor=False):
        params = {"hidden_layer_sizes": hidden, "max_epochs": epochs,
                  "batch_size": batch_size, "lr": lr, "device": device,
                  "random_state": seed, **method_params[method]}
        if not monitor:
            params["callbacks__lipschitz"] = None
        clf = LipschitzClassifier(**params).fit(X, y)
        return _median_epoch(clf.history[:, "dur"])

    sklip_epoch("none")  # warm-up: torch's lazy initialisation
    reference = sklip_epoch("none")
    rows = [{"method": "none", "sec_per_epoch": reference}]
    rows.append({"method": "none + monitor",
                 "sec_per_epoch": sklip_epoch("none", monitor=True)})
    for method in methods:
        if method != "none":
            rows.append({"method": method,
                         "sec_per_epoch": sklip_epoch(method)})
    for name, use_dataloader in (("hand loop, DataLoader", True),
                                 ("hand loop, tensor slices", False)):
        rows.append({"method": name, "sec_per_epoch": _hand_loop(
            X, y, hidden, epochs, batch_size, lr, device, seed,
            use_dataloader)})
    for row in rows:
        row["ratio"] = row["sec_per_epoch"] / reference
    return rows


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
