"""Certified accuracy from the logit margins and a Lipschitz bound.

A point of class ``y`` keeps its prediction under every perturbation of
Euclidean norm ``eps`` when each margin ``f_y - f_j`` exceeds ``eps`` times
a bound of the Lipschitz constant of ``f_y - f_j``. Three such bounds, from
the loosest and most general to the tightest:

- ``"product"``: ``√2 · L`` with ``L`` the product of the layer norms. The
  true-class logit can fall by ``a`` and a rival rise by ``b`` with
  ``a² + b² <= L² ||δ||²``, so a margin shrinks by at most ``a + b <= √2 ·
  L · ||δ||`` (Tsuzuku, Sato & Sugiyama, *Lipschitz-Margin Training*,
  NeurIPS 2018);
- ``"pairwise"``: ``||w_y - w_j|| · L_pre`` from the last linear layer's
  rows and the product bound of the layers before it;
- ``"local"``: the same on the ball around each point, without the ReLUs
  that are constant there.

The last two live in :mod:`sklip.lipschitz._margin_bounds`.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch

from .._models import resolve_model, target_tensor
from .._validation import check_choice, check_real
from ._chain_plan import NotApplicable, final_linear, local_plan
from ._eval import evaluating
from ._lower import _data_tensor
from ._margin_bounds import (local_constants, local_lower_constants,
                             pairwise_constants)
from ._upper import lipschitz_upper_bound

__all__ = ["certify", "certified_accuracy", "Certificate", "BOUNDS"]

#: The values of ``bound``.
BOUNDS = ("auto", "local", "pairwise", "product")

# Points whose local bounds are propagated together (the eigenproblems of a
# chunk are held in memory at once).
_LOCAL_CHUNK = 256


@dataclass(frozen=True, eq=False)
class Certificate:
    """Which points :func:`certify` proved robust, at which radii.

    Attributes
    ----------
    eps : ndarray of shape (n_eps,)
        The radii (Euclidean norm, in input units).
    certified : ndarray of bool, shape (n_samples, n_eps)
        Whether the point is classified correctly and provably keeps its
        prediction under every perturbation of norm ``eps``.
    accuracy : ndarray of shape (n_eps,)
        The certified accuracy, ``certified.mean(axis=0)``.
    bound : str
        The bound used: ``"product"``, ``"pairwise"`` or ``"local"``.
    """

    eps: np.ndarray
    certified: np.ndarray
    accuracy: np.ndarray
    bound: str

    def __post_init__(self):
        for array in (self.eps, self.certified, self.accuracy):
            array.flags.writeable = False


def certify(model, X, y, eps, *, bound="auto", lipschitz=None):
    """Prove, point by point, that no perturbation of norm ``eps`` changes
    the prediction.

    A point of class ``y`` is certified at radius ``eps`` when it is
    classified correctly and every margin ``f_y(x) - f_j(x)`` (``j != y``)
    exceeds ``eps · c_yj``, ``c_yj`` bounding the Lipschitz constant of
    ``f_y - f_j``; that margin then stays positive on the whole ball. The
    bounds, from the loosest and most general to the tightest:

    - ``"product"``: ``c = √2 · L``, ``L`` the product of the layer norms
      (:func:`lipschitz_upper_bound`) or the ``lipschitz`` given; any
      network that bound supports (Tsuzuku, Sato & Sugiyama 2018);
    - ``"pairwise"``: ``c_yj = ||w_y - w_j|| · L_pre`` for a chain ending in
      a linear layer with rows ``w``, ``L_pre`` the product bound of the
      layers before it (convolutional networks included); never looser
      than ``"product"`` since ``||w_y - w_j|| <= √2 ||W||₂``;
    - ``"local"``: for chains of linear layers and ReLUs (identity-like
      layers aside), the pairwise bound on the ball ``B(x, eps)``, where
      ReLUs that cannot switch on are constant and drop out: each layer's
      norm is that of its weight restricted to the neurons still live,
      found exactly (float64 eigenvalues, rounded up). Never looser than
      ``"pairwise"``, and the costliest: it depends on the radius and the
      point. The eigenvalues are computed only for the points whose
      certificate they decide (correct, not certified by ``"pairwise"``,
      and with margins above a cheap lower bound of the local one).

    All three are sound: up to the rounding of the network's own (float32)
    evaluation and, for convolutions, the tolerance of the power iteration
    that :func:`lipschitz_upper_bound` also uses, a certified point cannot
    be attacked successfully.

    Parameters
    ----------
    model : fitted classifier, Pipeline or torch.nn.Module
        A model with a torch network (see :ref:`any-model`); a
        pipeline's preprocessing is part of the certified function, so
        ``eps`` is in the units of the raw ``X``. A module must output one
        logit per class, and ``y`` then holds class indices. Evaluated in
        evaluation mode.
    X : array-like or torch.Tensor of shape (n_samples, ...)
        Inputs.
    y : array-like of shape (n_samples,)
        True labels (an estimator's class labels, or class indices for a
        module).
    eps : float or array-like of float
        Radius or radii ``eps >= 0`` (Euclidean norm, in input units).
    bound : {"auto", "local", "pairwise", "product"}, default="auto"
        The bound; ``"auto"`` takes the tightest that applies to the
        network: ``"local"``, else ``"pairwise"``, else ``"product"``
        (always ``"product"`` when ``lipschitz`` is given).
    lipschitz : float or None, default=None
        The Lipschitz bound ``L`` of the product rule; ``None`` computes
        :func:`lipschitz_upper_bound` of ``model`` (for inputs shaped like
        ``X``). A smaller value (e.g. an estimate) gives a larger number
        that is no longer a certificate. Only with ``bound="product"`` or
        ``"auto"``.

    Returns
    -------
    Certificate
        The radii, the certified points per radius, the certified accuracy
        per radius and the bound used.

    Raises
    ------
    ValueError
        For an unknown ``bound``, ``lipschitz`` with a bound other than
        ``"product"``, a negative or non-finite ``eps`` or ``lipschitz``,
        1-D or non-finite ``X``, labels that do not match ``X`` or the
        model.
    TypeError
        For a regressor, a ``bound`` that does not apply to the network
        (the message names the layer), or a network whose bound is not
        computable (pass ``lipschitz`` then).
    sklearn.exceptions.NotFittedError
        For an unfitted estimator.

    See Also
    --------
    certified_accuracy : Just the certified accuracy.

    Examples
    --------
    >>> import torch
    >>> from sklip.lipschitz import certify
    >>> net = torch.nn.Linear(2, 3, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[1.0, 0], [0, 1], [0, 3]]))
    >>> X = torch.tensor([[2.0, 0.0]])  # margins 2 over class 1, 2 over 2
    >>> for bound in ["product", "pairwise"]:
    ...     print(certify(net, X, [0], 0.6, bound=bound).accuracy)
    [0.]
    [1.]
    """
    check_choice(bound, "bound", BOUNDS)
    radii = _radii(eps)
    resolved = resolve_model(model)
    resolved.require_gradients("certify")
    module = resolved.module
    if resolved.kind == "regressor":
        raise TypeError(
            "certified accuracy needs a classifier, got "
            f"{type(resolved.estimator).__name__}.")
    lipschitz = check_real(lipschitz, "lipschitz", min_val=0, allow_none=True)
    if lipschitz is not None and bound not in ("auto", "product"):
        raise ValueError(
            f"lipschitz is the constant of the product rule; it cannot be "
            f"combined with bound={bound!r} (use bound='product').")
    X = _data_tensor(resolved, module, X)
    labels = _labels(resolved, X, y)
    with torch.no_grad(), evaluating(module):
        gaps = _gaps(module, X, labels)
        used, thresholds = _thresholds(bound, resolved, module, X, labels,
                                       lipschitz, radii.reshape(-1), gaps)
    # Strict inequality: a margin of exactly 0 is a tie, not a prediction.
    certified = np.stack([(gaps > threshold).all(axis=1)
                          for threshold in thresholds], axis=1)
    return Certificate(radii.reshape(-1).copy(), certified,
                       certified.mean(axis=0), used)


def certified_accuracy(model, X, y, eps, *, lipschitz=None, bound="auto"):
    """Share of points whose prediction is provably constant within a radius.

    A point is certified at radius ``eps`` when it is classified correctly
    and no perturbation of Euclidean norm ``eps`` can change its
    prediction, as proved by :func:`certify` from the logit margins and a
    Lipschitz bound. By default (``bound="auto"``) that is the tightest
    bound the network admits: ``"local"`` for a chain of linear layers and
    ReLUs (sklip's default :class:`~sklip.modules.MLP` with ReLU),
    ``"pairwise"`` for another chain ending in a linear layer (a
    convolutional network, :class:`~sklip.modules.OneLipschitzMLP`), and
    otherwise ``"product"``: the margin (true-class logit minus the largest
    other logit) must exceed ``√2 · L · eps``, ``L`` an upper bound of the
    network's Lipschitz constant. With ``lipschitz`` given, ``"auto"`` is
    ``"product"`` with that ``L``.

    Parameters
    ----------
    model : fitted classifier, Pipeline or torch.nn.Module
        A model with a torch network (see :ref:`any-model`); a
        pipeline's preprocessing is part of the certified function, so
        ``eps`` is in the units of the raw ``X``. A module must output one
        logit per class, and ``y`` then holds class indices. Evaluated in
        evaluation mode.
    X : array-like or torch.Tensor of shape (n_samples, ...)
        Inputs.
    y : array-like of shape (n_samples,)
        True labels (an estimator's class labels, or class indices for a
        module).
    eps : float or array-like of float
        Radius or radii ``eps >= 0`` (Euclidean norm, in input units).
    lipschitz : float or None, default=None
        The Lipschitz bound ``L`` of the product rule; ``None`` computes
        :func:`lipschitz_upper_bound` of ``model`` (for inputs shaped like
        ``X``) where that rule is used. A smaller value (e.g. an
        estimate) gives a larger number that is no longer a certificate.
    bound : {"auto", "local", "pairwise", "product"}, default="auto"
        The bound, as for :func:`certify`.

    Returns
    -------
    float or ndarray of shape (n_eps,)
        A float for a scalar ``eps``, an array for an array of radii. At
        ``eps = 0`` it is the clean accuracy, except for points whose top
        two logits tie; it does not increase with ``eps``.

    Raises
    ------
    ValueError
        For an unknown ``bound``, ``lipschitz`` with a bound other than
        ``"product"``, a negative or non-finite ``eps`` or ``lipschitz``,
        1-D or non-finite ``X``, labels that do not match ``X`` or the
        model.
    TypeError
        For a regressor, a ``bound`` that does not apply to the network,
        or a network whose bound is not computable (pass ``lipschitz``
        then).
    sklearn.exceptions.NotFittedError
        For an unfitted estimator.

    See Also
    --------
    certify : Which points are certified, and by which bound.

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
    accuracy = certify(model, X, y, eps, bound=bound,
                       lipschitz=lipschitz).accuracy.copy()
    return float(accuracy[0]) if np.ndim(eps) == 0 else accuracy


def _radii(eps):
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
    return radii


def _labels(model, X, y):
    y = target_tensor(model, y)
    if y.dim() != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must be 1-D with one label per sample of X ({X.shape[0]}), "
            f"got shape {tuple(y.shape)}.")
    return y


