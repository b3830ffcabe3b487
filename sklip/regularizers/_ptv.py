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

import numpy as np
import torch

from .._validation import check_choice, check_int, check_real
from ..functional._quotients import (_ascend_stacked, _climb_stacked,
                                     _quotients_from_outputs)
from ..functional._sphere import _norms, project_to_sphere, sphere_points
from ._base import Regularizer

__all__ = ["PTVRegularizer"]

#: How a pTV pair's step length is chosen (see ``step_rule``).
STEP_RULES = ("fixed", "accept")


def _defaults_in_docstring(cls):
    """Write the class's default ε, decay and λ into its docstring, so that
    the documented values are the attributes'."""
    cls.__doc__ = cls.__doc__ % {
        name: getattr(cls, name) for name in (
            "default_epsilon", "default_epsilon_decay", "default_lambda")}
    return cls


@_defaults_in_docstring
class PTVRegularizer(Regularizer):
    """pTV: the mean difference quotient of pairs on the ε-spheres of a batch.

    For each training batch, every point ``x`` anchors one pair started at
    two random points of the sphere of radius ε (the context's ``epsilon``,
    which the estimator sets from its ε schedule) around ``x``;
    the pair takes ``n_iter`` gradient-ascent steps on the squared
    difference quotient, each followed by the projection of both points
    back onto the sphere, and the penalty is the mean quotient over the
    batch. The batch and the pairs go through the network in one forward
    pass.

    The rest of the slides' algorithm is the estimator's own schedule, set
    with its hyperparameters rather than here:

    - ε starts at ``epsilon`` (default :attr:`default_epsilon` =
      %(default_epsilon)g) and is multiplied by ``epsilon_decay`` after
      every epoch (the slides: 0.9; default
      :attr:`default_epsilon_decay` = %(default_epsilon_decay)g, a fixed
      radius, which was more robust on MNIST);
    - λ is ``reg_lambda``; ``"auto"`` takes :attr:`default_lambda` =
      %(default_lambda)g (searched on MNIST) scaled down to the data (see
      :class:`~sklip.regularizers.Regularizer`);
    - λ moves by ±dλ after every batch against the threshold α of the
      running training accuracy: ``target_accuracy=α``,
      ``reg_lambda_step=dλ``, ``reg_lambda_update="batch"`` (never below 0).

    Parameters
    ----------
    n_iter : int, default=1
        Gradient-ascent steps per pair and training step (0: the random
        starting points are used as they are).
    relative_step_size : float, default=0.5
        Ascent step of a pair as a fraction of ε (CLIP's and PGD's
        ``step_size`` are lengths in input units), so that one value fits
        every radius along the schedule.
    step_rule : {"fixed", "accept"}, default="fixed"
        ``"fixed"``: every step is kept at its length, as in the slides'
        algorithm (one gradient evaluation per step). ``"accept"``: the step
        adapts as in CLIP's reference rule, growing by ``step_factor`` after
        a step that raised the quotient and shrinking after one that did
        not, which is undone — at the cost of one more forward/backward pass
        per training step.
    step_factor : float, default=1.3
        Growth / shrink factor of the ``"accept"`` rule.
    n_anchors : int, float or None, default=0.125
        Points of each batch that anchor a pair: a float in (0, 1] that
        fraction of the batch, an int that many, ``None`` every point (the
        slides' algorithm). The penalty is the mean over a random sample of
        the batch (its first points: training batches are shuffled), an
        unbiased estimate of the full mean. Both points of every pair pass
        through the network twice (ascent, then the fused forward), so with
        every point anchoring pTV costs about three batches' work per step,
        with a quarter of the batch about twice standard training, with an
        eighth about 1.7 times (``sklip benchmark --timing``). On MNIST an
        eighth, a quarter and every point were equally robust (worst-case
        accuracy at L2 ε = 2 0.552 / 0.549 / 0.548, seed 0; an eighth and a
        quarter 0.552 / 0.560 over three seeds;
        ``benchmarks/search_defaults.py``), so the default is the cheapest.
    min_epsilon : float, default=1e-3
        Smallest radius used: the estimator's ε is floored here. In float32
        (about 7 significant digits) the quotient of points 1e-5 apart
        already carries rounding errors of about 1 %% for inputs and outputs
        of order 1, and below about 1e-7 the points round to their anchor
        and the penalty silently vanishes. With ``epsilon=1`` and the
        slides' decay 0.9 the floor is reached after about 65 epochs.
        0 disables the floor.

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
    # Chosen by benchmarks/search_defaults.py on MNIST (784 pixels in
    # [0, 1], attacks of L2 radius 2): ε = 3 kept fixed (decay 1) with
    # λ = 3 gave the best worst-case accuracy (clean / worst case 0.967 /
    # 0.552); the slides' decay 0.9 from the same start gave 0.947 / 0.525,
    # ε = 2 0.965 / 0.531, and λ = 6 collapsed to a constant network. A
    # fixed radius 1.5 times the attack's keeps the pairs
    # probing the neighbourhood an attacker can reach, while staying well
    # below the distance between two different digits (about 10). For
    # smaller images scale it with the typical perturbation.
    default_epsilon = 3.0
    default_epsilon_decay = 1.0
    default_lambda = 3.0
    quotient_power = 1

    def __init__(self, n_iter=1, relative_step_size=0.5, step_rule="fixed",
                 step_factor=1.3, min_epsilon=1e-3, n_anchors=0.125):
        self.n_iter = n_iter
        self.relative_step_size = relative_step_size
        self.step_rule = step_rule
        self.step_factor = step_factor
        self.min_epsilon = min_epsilon
        self.n_anchors = n_anchors

    def validate(self):
        check_int(self.n_iter, "n_iter", min_val=0)
        check_real(self.relative_step_size, "relative_step_size", min_val=0,
                   include_boundaries="neither")
        check_choice(self.step_rule, "step_rule", STEP_RULES)
        check_real(self.step_factor, "step_factor", min_val=1,
                   include_boundaries="neither")
        check_real(self.min_epsilon, "min_epsilon", min_val=0)
        if isinstance(self.n_anchors, (float, np.floating)):
            check_real(self.n_anchors, "n_anchors", min_val=0, max_val=1,
                       include_boundaries="right")
        else:
            check_int(self.n_anchors, "n_anchors", min_val=1,
                      allow_none=True)

    def _anchor_count(self, n):
        """How many points of a batch of ``n`` anchor a pair."""
        if self.n_anchors is None:
            return n
        if isinstance(self.n_anchors, (float, np.floating)):
            return max(1, int(round(float(self.n_anchors) * n)))
        return min(int(self.n_anchors), n)

    def radius(self, epsilon):
        """The radius used for an estimator radius ``epsilon`` (floored at
        ``min_epsilon``)."""
        return max(float(epsilon), float(self.min_epsilon))

    def _start_pairs(self, anchors, radius, generator):
        """Random starting pairs, stacked as ``[x1; x2]`` around
        ``[anchors; anchors]``."""
        k = anchors.shape[0] // 2
        pairs = sphere_points(anchors, radius, generator)
        if anchors[0].numel() > 1:
            return pairs
        # The sphere of a 1-D input is two points, so the two draws coincide
        # with probability 1/2 (in more dimensions, with probability 0), and
        # a pair at distance 0 has neither a quotient nor an ascent
        # direction: start x2 opposite x1.
        x1, x2 = pairs[:k], pairs[k:]
        same = _norms(x1 - x2) <= 1e-6 * radius
        x2 = torch.where(same, 2 * anchors[:k] - x1, x2)
        return torch.cat([x1, x2])

    def terms(self, module, X, y, context):
        radius = self.radius(context.require_epsilon(type(self).__name__))
        n = X.shape[0]
        # Training batches are shuffled, so their first points are a random
        # sample of the data: no index draw or gather needed.
        k = self._anchor_count(n)
        anchors = X.detach()[:k].repeat(2, *([1] * (X.dim() - 1)))
        pairs = self._start_pairs(anchors, radius, context.generator)
        if self.n_iter > 0:
            steps = torch.full((k,), self.relative_step_size * radius,
                               device=X.device, dtype=X.dtype)

            def project(points):
                return project_to_sphere(points, anchors, radius)

            if self.step_rule == "fixed":
                pairs = _climb_stacked(module, pairs, k, steps, self.n_iter,
                                       project)
            else:
                pairs, _, _ = _ascend_stacked(module, pairs, k, steps,
                                              self.n_iter, self.step_factor,
                                              project)
        # One forward pass for the batch and both ends of the pairs.
        out = module(torch.cat([X, pairs]))
        x1, x2 = pairs[:k], pairs[k:]
        q = _quotients_from_outputs(out[n:n + k], out[n + k:], x1, x2)
        return out[:n], q.mean()
