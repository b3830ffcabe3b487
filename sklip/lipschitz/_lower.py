"""Empirical lower bounds of ``Lip(f)``: pair search and Jacobian norms.

Any difference quotient ``q(u, v)`` and any input-Jacobian spectral norm
``||J_f(x)||_2`` is at most ``Lip(f)``, so the largest one found is a lower
bound. The pair search is the one CLIP trains with (Bungert et al., SSVM
2021): pairs seeded from data climb ``q`` by adaptive gradient ascent.
"""

import numpy as np
from skorch.utils import is_dataset

from .._random import torch_generator
from .._models import input_tensor, resolve_model
from .._validation import check_buffer_size, check_choice, check_int
from ..functional._bounds import pair_search_bound
from ..functional._jacobian import jacobian_spectral_norms
from ._eval import evaluating, floating_dtype

__all__ = ["LOWER_BOUND_METHODS", "lipschitz_lower_bound"]

#: Values of ``method`` accepted by :func:`lipschitz_lower_bound`.
LOWER_BOUND_METHODS = ("pairs", "jacobian", "both")


def lipschitz_lower_bound(model, X, *, method="pairs", n_pairs=256,
                          n_iter=100, random_state=None):
    """Empirical lower bound of the Lipschitz constant, from data.

    Parameters
    ----------
    model : fitted estimator, Pipeline or torch.nn.Module
        A model with a torch network (see :ref:`any-model`), measured on
        the raw inputs.
        The network, measured in evaluation mode (its mode is restored).
    X : array-like or torch.Tensor of shape (n_samples, ...)
        Data the search starts from, as ``predict`` takes it.
    method : {"pairs", "jacobian", "both"}, default="pairs"
        ``"pairs"``: the largest difference quotient
        ``||f(u) - f(v)|| / ||u - v||`` found by the CLIP pair search, half of
        the pairs seeded as two data points, half as a data point and a
        nearby perturbed copy, then ``n_iter`` adaptive ascent steps.
        ``"jacobian"``: the largest spectral norm of the input Jacobian over
        the points of ``X``. ``"both"``: the larger of the two.
    n_pairs : int, default=256
        Number of pairs of the search.
    n_iter : int, default=100
        Ascent steps of the search (0 keeps the seeded pairs).
    random_state : int, RandomState or None, default=None
        Seeds the pair seeding through a local generator; the global torch
        random state is left untouched.

    Returns
    -------
    float
        A value ``<= Lip(f)`` (up to floating-point rounding). The pair
        search runs in float64 on a copy of the network: it shrinks pairs
        onto steep regions, where float32 differences would be dominated by
        rounding.

    Raises
    ------
    ValueError
        For an unknown ``method``, a non-positive ``n_pairs``, a negative
        ``n_iter``, or ``X`` that is 1-D, empty or not finite.
    sklearn.exceptions.NotFittedError
        For an unfitted estimator.

    See Also
    --------
    lipschitz_upper_bound : A guaranteed upper bound.

    Examples
    --------
    >>> import torch
    >>> from sklip.lipschitz import lipschitz_lower_bound
    >>> net = torch.nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> X = torch.randn(20, 2, generator=torch.Generator().manual_seed(0))
    >>> round(lipschitz_lower_bound(net, X, method="jacobian"), 4)
    5.0
    """
    check_choice(method, "method", LOWER_BOUND_METHODS)
    n_pairs = check_int(n_pairs, "n_pairs", min_val=1)
    n_iter = check_int(n_iter, "n_iter", min_val=0)
    resolved = resolve_model(model)
    resolved.require_gradients("lipschitz_lower_bound")
    module, device = resolved.module, resolved.device
    X = _data_tensor(resolved, module, X)
    # Both ends of every pair, their gradients and the ascent's copies.
    check_buffer_size(8 * 4 * n_pairs * max(1, X[0].numel() if len(X) else 1),
                      "n_pairs", n_pairs)
    bounds = []
    with evaluating(module):
        if method in ("pairs", "both"):
            generator = torch_generator(random_state, device)
            bounds.append(pair_search_bound(module, X, n_pairs, n_iter,
                                                generator))
        if method in ("jacobian", "both"):
            bounds.append(float(jacobian_spectral_norms(module, X).max()))
    return max(bounds)


def _data_tensor(model, module, X):
    if not is_dataset(X) and np.ndim(X) < 2:
        raise ValueError(
            f"X must have shape (n_samples, n_features, ...), got a "
            f"{np.ndim(X)}-D input; reshape a single feature with "
            "X.reshape(-1, 1) and a single sample with X.reshape(1, -1).")
    return input_tensor(model, X).to(floating_dtype(module))