def _gaps(module, X, labels):
    """``f_y - f_j`` per sample and class, ``inf`` for ``j = y``."""
    logits = module(X).reshape(X.shape[0], -1).double()
    n_classes = logits.shape[1]
    if labels.is_floating_point() or n_classes < 2:
        raise ValueError(
            "certified accuracy needs class indices y and a network with one "
            f"logit per class (at least 2); got y of dtype {labels.dtype} "
            f"and {n_classes} output(s).")
    if bool(((labels < 0) | (labels >= n_classes)).any()):
        raise ValueError(
            f"y holds class indices outside [0, {n_classes}) of the network's "
            "logits.")
    true = logits.gather(1, labels.view(-1, 1))
    gaps = (true - logits).scatter(1, labels.view(-1, 1), math.inf)
    return gaps.cpu().numpy()


def _thresholds(bound, model, module, X, labels, lipschitz, radii, gaps):
    """The bound used and, per radius, what each margin must exceed."""
    if bound == "auto":
        bound = "product" if lipschitz is not None else _tightest(module, X)
    if bound == "product":
        if lipschitz is None:
            lipschitz = lipschitz_upper_bound(
                model, input_shape=tuple(X.shape[1:]))
        return bound, [math.sqrt(2) * lipschitz * r for r in radii]
    # The plan first: asking for "local" names the layer that rules it out.
    steps = local_plan(module, X) if bound == "local" else None
    pairwise = pairwise_constants(*final_linear(module, X))[labels]
    if bound == "pairwise":
        pairwise = pairwise.cpu().numpy()
        return bound, [r * pairwise for r in radii]
    pairwise = pairwise.cpu()
    return bound, [0.0 if r == 0 else _local_thresholds(
        steps, X, labels, float(r), torch.from_numpy(gaps), pairwise)
        for r in radii]


