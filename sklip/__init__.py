"""sklip: Lipschitz-regularised neural networks as scikit-learn estimators.

The estimators :class:`LipschitzClassifier` and :class:`LipschitzRegressor`
train any :class:`torch.nn.Module` (by default a perceptron sized from the
data) with a Lipschitz penalty chosen by name: ``"none"``, ``"clip"``,
``"sumlip"``.
"""

from .estimators import LipschitzClassifier, LipschitzRegressor
from .regularizers import get_regularizer, regularizer_names

__version__ = "0.1.0"

__all__ = [
    "LipschitzClassifier",
    "LipschitzRegressor",
    "get_regularizer",
    "regularizer_names",
    "__version__",
]
