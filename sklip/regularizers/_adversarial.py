"""Adversarial training, the "ADV FGSM" baseline of the slides' Table 1.

The training loss is mixed with the loss on adversarial examples of radius
ε crafted against the current network: FGSM (Goodfellow, Shlens, Szegedy,
*Explaining and Harnessing Adversarial Examples*, ICLR 2015, whose
objective is ``α · loss(x) + (1 − α) · loss(x_adv)``) or PGD (Madry,
Makelov, Schmidt, Tsipras, Vladu, *Towards Deep Learning Models Resistant to
Adversarial Attacks*, ICLR 2018). The examples come from
:mod:`sklip.attacks`, so training and evaluation attack the same way.
"""

import torch

from .._validation import check_choice, check_int, check_real
from ..attacks import FGSMAttack, PGDAttack
from ..attacks._checks import check_clamp, check_norm
from ._base import Regularizer

__all__ = ["AdversarialRegularizer"]


class AdversarialRegularizer(Regularizer):
    """Loss on FGSM or PGD examples of radius ε, mixed with the clean loss.

    Each training step crafts ``X_adv`` against the current network (in
    evaluation mode, so that dropout and batch-norm statistics are not
    disturbed), then passes ``[X, X_adv]`` through the network in one
    forward pass. The penalty is the training criterion on ``X_adv`` and the
    objective is ``(1 − ratio) · loss(X) + ratio · loss(X_adv)``.

    The radius is the context's ``epsilon``: the estimator's ``epsilon``
    after its ε schedule. ``reg_lambda`` does not weight the
    penalty: it only switches adversarial training on (λ > 0) or off
    (λ = 0), which is what the warm-up needs — with ``warm_up=True`` the
    network trains on clean data until the training accuracy reaches
    ``target_accuracy``.

    Parameters
    ----------
    attack : {"fgsm", "pgd"}, default="fgsm"
        How the adversarial examples are crafted.
    norm : {"inf", 2}, default="inf"
        Norm of the radius ε.
    ratio : float, default=0.5
        Weight of the adversarial loss in [0, 1] (0.5 as in Goodfellow et
        al.; 1 trains on adversarial examples only, as Madry et al.).
    n_iter : int, default=7
        PGD steps (ignored by FGSM).
    step_size : float or None, default=None
        PGD step length; ``None`` takes ``2.5 * ε / n_iter``.
    clamp : (float, float) or None, default=None
        Data range of the adversarial examples, e.g. ``(0, 1)`` for images.

    Attributes
    ----------
    default_epsilon : float
        0.1, the radius used when the estimator's ``epsilon`` is ``None``.
    default_epsilon_decay : float
        1.0: the radius is kept constant unless ``epsilon_decay`` is set.

    Examples
    --------
    >>> from sklip import LipschitzClassifier
    >>> clf = LipschitzClassifier(regularizer="adversarial", reg_lambda=1.0,
    ...                           epsilon=0.1, regularizer__attack="pgd")
    >>> clf.get_params()["regularizer__attack"]
    'pgd'
    """

    name = "adversarial"
    uses_epsilon = True
    # 0.1 is a moderate L∞ budget for images scaled to [0, 1] (about a
    # quarter of the usual MNIST ε = 0.3, which a small MLP cannot resist
    # while staying accurate). Other norms and scales need their own ε.
    default_epsilon = 0.1
    default_epsilon_decay = 1.0
    # λ only switches adversarial training on (see combine).
    default_lambda = 1.0

    def __init__(self, attack="fgsm", norm="inf", ratio=0.5, n_iter=7,
                 step_size=None, clamp=None):
        self.attack = attack
        self.norm = norm
        self.ratio = ratio
        self.n_iter = n_iter
        self.step_size = step_size
        self.clamp = clamp

    def validate(self):
        check_choice(self.attack, "attack", ["fgsm", "pgd"])
        check_norm(self.norm, "norm")
        check_real(self.ratio, "ratio", min_val=0, max_val=1)
        check_int(self.n_iter, "n_iter", min_val=1)
        check_real(self.step_size, "step_size", min_val=0,
                   include_boundaries="neither", allow_none=True)
        check_clamp(self.clamp, "clamp")

    def _attack(self, eps):
        if self.attack == "fgsm":
            return FGSMAttack(eps, norm=self.norm, clamp=self.clamp)
        # No early stop: like Madry et al., train on the highest-loss point
        # found, not on the first misclassified one.
        return PGDAttack(eps, norm=self.norm, n_iter=self.n_iter,
                         step_size=self.step_size, random_start=True,
                         early_stop=False, clamp=self.clamp)

    def terms(self, module, X, y, context):
        owner = type(self).__name__
        eps = context.require_epsilon(owner)
        loss = context.require_loss(owner)
        was_training = module.training
        module.eval()
        try:
            X_adv = self._attack(eps).perturb(module, X, y,
                                              generator=context.generator)
        finally:
            module.train(was_training)
        n = X.shape[0]
        # One forward pass for both halves: half the layer calls, and the
        # clean outputs come out of the same graph as the penalty.
        outputs = module(torch.cat([X, X_adv]))
        y_pred = outputs[:n]
        penalty = loss(outputs[n:], y)
        return y_pred, penalty

    def combine(self, loss, penalty, reg_lambda):
        """``(1 − ratio) · loss + ratio · penalty``; λ only gates it (see
        the class docstring)."""
        ratio = float(self.ratio)
        return (1.0 - ratio) * loss + ratio * penalty
