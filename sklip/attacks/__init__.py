"""Adversarial attacks and noise on torch tensors, batched, on any device.

============== ========================================================
name           attack
============== ========================================================
``fgsm``       one gradient step of length ε (Goodfellow et al., ICLR 2015)
``pgd``        projected gradient ascent in the ε-ball (Madry et al.,
               ICLR 2018)
``apgd``       Auto-PGD with an adaptive step, untargeted or targeted
               (Croce & Hein, ICML 2020)
``square``     the black-box Square Attack (Andriushchenko et al.,
               ECCV 2020)
``worst_case`` per sample the first success over APGD-CE, APGD-DLR,
               APGD-T, margin PGD and Square (AutoAttack's protocol)
``noise``      additive Gaussian noise of standard deviation σ
============== ========================================================

The gradient attacks take ``loss=``: ``"ce"`` (cross-entropy), ``"margin"``
(Carlini & Wagner's logit margin), ``"dlr"`` (Croce & Hein's difference of
logits ratio) for classifiers, ``"squared_error"`` for regressors.

Attacks are scikit-learn style objects (``get_params``, ``set_params``,
``clone``, pickling) that do not hold a model: :meth:`Attack.perturb`
takes the network and tensors, :meth:`Attack.generate` a fitted estimator
and numpy data.
"""

from ._apgd import APGDAttack
from ._base import Attack
from ._gradient import FGSMAttack, PGDAttack
from ._losses import (cross_entropy_loss, dlr_loss, loss_names, margin_loss,
                      squared_error_loss, targeted_loss)
from ._noise import NoiseAttack
from ._registry import ATTACKS, attack_names, get_attack
from ._square import SquareAttack
from ._worst_case import WorstCaseAttack, default_worst_case_attacks

__all__ = [
    "Attack",
    "FGSMAttack",
    "PGDAttack",
    "APGDAttack",
    "SquareAttack",
    "WorstCaseAttack",
    "NoiseAttack",
    "ATTACKS",
    "get_attack",
    "attack_names",
    "default_worst_case_attacks",
    "cross_entropy_loss",
    "squared_error_loss",
    "margin_loss",
    "dlr_loss",
    "targeted_loss",
    "loss_names",
]
