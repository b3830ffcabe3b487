"""Gradient attacks: FGSM and PGD, in the maximum and the Euclidean norm.

- FGSM, the fast gradient sign method (Goodfellow, Shlens, Szegedy,
  *Explaining and Harnessing Adversarial Examples*, ICLR 2015): one step of
  length ``eps`` along the steepest-ascent direction of the loss, ``sign``
  of the gradient for L∞ and the normalised gradient for L2 (the "fast
  gradient method").
- PGD, projected gradient descent on the negative loss (Madry, Makelov,
  Schmidt, Tsipras, Vladu, *Towards Deep Learning Models Resistant to
  Adversarial Attacks*, ICLR 2018): a random start in the ``eps``-ball, then
  ``n_iter`` such steps, each followed by the projection onto the ball, and
  the best of ``n_restarts`` runs per sample.

Both work on whole batches at once; only the inputs are differentiated.
Both take ``loss=``: the cross-entropy of the papers, or the logit margin
of Carlini & Wagner (IEEE S&P 2017) and the DLR loss of Croce & Hein (ICML
2020), which do not saturate on the small logits of Lipschitz-regularised
networks (see :mod:`sklip.attacks._losses`).
"""

import torch

from .._validation import check_int, check_real
from ._base import Attack
from ._checks import (check_attack_random_state, check_bool, check_clamp,
                      check_norm)
from ._losses import check_loss
from ._steps import (_expand, loss_and_grad, random_in_ball,
                     steepest_direction)

__all__ = ["FGSMAttack", "PGDAttack"]


class FGSMAttack(Attack):
    """Fast gradient sign method (Goodfellow et al., ICLR 2015).

    ``X_adv = X + eps * d`` where ``d`` is ``sign(∇ₓ loss)`` for
    ``norm="inf"`` and ``∇ₓ loss / ||∇ₓ loss||₂`` for ``norm=2``, then
    clamped to the data range. The result equals ART's
    ``FastGradientMethod`` without random initialisation.

    Parameters
    ----------
    eps : float
        Radius of the attack (≥ 0) in the chosen norm.
    norm : {"inf", 2}, default="inf"
        ``"inf"`` (also ``np.inf``) or 2.
    clamp : (float, float) or None, default=None
        Data range ``(low, high)`` the perturbed inputs are clipped to, e.g.
        ``(0, 1)`` for images.
    loss : {None, "ce", "margin", "dlr", "squared_error"}, default=None
        The loss whose gradient is followed; ``None`` is the cross-entropy
        (``"ce"``) for a classifier and the squared error for a regressor.

    See Also
    --------
    PGDAttack : the iterated, stronger attack.

    Examples
    --------
    >>> from sklip.attacks import FGSMAttack
    >>> attack = FGSMAttack(eps=0.1, clamp=(0, 1))
    >>> attack.set_params(eps=0.2).eps
    0.2
    """

    name = "fgsm"
    radius_param = "eps"

    def __init__(self, eps, norm="inf", clamp=None, loss=None):
        self.eps = eps
        self.norm = norm
        self.clamp = clamp
        self.loss = loss

    def validate(self):
        check_real(self.eps, "eps", min_val=0)
        check_norm(self.norm)
        check_clamp(self.clamp)
        check_loss(self.loss)
        return self

    def perturb(self, module, X, y=None, loss_fn=None, *, generator=None):
        X, y, _ = self._start(module, X, y, loss_fn, generator)
        eps, norm = float(self.eps), check_norm(self.norm)
        if eps == 0 or X.shape[0] == 0:
            return self._clamp(X.clone())
        y, loss_fn, _ = self._targets(module, X, y, loss_fn)
        _, grad = loss_and_grad(module, X, y, loss_fn)
        return self._clamp(X + eps * steepest_direction(grad, norm))

    perturb.__doc__ = Attack.perturb.__doc__


