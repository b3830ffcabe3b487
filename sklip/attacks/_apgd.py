"""Auto-PGD: projected gradient ascent with an adaptive step size.

Croce & Hein, *Reliable evaluation of adversarial robustness with an
ensemble of diverse parameter-free attacks*, ICML 2020. Compared with PGD of
a fixed step, APGD

- starts with a step of ``2 ε`` and halves it, per sample, at checkpoints
  (after 22 % of the iterations, then at shrinking intervals down to 6 %)
  where fewer than ``rho`` of the steps since the last checkpoint raised the
  loss, or where neither the step nor the best loss changed since then;
  after a halving the sample restarts from the best point found so far;
- adds momentum (``alpha`` = 0.75) to every step;
- keeps, per sample, the best point over all iterations (the first
  misclassified one for a classifier), not the last.

With ``loss="dlr"`` it uses the difference of logits ratio, and with
``targeted=True`` it runs once per target class among the top
``n_target_classes`` wrong classes of the clean prediction (APGD-T), which
together with the cross-entropy version are the gradient attacks of
AutoAttack.
"""

import torch

from .._validation import check_int, check_real
from ._base import Attack
from ._checks import (check_attack_random_state, check_bool, check_clamp,
                      check_norm)
from ._losses import CLASSIFICATION_LOSSES, check_loss, targeted_loss
from ._runs import worst_of_runs
from ._steps import _expand, loss_and_grad, steepest_direction

__all__ = ["APGDAttack"]


def checkpoints(n_iter):
    """Iterations after which APGD may halve a step (Croce & Hein, §3.2).

    The first after 22 % of the budget, then intervals that shrink by 3 %
    of it per checkpoint down to 6 %.

    Parameters
    ----------
    n_iter : int

    Returns
    -------
    list of int
    """
    first = max(int(0.22 * n_iter), 1)
    shrink = max(int(0.03 * n_iter), 1)
    smallest = max(int(0.06 * n_iter), 1)
    points, at, gap = [], first, first
    while at <= n_iter:
        points.append(at)
        gap = max(gap - shrink, smallest)
        at += gap
    return points


def project(x, X, eps, norm, clamp):
    """``x`` projected onto the ``eps``-ball around ``X``, then clamped.

    For L2 the clamp after the projection only moves coordinates towards
    ``X`` (when ``X`` is in the data range), so the result stays in the
    ball.
    """
    if norm == "inf":
        x = torch.maximum(torch.minimum(x, X + eps), X - eps)
    else:
        delta = x - X
        length = delta.flatten(1).norm(dim=1)
        shrink = torch.where(length > eps, eps / length.clamp_min(1e-30),
                             torch.ones_like(length))
        x = X + delta * _expand(shrink, delta)
    return x if clamp is None else x.clamp(*clamp)


def random_on_sphere(X, eps, norm, generator):
    """A random point at distance ``eps`` of ``X`` (APGD's start)."""
    kwargs = {"generator": generator, "device": X.device, "dtype": X.dtype}
    if norm == "inf":
        t = 2 * torch.rand(X.shape, **kwargs) - 1
        scale = t.flatten(1).abs().max(dim=1).values
    else:
        t = torch.randn(X.shape, **kwargs)
        scale = t.flatten(1).norm(dim=1)
    return X + eps * t / _expand(scale.clamp_min(1e-12), t)


