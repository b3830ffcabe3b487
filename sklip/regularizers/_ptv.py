"""pTV: the slides' Projected Finite Lipschitz Total Variation.

For every point ``x`` of a training batch ``B`` a pair ``(x1, x2)`` is drawn
at random on the sphere of radius ε around ``x``; the pair takes gradient
ascent steps on ``q(x1, x2)**2`` and after each step both points are
projected back onto the sphere, ``xi <- x + ε (xi - x) / ||xi - x||``. The
penalty is the mean quotient over the batch,

    R(f) = mean_{x in B} q(x1(x), x2(x)),

an estimate of ``mean_x Lip_ε^loc(f, x)``, the local Lipschitz constant on
the ε-ball. With ε shrinking every epoch it tends to the total variation
``int ||grad f(x)|| dx`` (Rudin, Osher & Fatemi, Physica D 60, 1992), which
is the point of the method: the slides' "FLIP: Cheap computation for TV" and
"FLIP: Projected Finite Lipschitz Total Variation" (algorithm). The ascent is
that of CLIP's pair search (Bungert et al., SSVM 2021), with
fixed steps as in the slides or CLIP's adaptive ones.
"""

import torch

from .._validation import check_int, check_real
from ._base import Regularizer
from ._pairs import _quotients_from_outputs, ascend_pairs, climb_pairs

__all__ = ["PTVRegularizer", "sphere_points", "project_to_sphere"]


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


def sphere_points(anchors, radius):
    """One uniformly random point on the sphere of ``radius`` per anchor.

    Parameters
    ----------
    anchors : torch.Tensor of shape (n, *input_shape)
    radius : float

    Returns
    -------
    torch.Tensor of shape (n, *input_shape)
    """
    # A normalised Gaussian is uniform on the sphere; it draws from torch's
    # global generator, which the estimator seeds from ``random_state``.
    direction = torch.randn_like(anchors)
    return anchors + radius * direction / _norms(direction).clamp_min(
        torch.finfo(direction.dtype).tiny)


