"""Points on the spheres around data points, for pTV's pairs.

pTV (the slides' "Projected Finite Lipschitz Total Variation") draws both
points of a pair on the sphere of radius ε around a data point and projects
them back onto it after every ascent step.
"""

import torch

__all__ = ["sphere_points", "project_to_sphere"]


def _norms(delta):
    # One norm per sample over all input dimensions, shaped to broadcast.
    norms = delta.flatten(1).norm(dim=1)
    return norms.view(-1, *([1] * (delta.dim() - 1)))


def project_to_sphere(points, anchors, radius):
    """Project every point onto the sphere of ``radius`` around its anchor.

    Parameters
    ----------
    points, anchors : torch.Tensor of shape (n, *input_shape)
    radius : float

    Returns
    -------
    torch.Tensor of shape (n, *input_shape)
        ``anchor + radius * (point - anchor) / ||point - anchor||``. A point
        at its anchor has no direction and stays where it is.
    """
    delta = points - anchors
    norms = _norms(delta).clamp_min(torch.finfo(delta.dtype).tiny)
    return anchors + radius * delta / norms


def sphere_points(anchors, radius, generator=None):
    """One uniformly random point on the sphere of ``radius`` per anchor.

    Parameters
    ----------
    anchors : torch.Tensor of shape (n, *input_shape)
    radius : float
    generator : torch.Generator or None, default=None
        Source of the random directions (on the anchors' device); ``None``
        draws from torch's global generator.

    Returns
    -------
    torch.Tensor of shape (n, *input_shape)
    """
    # A normalised Gaussian is uniform on the sphere.
    direction = torch.randn(anchors.shape, generator=generator,
                            device=anchors.device, dtype=anchors.dtype)
    return anchors + radius * direction / _norms(direction).clamp_min(
        torch.finfo(direction.dtype).tiny)
