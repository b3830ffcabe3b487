"""Certified accuracy from a Lipschitz bound and the logit margin.

If ``||f(x + δ) - f(x)|| <= L ||δ||``, the true-class logit can fall by
``a`` and a rival logit rise by ``b`` with ``a² + b² <= L² ||δ||²``, so the
margin between them shrinks by at most ``a + b <= √2 · L · ||δ||``. A point
whose margin exceeds ``√2 · L · eps`` therefore keeps its prediction under
any perturbation of norm ``eps`` (Tsuzuku, Sato & Sugiyama, *Lipschitz-Margin
Training*, NeurIPS 2018).
"""

import math

import numpy as np
import torch
from sklearn.base import is_classifier

from .._validation import check_real, resolve_model, target_tensor
from ._eval import evaluating
from ._lower import _data_tensor
from ._upper import lipschitz_upper_bound

__all__ = ["certified_accuracy"]


def certified_accuracy(model, X, y, eps, *, lipschitz=None):
    """Share of points whose prediction is provably constant within a radius.

    A point is certified at radius ``eps`` when it is classified correctly
    and its logit margin (true-class logit minus the largest other logit)
    exceeds ``√2 · L · eps``, ``L`` being an upper bound of the network's
    Lipschitz constant: no perturbation of Euclidean norm ``eps`` can then
    change the prediction.

    Parameters
    ----------
    model : fitted sklip classifier or torch.nn.Module
        The classifier; a module must output one logit per class, and ``y``
        then holds class indices. Evaluated in evaluation mode.
    X : array-like or torch.Tensor of shape (n_samples, ...)
        Inputs.
    y : array-like of shape (n_samples,)
        True labels (an estimator's class labels, or class indices for a
        module).
    eps : float or array-like of float
        Radius or radii ``eps >= 0`` (Euclidean norm, in input units).
    lipschitz : float or None, default=None
        The Lipschitz bound ``L``; ``None`` computes
        :func:`lipschitz_upper_bound` of ``model`` (for inputs shaped like
        ``X``). A smaller value (e.g. an
        estimate) gives a larger number that is no longer a certificate.

    Returns
    -------
    float or ndarray of shape (n_eps,)
        A float for a scalar ``eps``, an array for an array of radii. At
        ``eps = 0`` it is the clean accuracy, except for points whose top
        two logits tie; it does not increase with ``eps``.

    Raises
    ------
    ValueError
        For a negative or non-finite ``eps`` or ``lipschitz``, 1-D or
        non-finite ``X``, labels that do not match ``X`` or the model.
    TypeError
        For a regressor, or a network whose bound is not computable (pass
        ``lipschitz`` then).
    sklearn.exceptions.NotFittedError
        For an unfitted estimator.

    Examples
    --------
    >>> import torch
    >>> from sklip.lipschitz import certified_accuracy
    >>> net = torch.nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.eye(2))
    >>> X = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    >>> certified_accuracy(net, X, [0, 1], [0.0, 1.0, 2.5])
    array([1. , 0.5, 0. ])
    """
    try:
        radii = np.asarray(eps, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"eps must be a number or a 1-D array of numbers, got "
            f"{eps!r}.") from None
    if radii.ndim > 1:
        raise ValueError(
            f"eps must be a number or a 1-D array, got shape {radii.shape}.")
    if not np.all(np.isfinite(radii)) or np.any(radii < 0):
        raise ValueError(
            f"eps must be finite and non-negative, got {eps!r}.")
    module, _, estimator = resolve_model(model)
    if estimator is not None and not is_classifier(estimator):
        raise TypeError(
            "certified_accuracy needs a classifier, got "
            f"{type(estimator).__name__}.")
    lipschitz = check_real(lipschitz, "lipschitz", min_val=0, allow_none=True)
    X = _data_tensor(model, module, X)
    margins = _margins(model, module, X, y)
    if lipschitz is None:
        lipschitz = lipschitz_upper_bound(
            model, input_shape=tuple(X.shape[1:]))
    thresholds = math.sqrt(2) * lipschitz * radii.reshape(-1)
    # Strict inequality: a margin of exactly 0 is a tie, not a prediction.
    certified = (margins[:, None] > thresholds[None, :]).mean(axis=0)
    return float(certified[0]) if radii.ndim == 0 else certified


def _margins(model, module, X, y):
    """True-class logit minus the largest other logit, per sample."""
    y = target_tensor(model, y)
    if y.dim() != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must be 1-D with one label per sample of X ({X.shape[0]}), "
            f"got shape {tuple(y.shape)}.")
    with torch.no_grad(), evaluating(module):
        logits = module(X).reshape(X.shape[0], -1).double()
    n_classes = logits.shape[1]
    if y.is_floating_point() or n_classes < 2:
        raise ValueError(
            "certified_accuracy needs class indices y and a network with one "
            f"logit per class (at least 2); got y of dtype {y.dtype} and "
            f"{n_classes} output(s).")
    if bool(((y < 0) | (y >= n_classes)).any()):
        raise ValueError(
            f"y holds class indices outside [0, {n_classes}) of the network's "
            "logits.")
    true = logits.gather(1, y.view(-1, 1)).squeeze(1)
    others = logits.scatter(1, y.view(-1, 1), -math.inf)
    return (true - others.max(dim=1).values).cpu().numpy()
