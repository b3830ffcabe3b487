"""The exact Lipschitz constant of a network with one input, on an interval.

In one dimension ``f(b) - f(a)`` is the integral of ``f'`` over ``[a, b]``,
so the Lipschitz constant on an interval is the largest ``||f'(x)||`` there,
which a fine grid finds.
"""

import copy

import torch

from .._models import resolve_model
from .._validation import check_buffer_size, check_int, check_real
from ..functional._jacobian import jacobian_spectral_norms
from ._eval import evaluating, floating_dtype

__all__ = ["lipschitz_exact_1d"]

# Grid points differentiated together.
_GRID_CHUNK = 8192


def lipschitz_exact_1d(model, low, high, n_points=100_001):
    """Exact Lipschitz constant on ``[low, high]`` of a one-input network.

    The constant of a function of one variable on an interval is the
    largest norm of its derivative there (``||f(b) - f(a)|| <=
    ∫ ||f'|| <= (b - a) max ||f'||``, with equality approached near the
    maximiser). This function evaluates ``||f'(x)||`` by autograd (the
    Euclidean norm of the derivative vector for several outputs) on a grid
    of ``n_points`` equally spaced points and returns its maximum, together
    with the largest difference quotient between neighbouring grid points.

    Why the grid is exact for ReLU networks: such a network is piecewise
    linear, so ``f'`` is constant on finitely many pieces. Every piece wider
    than the grid step ``h`` contains a grid point, where autograd returns
    its slope exactly. A steeper piece narrower than ``h`` can fall between
    grid points; the difference quotient across that cell is the average of
    the slopes over the cell, so it still sees the piece, diluted only by
    the part of the cell of width ``h`` that the piece does not fill.
    Outside its outermost kink a ReLU network is affine, so an interval
    that contains every kink gives the global constant. For a smooth
    network (tanh, sigmoid) the grid maximum is within ``h · max||f''||``
    of the supremum on the interval.

    The network is evaluated in float64, on a copy, so that rounding does
    not disturb the difference quotients of nearby points.

    Parameters
    ----------
    model : fitted estimator, Pipeline or torch.nn.Module
        A model with a torch network (see :ref:`any-model`).
        A network with one input feature, taking inputs of shape
        ``(n_samples, 1)``; measured in evaluation mode.
    low, high : float
        The interval, ``low < high``.
    n_points : int, default=100_001
        Grid size (at least 2); the step is ``(high - low) / (n_points - 1)``.

    Returns
    -------
    float
        ``Lip(f)`` restricted to ``[low, high]``.

    Raises
    ------
    ValueError
        If the model's input is not 1-D, ``low >= high``, or ``n_points < 2``.
    sklearn.exceptions.NotFittedError
        For an unfitted estimator.

    Examples
    --------
    >>> import torch
    >>> from sklip.lipschitz import lipschitz_exact_1d
    >>> net = torch.nn.Sequential(torch.nn.Linear(1, 1), torch.nn.ReLU())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.fill_(-2.0)
    >>> round(lipschitz_exact_1d(net, -1.0, 1.0), 6)
    2.0
    """
    low = check_real(low, "low")
    high = check_real(high, "high")
    if not low < high:
        raise ValueError(f"low must be smaller than high, got low={low} and "
                         f"high={high}.")
    n_points = check_int(n_points, "n_points", min_val=2)
    # The float64 grid, its outputs and their differences.
    check_buffer_size(8 * 4 * n_points, "n_points", n_points)
    resolved = resolve_model(model)
    resolved.require_gradients("lipschitz_exact_1d")
    module, device = resolved.module, resolved.device
    _check_one_input(resolved)
    # The copy is in float64 and in evaluation mode; the caller's module is
    # left exactly as it was.
    module = copy.deepcopy(module).double()
    grid = torch.linspace(low, high, n_points, dtype=torch.float64,
                          device=device).unsqueeze(1)
    slopes, outputs = [], []
    with evaluating(module):
        for start in range(0, n_points, _GRID_CHUNK):
            slopes.append(jacobian_spectral_norms(
                module, grid[start:start + _GRID_CHUNK], outputs))
    values = torch.cat(outputs)
    step = (high - low) / (n_points - 1)
    quotients = (values[1:] - values[:-1]).norm(dim=1) / step
    return max(float(torch.cat(slopes).max()), float(quotients.max()))


def _check_one_input(resolved):
    module, device = resolved.module, resolved.device
    if resolved.input_shape is not None:
        shape = tuple(resolved.input_shape)
        if shape != (1,):
            raise ValueError(
                "lipschitz_exact_1d needs a model with a 1-D input (one "
                f"feature); this {type(resolved.estimator).__name__} was "
                f"fitted on inputs of shape {shape}.")
        return
    try:
        with torch.no_grad(), evaluating(module):
            module(torch.zeros(2, 1, dtype=floating_dtype(module),
                               device=device))
    except RuntimeError as error:
        raise ValueError(
            "lipschitz_exact_1d needs a model with a 1-D input (one "
            f"feature), but {type(module).__name__} cannot take inputs of "
            f"shape (n_samples, 1): {error}") from error
