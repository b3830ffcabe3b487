"""Lipschitz regularisers, selectable by name or as objects.

========== ==========================================================
name       penalty ``R(f)``
========== ==========================================================
``none``   0 (standard training)
``clip``   largest squared difference quotient over adversarial pairs
``sumlip`` mean difference quotient over adversarial pairs
========== ==========================================================
"""

from ._base import NoRegularizer, Regularizer
from ._clip import CLIPRegularizer, SumLipRegularizer
from ._pairs import PairSearch, difference_quotients
from ._registry import REGULARIZERS, get_regularizer, regularizer_names

__all__ = [
    "Regularizer",
    "NoRegularizer",
    "CLIPRegularizer",
    "SumLipRegularizer",
    "PairSearch",
    "difference_quotients",
    "REGULARIZERS",
    "get_regularizer",
    "regularizer_names",
]
