"""Evaluating a network as ``predict`` does, with input derivatives only.

Every estimate of :mod:`sklip.lipschitz` is of the function the fitted model
computes at prediction time, so dropout must be off and batch normalisation
must use its running statistics. The caller's module may be in training
mode (a module between epochs); its per-submodule modes are restored, and
its weights never receive a gradient.
"""

from contextlib import contextmanager

import torch

__all__ = ["evaluating", "floating_dtype", "jacobian_spectral_norms"]

# Largest number of Jacobian entries held at once (32 MiB in float64).
_MAX_JACOBIAN_ENTRIES = 2 ** 22


@contextmanager
def evaluating(module):
    """Put every submodule of ``module`` in evaluation mode, then restore."""
    modes = [(sub, sub.training) for sub in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for sub, training in modes:
            sub.training = training


def floating_dtype(module, default=torch.float32):
    """The dtype of the module's first floating parameter or buffer."""
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return default


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
