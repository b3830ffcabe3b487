"""sklip: Lipschitz-regularised neural networks as scikit-learn estimators.

The estimators :class:`LipschitzClassifier` and :class:`LipschitzRegressor`
train any :class:`torch.nn.Module` (by default a perceptron sized from the
data) with a Lipschitz penalty chosen by name (:mod:`sklip.regularizers`:
``"none"``, ``"clip"``, ``"sumlip"``, ``"tv"``, ``"ptv"``,
``"adversarial"``). :mod:`sklip.attacks` (FGSM, PGD, noise),
:mod:`sklip.metrics` (robustness scorers) and :mod:`sklip.lipschitz`
(Lipschitz bounds, certified accuracy) measure what it buys, on sklip's
estimators and on any other model: a pipeline, a skorch net, a scikit-learn
estimator, or a trained torch network as :class:`PretrainedClassifier`;
:mod:`sklip.model_selection` chooses λ by cross-validation along a
warm-started path (:class:`LipschitzClassifierCV`);
:mod:`sklip.benchmark` is the main job (``sklip benchmark``).
"""

from .estimators import LipschitzClassifier, LipschitzRegressor
from .model_selection import LipschitzClassifierCV, LipschitzRegressorCV
from .pretrained import PretrainedClassifier, PretrainedRegressor
from .regularizers import get_regularizer, regularizer_names

__version__ = "0.1.0"

__all__ = [
    "LipschitzClassifier",
    "LipschitzRegressor",
    "LipschitzClassifierCV",
    "LipschitzRegressorCV",
    "PretrainedClassifier",
    "PretrainedRegressor",
    "get_regularizer",
    "regularizer_names",
    "__version__",
]
