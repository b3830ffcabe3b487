"""Lipschitz regularisers, selectable by name or as objects.

========== ==========================================================
name       penalty ``R(f)``
========== ==========================================================
``none``   0 (standard training)
``clip``   largest squared difference quotient over adversarial pairs
``sumlip`` mean difference quotient over adversarial pairs
``tv``     mean input-Jacobian norm over the batch
``ptv``    mean quotient of pairs on the ε-spheres around the batch
``margin`` the loss on logits whose rivals gain ε times a Lipschitz
           bound (Lipschitz-margin training; classifiers)
========== ==========================================================

``adversarial`` (a baseline, "ADV FGSM" in the slides' Table 1) mixes the
clean loss with the loss on FGSM or PGD examples of radius ε.

A regulariser sees the module, the batch and a :class:`TrainingContext`;
the stateless maths it uses is in :mod:`sklip.functional`.
"""

from ._adversarial import AdversarialRegularizer
from ._base import NoRegularizer, Regularizer
from ._clip import CLIPRegularizer, SumLipRegularizer
from ._context import TrainingContext
from ._margin import MarginRegularizer
from ._pairs import PairSearch
from ._ptv import PTVRegularizer
from ._registry import REGULARIZERS, get_regularizer, regularizer_names
from ._tv import TVRegularizer

__all__ = [
    "Regularizer",
    "NoRegularizer",
    "CLIPRegularizer",
    "SumLipRegularizer",
    "TVRegularizer",
    "PTVRegularizer",
    "AdversarialRegularizer",
    "MarginRegularizer",
    "TrainingContext",
    "PairSearch",
    "REGULARIZERS",
    "get_regularizer",
    "regularizer_names",
]