class PGDAttack(Attack):
    """Projected gradient descent (Madry et al., ICLR 2018).

    From a random point of the ``eps``-ball around ``X`` (or from ``X``),
    ``n_iter`` steps of length ``step_size`` along the steepest-ascent
    direction of the loss, each followed by the projection onto the ball and
    the clamp to the data range. With ``n_restarts > 1`` the run is repeated
    from new random points for the samples not yet misclassified, keeping
    per sample a misclassified point if one was found and otherwise the one
    with the highest loss.

    Parameters
    ----------
    eps : float
        Radius of the ball (≥ 0) in the chosen norm.
    norm : {2, "inf"}, default=2
        2 or ``"inf"`` (also ``np.inf``).
    n_iter : int, default=20
        Gradient steps per run.
    step_size : float or None, default=None
        Length of one step; ``None`` takes ``2.5 * eps / n_iter`` (Madry et
        al.), so that the steps together could cross the ball and come back.
    random_start : bool, default=True
        Start from a uniformly drawn point of the ball; without it the runs
        start at ``X`` and ``n_restarts`` is ignored (they would repeat).
    n_restarts : int, default=1
        Number of runs.
    early_stop : bool, default=True
        For a classifier: stop moving a sample as soon as it is
        misclassified, and return that point. This saves the remaining steps
        and never makes the attack weaker, since a found adversarial example
        is kept instead of being walked away from. Ignored for regressors.
    clamp : (float, float) or None, default=None
        Data range ``(low, high)`` the perturbed inputs are clipped to. When
        ``X`` lies in that range the result stays inside the ball as well.
    random_state : int, RandomState or None, default=None
        Seeds the random starts; with an int every call draws the same
        starts. ``None`` uses torch's global random state.
    loss : {None, "ce", "margin", "dlr", "squared_error"}, default=None
        The loss maximised; ``None`` is the cross-entropy (``"ce"``) for a
        classifier and the squared error for a regressor. ``"margin"``
        with a few restarts is much stronger than the cross-entropy on
        Lipschitz-regularised networks.

    See Also
    --------
    FGSMAttack : a single step of length ``eps``.
    APGDAttack : PGD with an adaptive step size, stronger at equal budget.

    Examples
    --------
    >>> from sklip.attacks import PGDAttack
    >>> attack = PGDAttack(eps=2.0, n_iter=100, random_state=0)
    >>> attack.get_params()["norm"]
    2
    """

    name = "pgd"
    radius_param = "eps"

    def __init__(self, eps, norm=2, n_iter=20, step_size=None,
                 random_start=True, n_restarts=1, early_stop=True,
                 clamp=None, random_state=None, loss=None):
        self.eps = eps
        self.norm = norm
        self.n_iter = n_iter
        self.step_size = step_size
        self.random_start = random_start
        self.n_restarts = n_restarts
        self.early_stop = early_stop
        self.clamp = clamp
        self.random_state = random_state
        self.loss = loss

    def validate(self):
        check_real(self.eps, "eps", min_val=0)
        check_norm(self.norm)
        check_int(self.n_iter, "n_iter", min_val=1)
        check_real(self.step_size, "step_size", min_val=0,
                   include_boundaries="neither", allow_none=True)
        check_bool(self.random_start, "random_start")
        check_int(self.n_restarts, "n_restarts", min_val=1)
        check_bool(self.early_stop, "early_stop")
        check_clamp(self.clamp)
        check_attack_random_state(self.random_state)
        check_loss(self.loss)
        return self

    def _step_size(self):
        if self.step_size is not None:
            return float(self.step_size)
        return 2.5 * float(self.eps) / self.n_iter

    def perturb(self, module, X, y=None, loss_fn=None, *, generator=None):
        X, y, generator = self._start(module, X, y, loss_fn, generator)
        eps = float(self.eps)
        if eps == 0 or X.shape[0] == 0:
            return self._clamp(X.clone())
        y, loss_fn, classify = self._targets(module, X, y, loss_fn)
        if self._n_runs() == 1:
            return self._run(module, X, y, loss_fn, classify, generator)
        return self._restarted(module, X, y, loss_fn, classify, generator,
                               criterion=loss_fn)

    perturb.__doc__ = Attack.perturb.__doc__

    def _run(self, module, X, y, loss_fn, classify, generator):
        """One PGD run from a (random) start; returns the final points."""
        eps, norm, step = float(self.eps), check_norm(self.norm), \
            self._step_size()
        x = X
        if self.random_start:
            x = self._clamp(X + random_in_ball(X, eps, norm, generator))
        anchor = self._anchor(X, eps, norm)
        if not (self.early_stop and classify):
            for _ in range(self.n_iter):
                _, grad = loss_and_grad(module, x, y, loss_fn)
                x = self._step(x, anchor, grad, eps, norm, step)
            return x

        # Early stopping: only the samples still classified correctly are
        # passed through the network, so finished samples cost nothing.
        result = torch.empty_like(X)
        alive = torch.arange(X.shape[0], device=X.device)
        for _ in range(self.n_iter):
            outputs, grad = loss_and_grad(module, x, y, loss_fn)
            fooled = outputs.argmax(dim=1) != y
            if fooled.any():
                result[alive[fooled]] = x[fooled]
                keep = ~fooled
                alive, x, y, grad = alive[keep], x[keep], y[keep], grad[keep]
                anchor = tuple(t[keep] for t in anchor)
                if alive.numel() == 0:
                    return result
            x = self._step(x, anchor, grad, eps, norm, step)
        result[alive] = x
        return result

    def _anchor(self, X, eps, norm):
        """What every step needs from the clean inputs, computed once.

        For L∞ the ball and the data range are both boxes, so projecting and
        clamping is a single clamp to their intersection. Where ``X`` lies
        outside the data range the bounds cross and torch's clamp returns
        the upper one: the data range wins, as in the L2 case.
        """
        if norm == "inf":
            lower, upper = X - eps, X + eps
            clamp = check_clamp(self.clamp)
            if clamp is not None:
                lower.clamp_(min=clamp[0])
                upper.clamp_(max=clamp[1])
            return lower, upper
        return (X,)

    def _step(self, x, anchor, grad, eps, norm, step):
        """Ascent step, projection onto the ball, clamp to the data range.

        Written with fused and in-place operations: for a small network the
        element-wise work is a sizeable share of an iteration.
        """
        if norm == "inf":
            lower, upper = anchor
            return torch.clamp(torch.add(x, grad.sign(), alpha=step),
                               lower, upper)
        (x0,) = anchor
        length = grad.flatten(1).norm(dim=1)
        scale = torch.where(length > 0, step / length,
                            torch.zeros_like(length))
        delta = torch.addcmul(x, grad, _expand(scale, grad)).sub_(x0)
        length = delta.flatten(1).norm(dim=1)
        shrink = torch.where(length > eps, eps / length.clamp_min(1e-30),
                             torch.ones_like(length))
        x = torch.addcmul(x0, delta, _expand(shrink, delta))
        clamp = check_clamp(self.clamp)
        return x if clamp is None else x.clamp_(*clamp)
