"""Margin bounds tighter than the product of layer norms.

A point ``x`` of class ``y`` keeps its prediction within radius ``eps``
when every margin ``f_y - f_j`` stays positive there, which holds when
``f_y(x) - f_j(x) > eps · c_yj`` for a bound ``c_yj`` of the Lipschitz
constant of ``f_y - f_j`` (on the ball). The functions here return these
constants, one per point and rival class:

- pairwise: with ``f = W g + b`` and ``g`` the layers before the last,
  ``f_y - f_j = (w_y - w_j)·g + const``, so ``c_yj = ||w_y - w_j||
  · Lip(g)``, ``Lip(g)`` the product of the earlier layers' norms (the
  margin bound of Leino, Wang & Fredrikson, *Globally-Robust Neural
  Networks*, ICML 2021). As ``||w_y - w_j|| <= √2 ||W||₂`` it is never
  looser than the product rule's ``√2 · Lip(f)``.
- local: on the ball ``B(x, eps)`` a ReLU whose pre-activation cannot
  become positive is constant, so it and the weights reading it drop out
  of the Lipschitz constant of the ball (the local bound of Huang, Zhang,
  Shi, Kolter & Anandkumar, *Training Certifiably Robust Neural Networks
  with Efficient Local Lipschitz Bounds*, NeurIPS 2021). Layer by layer,
  ``L_k`` bounds the Lipschitz constant on the ball of the map from the
  input to the k-th activations, neuron ``i`` of the next layer lies in
  ``z_i(x) ± eps · ||W_i,live|| · L_k`` and is dead if that interval has
  no positive part, and ``L_k+1 <= ||D_out W D_in||₂ · L_k`` with the
  diagonal masks ``D`` keeping the live neurons. The masked spectral norms
  are exact eigenvalues (a power iteration would approach them from
  below, which is not a bound), computed in float64 and rounded up.

The exact eigenvalues are the cost of the local bound. A power iteration
does give a *lower* bound of each masked norm, and the same propagation
with lower bounds (and the smaller live sets they imply) gives a lower
bound of the local constant (:func:`local_lower_constants`): a point whose
margin already falls short of that needs no exact eigenvalues to be
refused.
"""

import torch

from ._chain_plan import LinearStep
from ._upper import _bound

__all__ = ["pairwise_constants", "local_constants", "local_lower_constants"]

# Rounding allowance: float64 sums of a few thousand terms err by far less
# than 1e-9 of their magnitude, so inflating every radius and norm by this
# keeps the bounds on the safe side of the exact values.
_RELATIVE_SLACK = 1e-9
_ABSOLUTE_SLACK = 1e-12

# Elements of the largest temporary (float64) built at once.
_PIECE_ELEMENTS = 1 << 22

#: Power iteration settings for size-dependent layers before the last one,
#: those of lipschitz_upper_bound's defaults.
_POWER_ITERATION = {"n_iter": 500, "tol": 1e-9}

# Power iterations of the lower bounds: a few bring ||M v|| / ||v|| within
# a few per cent of ||M||, which is all a screen needs.
_LOWER_ITERATIONS = 8
_START_ITERATIONS = 20

# The lower bounds are shrunk by this factor, far more than any rounding
# of the float64 sums can move them, so they stay below the exact bounds.
_LOWER_SHRINK = 1 - 1e-6


def _round_up(value):
    return value * (1 + _RELATIVE_SLACK) + _ABSOLUTE_SLACK


