"""The pair-search lower bound of ``Lip(f)``, shared by every caller.

Any difference quotient ``q(u, v)`` is at most ``Lip(f)``, so the largest
one found by the CLIP pair search (Bungert et al., SSVM 2021), seeded from
data and pushed uphill by adaptive gradient ascent, is a lower bound. This
is the one implementation: :func:`sklip.lipschitz.lipschitz_lower_bound`
and the training history's ``lipschitz`` entry both call it, so the same
network, data and settings give the same number.
"""

import copy

import torch

from ._quotients import ascend_pairs, keep_apart
from ._seeding import data_scale, seed_pairs

__all__ = ["pair_search_bound"]

# Pairs ascended together; bounds the memory of one forward/backward pass.
_PAIR_CHUNK = 1024
# Initial step length of every pair, relative to the data's spread.
_RELATIVE_STEP = 0.1
# Closest two points of a pair may come, relative to the data's spread.
_RELATIVE_MIN_DISTANCE = 1e-6


def pair_search_bound(module, X, n_pairs=256, n_iter=100, generator=None):
    """Largest difference quotient found by the pair search from ``X``.

    Half of the pairs are seeded as two data points, half as a data point
    and a nearby perturbed copy; then ``n_iter`` adaptive ascent steps.

    Parameters
    ----------
    module : torch.nn.Module
        The network, measured as it is (put it in evaluation mode first to
        measure the function ``predict`` uses). It is not changed: the
        search runs in float64 on a copy, because it shrinks pairs onto
        steep regions, where float32 differences would be dominated by
        rounding.
    X : torch.Tensor of shape (n_samples, *input_shape)
        Data the pairs are seeded from, on the module's device.
    n_pairs : int, default=256
        Number of pairs.
    n_iter : int, default=100
        Ascent steps (0 keeps the seeded pairs).
    generator : torch.Generator or None, default=None
        Source of the seeding draws (on ``X``'s device); ``None`` draws
        from torch's global generator.

    Returns
    -------
    float
        A value ``<= Lip(f)`` up to floating-point rounding; 0 when no pair
        gave a finite quotient.

    Examples
    --------
    >>> import torch
    >>> from sklip.functional import pair_search_bound
    >>> net = torch.nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> X = torch.randn(20, 2, generator=torch.Generator().manual_seed(0))
    >>> round(pair_search_bound(net, X, n_pairs=8, n_iter=20), 4)
    5.0
    """
    # A floor on the pair distance keeps the quotient meaningful when the
    # ascent shrinks a pair onto a steep region.
    module = copy.deepcopy(module).double()
    X = X.detach().double()
    scale = float(data_scale(X))
    project = keep_apart(_RELATIVE_MIN_DISTANCE * scale)
    # Pairs of distinct data points probe the slope between data; pairs of a
    # point and a close copy probe the local slope, which is often larger.
    n_local = n_pairs // 2
    u1, v1 = seed_pairs(X, n_pairs - n_local, "plain", generator=generator)
    u2, v2 = seed_pairs(X, n_local, "partial_random", generator=generator)
    u, v = torch.cat([u1, u2]), torch.cat([v1, v2])
    step = _RELATIVE_STEP * scale
    best = 0.0
    for start in range(0, n_pairs, _PAIR_CHUNK):
        stop = start + _PAIR_CHUNK
        steps = torch.full((u[start:stop].shape[0],), step, device=X.device,
                           dtype=X.dtype)
        _, _, q, _ = ascend_pairs(module, u[start:stop], v[start:stop],
                                  steps, n_iter=n_iter, project=project)
        # A pair whose quotient diverged (NaN) carries no information.
        q = q[torch.isfinite(q)]
        if q.numel():
            best = max(best, float(q.max()))
    return best
