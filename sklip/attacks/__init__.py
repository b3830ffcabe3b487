"""Adversarial attacks and noise on torch tensors, batched, on any device.

========= =============================================================
name      attack
========= =============================================================
``fgsm``  one gradient step of length ε (Goodfellow et al., ICLR 2015)
``pgd``   projected gradient ascent in the ε-ball (Madry et al., ICLR 2018)
``noise`` additive Gaussian noise of standard deviation σ
========= =============================================================

Attacks are scikit-learn style objects (``get_params``, ``set_params``,
``clone``, pickling) that do not hold a model: :meth:`Attack.perturb`
takes the network and tensors, :meth:`Attack.generate` a fitted estimator
and numpy data.
"""

from ._base import Attack, cross_entropy_loss, squared_error_loss
from ._gradient import FGSMAttack, PGDAttack
from ._noise import NoiseAttack
from ._registry import ATTACKS, attack_names, get_attack

__all__ = [
    "Attack",
    "FGSMAttack",
    "PGDAttack",
    "NoiseAttack",
    "ATTACKS",
    "get_attack",
    "attack_names",
    "cross_entropy_loss",
    "squared_error_loss",
]
