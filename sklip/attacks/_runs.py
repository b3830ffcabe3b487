"""Combining several runs of an attack, per sample, into its worst case.

Restarts, target classes and the members of an ensemble are combined the
same way (the protocol of Croce & Hein, ICML 2020): each run only attacks
the samples every earlier run failed to misclassify, and a sample keeps
the first misclassified point found for it, else the point of highest
``criterion``.
"""

import torch

from ._losses import margin_loss, squared_error_loss

__all__ = ["worst_of_runs", "iter_worst_of_runs"]


def worst_of_runs(module, X, y, classify, runs, criterion=None):
    """Per sample, the first misclassified point over several runs.

    This is how restarts, target classes and the members of an ensemble
    are combined (the protocol of Croce & Hein, ICML 2020): each run only
    attacks the samples that every earlier run failed to misclassify, and
    a sample keeps the first misclassified point found for it. Where no run
    succeeds (and always for a regressor) the point with the highest
    ``criterion`` is kept.

    Parameters
    ----------
    module : torch.nn.Module
    X : torch.Tensor of shape (n, ...)
        Clean inputs.
    y : torch.Tensor of shape (n,) or (n, n_targets)
        Class indices or regression targets.
    classify : bool
        Whether ``y`` holds class indices.
    runs : iterable of callable
        ``run(rows)`` returns perturbed inputs for ``X[rows]``, ``y[rows]``
        (``rows`` a tensor of indices).
    criterion : callable or None
        ``criterion(outputs, y)``, per-sample, higher is worse for the
        model; ``None`` takes the logit margin for a classifier and the
        squared error for a regressor.

    Returns
    -------
    torch.Tensor of the shape of ``X``
    """
    best = X
    for best in iter_worst_of_runs(module, X, y, classify, runs, criterion):
        pass
    return best.clone() if best is X else best


def iter_worst_of_runs(module, X, y, classify, runs, criterion=None):
    """:func:`worst_of_runs`, yielding the worst case after every run.

    The same tensor is updated in place and yielded after each run (also
    after a run skipped because every sample was already misclassified);
    clone it to keep a stage.
    """
    if criterion is None:
        criterion = margin_loss if classify else squared_error_loss
    n = X.shape[0]
    best = X.clone()
    best_value = torch.full((n,), -torch.inf, device=X.device)
    best_fooled = torch.zeros(n, dtype=torch.bool, device=X.device)
    todo = torch.arange(n, device=X.device)
    if classify:
        # A sample the model already gets wrong is its own worst case.
        with torch.no_grad():
            best_fooled = module(X).argmax(dim=1) != y
        todo = (~best_fooled).nonzero().squeeze(1)
    for run in runs:
        if todo.numel() > 0:
            candidate = run(todo)
            with torch.no_grad():
                outputs = module(candidate)
                value = criterion(outputs, y[todo]).detach().float()
            fooled = (outputs.argmax(dim=1) != y[todo] if classify
                      else torch.zeros_like(best_fooled[todo]))
            # A misclassified point beats any value; else the higher value.
            better = (fooled & ~best_fooled[todo]) | (
                (fooled == best_fooled[todo]) & (value > best_value[todo]))
            chosen = todo[better]
            best[chosen] = candidate[better]
            best_value[chosen] = value[better]
            best_fooled[chosen] = fooled[better]
            if classify:
                # A sample already misclassified needs no further run.
                todo = (~best_fooled).nonzero().squeeze(1)
        yield best