class APGDAttack(Attack):
    """Auto-PGD (Croce & Hein, ICML 2020), untargeted or targeted.

    Parameters
    ----------
    eps : float
        Radius of the ball (≥ 0) in the chosen norm.
    norm : {2, "inf"}, default=2
        2 or ``"inf"`` (also ``np.inf``).
    loss : {None, "ce", "margin", "dlr", "squared_error"}, default=None
        The loss maximised: ``None`` is the cross-entropy (``"ce"``, APGD-CE)
        for a classifier and the squared error for a regressor; ``"dlr"``
        the difference of logits ratio (APGD-DLR, at least 3 classes).
    n_iter : int, default=100
        Iterations per run (one forward and backward pass each).
    n_restarts : int, default=1
        Runs from new random starts, each on the samples not yet
        misclassified (for a regressor every run attacks every sample and
        the highest error is kept).
    targeted : bool, default=False
        Run once per target class (APGD-T): the ``n_target_classes``
        highest-scoring wrong classes of the clean prediction, each with
        the targeted version of ``loss`` (the targeted DLR needs 4
        classes). A sample counts as broken when it is misclassified.
    n_target_classes : int, default=9
        Target classes tried with ``targeted=True`` (at most the number of
        classes minus one).
    rho : float, default=0.75
        Fraction of loss-raising steps below which a checkpoint halves the
        step.
    alpha : float, default=0.75
        Weight of the new step against the last one (momentum ``1 −
        alpha``).
    random_start : bool, default=True
        Start from a random point at distance ``eps`` (as the paper's
        code); otherwise from ``X``, and restarts are ignored.
    clamp : (float, float) or None, default=None
        Data range ``(low, high)`` the perturbed inputs are clipped to.
    random_state : int, RandomState or None, default=None
        Seeds the random starts; ``None`` uses torch's global random state.

    See Also
    --------
    PGDAttack : fixed-step PGD.
    WorstCaseAttack : APGD-CE, APGD-DLR, APGD-T, margin PGD and Square
        combined per sample.

    Examples
    --------
    >>> from sklip.attacks import APGDAttack
    >>> attack = APGDAttack(eps=2.0, loss="dlr", targeted=True,
    ...                     random_state=0)
    >>> attack.n_iter
    100
    """

    name = "apgd"
    radius_param = "eps"

    def __init__(self, eps, norm=2, loss=None, n_iter=100, n_restarts=1,
                 targeted=False, n_target_classes=9, rho=0.75, alpha=0.75,
                 random_start=True, clamp=None, random_state=None):
        self.eps = eps
        self.norm = norm
        self.loss = loss
        self.n_iter = n_iter
        self.n_restarts = n_restarts
        self.targeted = targeted
        self.n_target_classes = n_target_classes
        self.rho = rho
        self.alpha = alpha
        self.random_start = random_start
        self.clamp = clamp
        self.random_state = random_state

    def validate(self):
        check_real(self.eps, "eps", min_val=0)
        check_norm(self.norm)
        check_loss(self.loss)
        check_int(self.n_iter, "n_iter", min_val=1)
        check_int(self.n_restarts, "n_restarts", min_val=1)
        check_bool(self.targeted, "targeted")
        check_int(self.n_target_classes, "n_target_classes", min_val=1)
        check_real(self.rho, "rho", min_val=0, max_val=1)
        check_real(self.alpha, "alpha", min_val=0, max_val=1,
                   include_boundaries="right")
        check_bool(self.random_start, "random_start")
        check_clamp(self.clamp)
        check_attack_random_state(self.random_state)
        if self.targeted and self.loss == "squared_error":
            raise ValueError(
                "targeted=True needs a classification loss (one of "
                f"{list(CLASSIFICATION_LOSSES)} or None), got "
                "loss='squared_error'.")
        return self

    def perturb(self, module, X, y=None, loss_fn=None, *, generator=None):
        X, y, generator = self._start(module, X, y, loss_fn, generator)
        if float(self.eps) == 0 or X.shape[0] == 0:
            return self._clamp(X.clone())
        if self.targeted:
            if loss_fn is not None:
                raise ValueError(
                    "a targeted APGDAttack builds its own loss towards each "
                    "target class; pass loss='ce', 'margin' or 'dlr' "
                    "instead of loss_fn.")
            y, _, classify = self._targets(module, X, y, None)
            if not classify:
                raise ValueError(
                    "targeted=True needs class labels; the targets are real "
                    "numbers (a regressor).")
            return self._targeted(module, X, y, generator)
        y, loss_fn, classify = self._targets(module, X, y, loss_fn)
        return self._restarted(module, X, y, loss_fn, classify, generator)

    perturb.__doc__ = Attack.perturb.__doc__

    def _targeted(self, module, X, y, generator):
        """One run per target class, on the samples still not broken."""
        with torch.no_grad():
            logits = module(X)
        n_classes = logits.shape[1]
        # The wrong classes, most likely first.
        ranked = logits.scatter(1, y.long().unsqueeze(1), float("-inf")) \
            .argsort(dim=1, descending=True)[:, :n_classes - 1]
        n_targets = min(int(self.n_target_classes), n_classes - 1)
        loss = self.loss or "ce"
        n_runs = self._n_runs()

        def run_for(k):
            def run(rows):
                loss_fn = targeted_loss(loss, ranked[rows, k])
                return self._run(module, X[rows], y[rows], loss_fn, True,
                                 generator)
            return run

        runs = [run_for(k) for k in range(n_targets) for _ in range(n_runs)]
        return worst_of_runs(module, X, y, True, runs)

    def _run(self, module, X, y, loss_fn, classify, generator):
        """One APGD run; per sample the first misclassified point found,
        else the point of highest loss."""
        eps, norm = float(self.eps), check_norm(self.norm)
        clamp = check_clamp(self.clamp)
        alpha = float(self.alpha)
        x = (project(random_on_sphere(X, eps, norm, generator), X, eps, norm,
                     clamp) if self.random_start else X.clone())
        outputs, grad, loss = loss_and_grad(module, x, y, loss_fn,
                                            return_losses=True)
        found = (outputs.argmax(dim=1) != y if classify
                 else torch.zeros_like(loss, dtype=torch.bool))
        result = x.clone()
        best_x, best_loss, best_grad = x.clone(), loss.clone(), grad.clone()
        control = _StepControl(2.0 * eps, loss, float(self.rho))
        x_prev = x.clone()
        marks = set(checkpoints(self.n_iter))
        for k in range(self.n_iter):
            weight = alpha if k > 0 else 1.0
            z = project(x + _expand(control.step, x)
                        * steepest_direction(grad, norm), X, eps, norm, clamp)
            x_new = project(x + weight * (z - x) + (1 - weight) * (x - x_prev),
                            X, eps, norm, clamp)
            x_prev, x = x, x_new
            outputs, grad, loss = loss_and_grad(module, x, y, loss_fn,
                                                return_losses=True)
            if classify:
                newly = (outputs.argmax(dim=1) != y) & ~found
                result[newly] = x[newly]
                found |= newly
            control.record(loss)
            better = loss > best_loss
            best_x[better], best_loss[better] = x[better], loss[better]
            best_grad[better] = grad[better]
            if k + 1 in marks:
                # Samples whose step was halved restart from their best.
                halve = control.checkpoint(best_loss)
                x[halve], grad[halve] = best_x[halve], best_grad[halve]
                x_prev[halve] = best_x[halve]
        result[~found] = best_x[~found]
        return result


class _StepControl:
    """APGD's per-sample step sizes and the two conditions that halve them.

    At a checkpoint a sample's step is halved when fewer than ``rho`` of
    its steps since the previous checkpoint raised the loss, or when its
    step was not halved at the previous checkpoint and its best loss has
    not improved since (Croce & Hein, ICML 2020, §3.2).
    """

    def __init__(self, step, loss, rho):
        self.step = torch.full_like(loss, step)
        self.rho = rho
        self.last_loss = loss
        self.raised = torch.zeros_like(loss)
        self.since = 0
        self.best_at_check = loss.clone()
        self.halved_at_check = torch.zeros_like(loss, dtype=torch.bool)

    def record(self, loss):
        """Count the samples whose loss rose with this step."""
        self.raised += (loss > self.last_loss).float()
        self.last_loss = loss
        self.since += 1

    def checkpoint(self, best_loss):
        """Halve the steps that need it; returns those samples' mask."""
        halve = (self.raised < self.rho * self.since) | (
            ~self.halved_at_check & (self.best_at_check >= best_loss))
        self.step[halve] /= 2
        self.halved_at_check, self.best_at_check = halve, best_loss.clone()
        self.raised.zero_()
        self.since = 0
        return halve