def _tightest(module, X):
    for bound, check in (("local", local_plan), ("pairwise", final_linear)):
        try:
            check(module, X)
        except NotApplicable:
            continue
        return bound
    return "product"


def _local_thresholds(steps, X, labels, eps, gaps, pairwise):
    """``eps · min(local, pairwise)`` wherever it decides the certificate.

    The local constants never exceed the pairwise ones in exact arithmetic
    (the minimum keeps that true after rounding), so a point the pairwise
    bound certifies, or one misclassified, is decided by the pairwise
    threshold already. Of the others, a point whose margin falls short of
    a cheap lower bound of the local threshold is refused by it; only the
    rest get the exact local constants. The certified points are those the
    exact local thresholds of every point would give.
    """
    thresholds = eps * pairwise
    open_points = ((gaps > 0).all(dim=1)
                   & ~(gaps > thresholds).all(dim=1)).nonzero().flatten()
    flat = X.reshape(X.shape[0], -1).double()
    for start in range(0, open_points.shape[0], _LOCAL_CHUNK):
        rows = open_points[start:start + _LOCAL_CHUNK]
        lower = local_lower_constants(steps, flat[rows], labels[rows], eps)
        close = (gaps[rows] > eps * torch.minimum(
            lower.cpu(), pairwise[rows])).all(dim=1)
        rows = rows[close.to(rows.device)]
        if rows.numel():
            local = local_constants(steps, flat[rows], labels[rows], eps)
            thresholds[rows.cpu()] = eps * torch.minimum(local.cpu(),
                                                         pairwise[rows.cpu()])
    return thresholds.numpy()
