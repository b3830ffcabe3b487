"""Input-Jacobian norms of a network: Frobenius (exact or from random
projections) and spectral.

``||J_f(x)||_F``, the Frobenius norm of the Jacobian of the network output
with respect to its input, is TV's penalty (the slides' "FLIP: From Sum FLIP
to Total Variation"); above a number of outputs its square is estimated from
random projections, ``||J||_F**2 = k * E_v ||v^T J||**2`` for ``v`` uniform on
the unit sphere of R^k (Hoffman, Roberts & Yaida, *Robust Learning with
Jacobian Regularization*, arXiv:1908.02729, 2019).
"""

import torch

__all__ = ["input_jacobian_norms", "jacobian_spectral_norms"]

# Largest number of Jacobian entries held at once (32 MiB in float64).
_MAX_JACOBIAN_ENTRIES = 2 ** 22

# Added under the square root: the derivative of sqrt at 0 is infinite, and a
# network that is flat at a point (a dead ReLU region) would otherwise send a
# NaN into the weights.
_SQRT_EPS = 1e-12


def input_jacobian_norms(module, X, *, max_exact_outputs=None,
                         n_projections=1, create_graph=False, generator=None):
    """Outputs and input-Jacobian norms of a network at every point of ``X``.

    The outputs and the Jacobians come from one forward pass, so a caller
    that needs both (a training step) pays for the forward only once.

    Parameters
    ----------
    module : torch.nn.Module
        The network ``f``.
    X : torch.Tensor of shape (n, *input_shape)
        Points at which the Jacobian is taken.
    max_exact_outputs : int or None, default=None
        Largest number of outputs ``k`` for which the Frobenius norm is
        computed exactly (``k`` vector-Jacobian products); above it the
        random-projection estimate is used. ``None``: always exact.
    n_projections : int, default=1
        Number of random unit directions of the estimate.
    create_graph : bool, default=False
        Keep the norms in the autograd graph, so that they can be
        differentiated with respect to the weights.
    generator : torch.Generator or None, default=None
        Source of the random projections (on ``X``'s device); ``None``
        draws from torch's global generator.

    Returns
    -------
    out : torch.Tensor of shape (n, *output_shape)
        ``module(X)``, in the autograd graph.
    norms : torch.Tensor of shape (n,)
        ``||J_f(x_i)||_F`` (exact or estimated) for every point.

    Examples
    --------
    >>> import torch
    >>> from sklip.functional import input_jacobian_norms
    >>> layer = torch.nn.Linear(2, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[3.0, 4.0]]))
    >>> out, norms = input_jacobian_norms(layer, torch.zeros(5, 2))
    >>> norms.round().tolist()
    [5.0, 5.0, 5.0, 5.0, 5.0]
    """
    X = X.detach().requires_grad_(True)
    with torch.enable_grad():
        out = module(X)
        flat = out.reshape(out.shape[0], -1)
        n, k = flat.shape
        if max_exact_outputs is None or k <= max_exact_outputs:
            # Row j of every sample's Jacobian at once: the samples do not
            # interact, so the gradient of the column sum is the batch of rows.
            scalars = [flat[:, j].sum() for j in range(k)]
            scale = 1.0
        else:
            v = torch.randn((n_projections, n, k), device=flat.device,
                            dtype=flat.dtype, generator=generator)
            v = v / v.norm(dim=2, keepdim=True)
            scalars = [(flat * v[j]).sum() for j in range(n_projections)]
            scale = k / n_projections
        squares = None
        # A loop over outputs or projections, never over samples. On CPU it
        # measured faster than one vmapped call (is_grads_batched=True).
        for scalar in scalars:
            # retain_graph: the clean loss is later backpropagated through
            # the same forward pass.
            (grad,) = torch.autograd.grad(scalar, X, create_graph=create_graph,
                                          retain_graph=True)
            term = grad.flatten(1).square().sum(1)
            squares = term if squares is None else squares + term
        norms = (scale * squares + _SQRT_EPS).sqrt()
    return out, norms


def jacobian_spectral_norms(module, X, outputs=None):
    """Spectral norm of the input Jacobian of every sample of ``X``.

    The Jacobian of each sample is assembled from one vector-Jacobian
    product per output, taken on the whole chunk at once: in evaluation
    mode the samples of a batch do not interact, so the gradient of the sum
    of output ``i`` over the batch is row ``i`` of every sample's Jacobian.
    Only the inputs are differentiated, so the weights get no gradient.

    Parameters
    ----------
    module : torch.nn.Module
        The network, already in evaluation mode.
    X : torch.Tensor of shape (n, *input_shape)
        The points.
    outputs : list or None
        If given, the detached outputs of every chunk are appended to it
        (flattened to ``(chunk, n_outputs)``), saving a second forward pass.

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    n = X.shape[0]
    n_inputs = max(1, X[0].numel())
    with torch.no_grad():
        n_outputs = max(1, module(X[:1]).numel())
    # Chunking bounds the memory of the (chunk, n_outputs, n_inputs) stack.
    chunk = max(1, min(n, _MAX_JACOBIAN_ENTRIES // (n_outputs * n_inputs)))
    norms = []
    for start in range(0, n, chunk):
        x = X[start:start + chunk].detach().requires_grad_(True)
        with torch.enable_grad():
            out = module(x).reshape(x.shape[0], -1)
            rows = []
            for i in range(out.shape[1]):
                grad = None
                if out.requires_grad:
                    grad, = torch.autograd.grad(
                        out[:, i].sum(), x, retain_graph=i < out.shape[1] - 1,
                        allow_unused=True)
                # An output that does not depend on the input has a zero row.
                rows.append(torch.zeros_like(x) if grad is None else grad)
        jacobian = torch.stack([row.flatten(1) for row in rows], dim=1)
        norms.append(torch.linalg.matrix_norm(jacobian, ord=2))
        if outputs is not None:
            outputs.append(out.detach())
    return torch.cat(norms)
