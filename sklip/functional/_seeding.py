"""Starting pairs for the pair searches, drawn from data.

The CLIP pair search (Bungert et al., *CLIP: Cheap Lipschitz Training of
Neural Networks*, SSVM 2021) starts from pairs of inputs taken from the
data: two data points, a data point and a noisy copy, or two Gaussian
points with the data's statistics. Every draw comes from the generator
passed in, never from torch's global random state.
"""

import torch

from ._quotients import _MIN_DISTANCE, _expand

__all__ = ["PAIR_INITS", "seed_pairs", "data_scale"]

#: Ways to seed the pairs from data (SPEC §2).
PAIR_INITS = ("plain", "partial_random", "noise")


def seed_pairs(X, n_pairs, init="plain", noise_scale=0.1, generator=None):
    """Draw ``n_pairs`` starting pairs from the data ``X``.

    Parameters
    ----------
    X : torch.Tensor of shape ``(n, *input_shape)``
        Data to seed from (a training batch).
    n_pairs : int
        Number of pairs.
    init : {"plain", "partial_random", "noise"}, default="plain"
        ``"plain"`` pairs two different data points; ``"partial_random"``
        pairs a data point with a copy moved by Gaussian noise of standard
        deviation ``noise_scale`` times the data's standard deviation;
        ``"noise"`` draws both points from a Gaussian with the data's
        per-feature mean and standard deviation.
    noise_scale : float, default=0.1
        Relative noise level of ``"partial_random"``.
    generator : torch.Generator or None
        Source of randomness (on ``X``'s device).

    Returns
    -------
    u, v : torch.Tensor of shape ``(n_pairs, *input_shape)``
    """
    if init not in PAIR_INITS:
        raise ValueError(
            f"pair init must be one of {list(PAIR_INITS)}, got {init!r}.")
    n = X.shape[0]
    device = X.device

    def randint(size):
        return torch.randint(n, (size,), device=device, generator=generator)

    def randn(like):
        return torch.randn(like.shape, device=device, dtype=like.dtype,
                           generator=generator)

    if init == "noise":
        mean = X.mean(0, keepdim=True)
        std = X.std(0, keepdim=True) if n > 1 else torch.ones_like(mean)
        u = mean + std * randn(X[:1].expand(n_pairs, *X.shape[1:]))
        v = mean + std * randn(u)
        return u, v
    first = randint(n_pairs)
    if init == "plain" and n > 1:
        # Offsetting the second index by 1..n-1 never pairs a point with itself.
        offset = 1 + torch.randint(n - 1, (n_pairs,), device=device,
                                   generator=generator)
        u, v = X[first], X[(first + offset) % n]
    else:
        u = X[first]
        v = u + noise_scale * data_scale(X) * randn(u)
    # Identical points (duplicated rows) have no quotient: nudge them apart.
    same = (u - v).flatten(1).norm(dim=1) <= _MIN_DISTANCE
    if bool(same.any()):
        v = torch.where(_expand(same, v),
                        v + noise_scale * data_scale(X) * randn(v), v)
    return u, v


def data_scale(X):
    """Overall spread of the data (standard deviation of all entries)."""
    scale = X.std() if X.numel() > 1 else X.abs().max()
    return scale if float(scale) > 0 else torch.ones((), device=X.device)
