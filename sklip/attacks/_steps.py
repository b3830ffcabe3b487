"""The geometry of a gradient step, shared by the gradient attacks.

The input gradient of a loss (:func:`loss_and_grad`), the unit direction
of steepest ascent in the L2 or L∞ norm (:func:`steepest_direction`) and
uniform random points of a ball (:func:`random_in_ball`), all on whole
batches.
"""

import torch

__all__ = ["loss_and_grad", "steepest_direction", "random_in_ball"]


def _expand(values, like):
    """Per-sample ``values`` broadcastable against the batch ``like``."""
    return values.view(-1, *([1] * (like.dim() - 1)))


def loss_and_grad(module, X, y, loss_fn, *, return_losses=False):
    """Outputs at ``X`` and the gradient of the summed loss w.r.t. ``X``.

    Only the input is differentiated (``torch.autograd.grad``), so the
    weights' ``.grad`` is never touched, even inside a training step. With
    ``return_losses=True`` the detached per-sample losses (float) come
    third.
    """
    with torch.enable_grad():
        X = X.detach().requires_grad_(True)
        outputs = module(X)
        losses = loss_fn(outputs, y)
        (grad,) = torch.autograd.grad(losses.sum(), X)
    if return_losses:
        return outputs.detach(), grad, losses.detach().float()
    return outputs.detach(), grad


def steepest_direction(grad, norm):
    """Unit-norm direction of steepest ascent for the given norm.

    ``sign(grad)`` for the maximum norm, ``grad / ||grad||_2`` for the
    Euclidean norm (a zero gradient gives a zero step, as in ART).
    """
    if norm == "inf":
        return grad.sign()
    length = grad.flatten(1).norm(dim=1)
    scale = torch.where(length > 0, 1.0 / length, torch.zeros_like(length))
    return grad * _expand(scale, grad)


def random_in_ball(X, eps, norm, generator):
    """Perturbations drawn uniformly from the ``eps``-ball of ``norm``."""
    kwargs = {"generator": generator, "device": X.device, "dtype": X.dtype}
    if norm == "inf":
        return (2 * torch.rand(X.shape, **kwargs) - 1) * eps
    direction = torch.randn(X.shape, **kwargs)
    direction = direction / _expand(
        direction.flatten(1).norm(dim=1).clamp_min(1e-30), X)
    # The radius of a uniform point of the d-ball is eps * U^(1/d).
    d = X[0].numel()
    radius = eps * torch.rand(X.shape[0], **kwargs).pow(1.0 / d)
    return direction * _expand(radius, X)