class PTVRegularizer(Regularizer):
    """pTV: the mean difference quotient of pairs on the ε-spheres of a batch.

    For each training batch, every point ``x`` anchors one pair started at
    two random points of the sphere of radius ``net.epsilon_`` around ``x``;
    the pair takes ``n_iter`` gradient-ascent steps on the squared
    difference quotient, each followed by the projection of both points
    back onto the sphere, and the penalty is the mean quotient over the
    batch. The batch and the pairs go through the network in one forward
    pass.

    The rest of the slides' algorithm is the estimator's own schedule, set
    with its hyperparameters rather than here:

    - ε starts at ``epsilon`` (default :attr:`default_epsilon`) and is
      multiplied by ``epsilon_decay`` (default
      :attr:`default_epsilon_decay` = 0.9) after every epoch;
    - λ moves by ±dλ after every batch against the threshold α of the
      running training accuracy: ``target_accuracy=α``,
      ``reg_lambda_step=dλ``, ``reg_lambda_update="batch"`` (never below 0).

    Parameters
    ----------
    n_iter : int, default=1
        Gradient-ascent steps per pair and training step (0: the random
        starting points are used as they are).
    step_size : float, default=0.5
        Ascent step of a pair as a fraction of ε, so that one value fits
        every radius along the schedule.
    step_factor : float or None, default=None
        ``None``: fixed steps, each kept, as in the slides' algorithm (one
        gradient evaluation per step). A number makes the step adaptive as
        in CLIP: it grows by this factor after a step that raised the
        quotient and shrinks after one that did not, which is undone — at
        the cost of one more forward/backward pass per training step.
    min_epsilon : float, default=1e-3
        Smallest radius used: the estimator's ε is floored here. In float32
        (about 7 significant digits) the quotient of points 1e-5 apart
        already carries rounding errors of about 1 % for inputs and outputs
        of order 1, and below about 1e-7 the points round to their anchor
        and the penalty silently vanishes. With ``epsilon=1`` and the
        default decay 0.9 the floor is reached after about 65 epochs.
        0 disables the floor.

    Attributes
    ----------
    last_pairs_ : tuple of torch.Tensor or None
        ``(x1, x2)``, the pairs of the last training step (detached), each of
        shape ``(batch_size, *input_shape)``.
    last_anchors_ : torch.Tensor or None
        The batch ``x`` that anchored them.
    last_epsilon_ : float or None
        The radius of the last training step (ε after the floor).
    last_quotients_ : torch.Tensor or None
        The pairs' difference quotients (detached).

    Examples
    --------
    >>> from sklip import LipschitzClassifier
    >>> clf = LipschitzClassifier(
    ...     regularizer="ptv", epsilon=1.0, epsilon_decay=0.9,
    ...     target_accuracy=0.9, reg_lambda_step=0.01,
    ...     reg_lambda_update="batch", regularizer__n_iter=2)
    >>> clf.regularizer__n_iter
    2
    """

    name = "ptv"
    uses_epsilon = True
    # A radius of 1 in the Euclidean norm, for images scaled to [0, 1], is a
    # visible but class-preserving perturbation: half the PGD-L2 radius 2 of
    # the CLIP evaluation and far below the distance between two different
    # digits (about 10 on MNIST), so the pairs probe the neighbourhood of a
    # point rather than other classes. The decay then takes it to the TV
    # limit (0.9**50 ~ 0.005 after 50 epochs).
    default_epsilon = 1.0
    # The slides' algorithm: ε <- 0.9 ε after every epoch.
    default_epsilon_decay = 0.9

    def __init__(self, n_iter=1, step_size=0.5, step_factor=None,
                 min_epsilon=1e-3):
        self.n_iter = n_iter
        self.step_size = step_size
        self.step_factor = step_factor
        self.min_epsilon = min_epsilon

    def validate(self):
        prefix = "regularizer__"
        check_int(self.n_iter, prefix + "n_iter", min_val=0)
        check_real(self.step_size, prefix + "step_size", min_val=0,
                   include_boundaries="neither")
        check_real(self.step_factor, prefix + "step_factor", min_val=1,
                   include_boundaries="neither", allow_none=True)
        check_real(self.min_epsilon, prefix + "min_epsilon", min_val=0)

    def reset(self):
        self.last_pairs_ = None
        self.last_anchors_ = None
        self.last_epsilon_ = None
        self.last_quotients_ = None

    def _start_pairs(self, anchors, radius):
        x1 = sphere_points(anchors, radius)
        x2 = sphere_points(anchors, radius)
        # Two draws can coincide (always with probability 1/2 for 1-D
        # inputs, whose sphere is two points), and a pair at distance 0 has
        # neither a quotient nor an ascent direction: start x2 opposite x1.
        same = _norms(x1 - x2) <= 1e-6 * radius
        return x1, torch.where(same, 2 * anchors - x1, x2)

    def terms(self, net, X, y):
        module = net.module_
        radius = max(float(net.epsilon_), float(self.min_epsilon))
        anchors = X.detach()
        x1, x2 = self._start_pairs(anchors, radius)
        n = X.shape[0]
        if self.n_iter > 0:
            steps = torch.full((n,), self.step_size * radius,
                               device=X.device, dtype=X.dtype)

            def project(u, v):
                return (project_to_sphere(u, anchors, radius),
                        project_to_sphere(v, anchors, radius))

            if self.step_factor is None:
                x1, x2 = climb_pairs(module, x1, x2, steps, self.n_iter,
                                     project=project)
            else:
                x1, x2, _, _ = ascend_pairs(module, x1, x2, steps,
                                            self.n_iter, self.step_factor,
                                            project=project)
        # One forward pass for the batch and both ends of the pairs.
        out = module(torch.cat([X, x1, x2]))
        q = _quotients_from_outputs(out[n:2 * n], out[2 * n:], x1, x2)
        self.last_pairs_ = (x1, x2)
        self.last_anchors_ = anchors
        self.last_epsilon_ = radius
        self.last_quotients_ = q.detach()
        return out[:n], q.mean()

    def statistics(self):
        q = getattr(self, "last_quotients_", None)
        if q is None:
            return {}
        return {"pair_quotient_max": q.max()}