def _pieces(n, elements_per_item):
    """Slices of ``range(n)`` whose temporaries stay below the budget."""
    step = max(1, _PIECE_ELEMENTS // max(1, elements_per_item))
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


def pairwise_constants(prefix, weight):
    """``||w_y - w_j|| · L_pre`` for every pair of classes.

    Parameters
    ----------
    prefix : list of (str, torch.nn.Module, tuple)
        The layers before the last linear one, with their input shapes.
    weight : torch.Tensor of shape (n_classes, n_features)
        The last linear layer's weight, float64.

    Returns
    -------
    torch.Tensor of shape (n_classes, n_classes)
        Row ``y``, column ``j``: the bound of ``Lip(f_y - f_j)``.
    """
    before = 1.0
    for path, layer, shape in prefix:
        constant, _ = _bound(layer, shape, path, _POWER_ITERATION)
        before *= constant
    differences = weight[:, None, :] - weight[None, :, :]
    return torch.linalg.vector_norm(differences, dim=2) * before


def _pair_norms(weight, labels, live):
    """``||(w_y - w_j) ⊙ live||`` per point and class: the rows' difference
    restricted to the inputs that can vary on the ball."""
    n, n_classes = labels.shape[0], weight.shape[0]
    norms = weight.new_empty((n, n_classes))
    for piece in _pieces(n, weight.numel()):
        differences = (weight[labels[piece], None, :] - weight[None]) \
            * live[piece, None, :]
        norms[piece] = torch.linalg.vector_norm(differences, dim=2)
    return _round_up(norms)


def masked_spectral_norms(weight, out_live, in_live):
    """``||diag(out_live) · W · diag(in_live)||₂`` per point, rounded up.

    The largest eigenvalue of the Gram matrix of the smaller side, with the
    live neurons gathered to the front so that the batch of symmetric
    eigenproblems is only as large as the most live neurons of any point.

    Parameters
    ----------
    weight : torch.Tensor of shape (n_out, n_in)
        Float64.
    out_live : torch.Tensor of bool, shape (n, n_out)
    in_live : torch.Tensor of bool, shape (n, n_in)

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    if out_live.sum(1).max() > in_live.sum(1).max():
        weight, out_live, in_live = weight.T, in_live, out_live
    n, size = out_live.shape[0], int(out_live.sum(1).max())
    if size == 0:
        return weight.new_zeros(n)
    # A stable sort of "dead" puts each point's live rows first, in order.
    order = torch.argsort((~out_live).to(torch.int8), dim=1,
                          stable=True)[:, :size]
    valid = out_live.gather(1, order).to(weight.dtype)
    if bool(in_live.all()):
        full = weight @ weight.T
        gram = full[order[:, :, None], order[:, None, :]]
    else:
        gram = weight.new_empty((n, size, size))
        in_live = in_live.to(weight.dtype)
        for piece in _pieces(n, size * weight.shape[1]):
            rows = weight[order[piece]] * in_live[piece, None, :]
            gram[piece] = rows @ rows.transpose(1, 2)
    gram.mul_(valid[:, :, None]).mul_(valid[:, None, :])
    top = torch.linalg.eigvalsh(gram)[:, -1].clamp_min(0)
    return _round_up(top.sqrt())


def masked_norm_lower_bounds(weight, out_live, in_live):
    """Lower bounds of ``||diag(out_live) · W · diag(in_live)||₂`` per point.

    ``||M v||`` for a unit ``v`` after a few power iterations, started from
    (an estimate of) the top right singular vector of the whole weight
    restricted to the live inputs; any unit ``v`` gives a lower bound.

    Parameters
    ----------
    weight : torch.Tensor of shape (n_out, n_in)
        Float64.
    out_live : torch.Tensor of bool, shape (n, n_out)
    in_live : torch.Tensor of bool, shape (n, n_in)

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    out_mask, in_mask = out_live.to(weight.dtype), in_live.to(weight.dtype)
    # The start only steers the iteration: a power iteration on the whole
    # weight is far cheaper than its SVD, which is computed per chunk.
    start = weight.new_ones(weight.shape[1])
    for _ in range(_START_ITERATIONS):
        start = weight.T @ (weight @ start)
        start = start / start.norm().clamp_min(1e-300)
    v = in_mask * start
    for _ in range(_LOWER_ITERATIONS):
        v = ((v @ weight.T) * out_mask) @ weight * in_mask
        # A point without live neurons keeps v = 0, and its bound is 0.
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-300)
    return ((v @ weight.T) * out_mask).norm(dim=1)


def _linear_step(step, h, lip, live, eps, norms=masked_spectral_norms):
    """Values at the centre, Lipschitz bound on the ball and live mask after
    a linear layer (and its ReLU)."""
    z = h @ step.weight.T + step.bias
    out_live = torch.ones_like(z, dtype=torch.bool)
    if step.relu:
        rows = (live.double() @ step.weight.square().T).sqrt()
        # Slack for the rounding of z itself, relative to the terms summed.
        rounding = _RELATIVE_SLACK * (h.abs() @ step.weight.abs().T
                                      + step.bias.abs())
        upper = z + _round_up(eps * lip[:, None] * rows) + rounding
        out_live = upper > 0
        z = z.clamp_min(0)
    lip = lip * norms(step.weight, out_live, live)
    return z, lip, out_live


def _relu_step(h, lip, live, eps):
    # Each coordinate moves by at most the whole activation's change.
    upper = h + _round_up(lip * eps)[:, None] + _RELATIVE_SLACK * h.abs()
    return h.clamp_min(0), lip, live & (upper > 0)


def local_constants(steps, x, labels, eps):
    """The local bound of ``Lip(f_y - f_j)`` on ``B(x, eps)`` per point.

    Parameters
    ----------
    steps : list of LinearStep or ReLUStep
        From :func:`~sklip.lipschitz._chain_plan.local_plan`.
    x : torch.Tensor of shape (n, n_features)
        Flattened inputs, float64.
    labels : torch.Tensor of shape (n,)
        Class indices.
    eps : float
        Radius of the ball, > 0.

    Returns
    -------
    torch.Tensor of shape (n, n_classes)
    """
    return _propagate(steps, x, labels, eps, masked_spectral_norms)


def local_lower_constants(steps, x, labels, eps):
    """A lower bound of :func:`local_constants`, without eigenvalues.

    Each masked norm is replaced by a lower bound, which also shrinks the
    live sets of the layers after it; every quantity of the propagation
    then stays at or below its value in :func:`local_constants` (masked
    norms only grow with their masks). Same parameters and shape.
    """
    return _LOWER_SHRINK * _propagate(steps, x, labels, eps,
                                      masked_norm_lower_bounds)


def _propagate(steps, x, labels, eps, norms):
    h, lip = x, x.new_ones(x.shape[0])
    live = torch.ones_like(x, dtype=torch.bool)
    for step in steps[:-1]:
        if isinstance(step, LinearStep):
            h, lip, live = _linear_step(step, h, lip, live, eps, norms)
        else:
            h, lip, live = _relu_step(h, lip, live, eps)
    return lip[:, None] * _pair_norms(steps[-1].weight, labels, live)
