"""Robustness and Lipschitz metrics: array-level functions, scorers for
model selection, and a training callback.

Accuracy under FGSM (Goodfellow et al., ICLR 2015), PGD (Madry et al., ICLR
2018) and Gaussian noise, as reported by the CLIP paper (Bungert et al.,
SSVM 2021) and the slides' Figures 13–15, and under the worst case of
APGD, margin PGD and Square (Croce & Hein, ICML 2020), the figure to trust.

- Functions: :func:`adversarial_accuracy`, :func:`adversarial_error`,
  :func:`adversarial_mse`, :func:`robustness_curve`,
  :func:`attack_breakdown`.
- Scorers for ``scoring=`` (greater is better):
  :func:`worst_case_accuracy_scorer`, :func:`fgsm_accuracy_scorer`,
  :func:`pgd_accuracy_scorer`, :func:`noise_accuracy_scorer`,
  :func:`adversarial_neg_mse_scorer`, :func:`make_robustness_scorer`,
  :func:`lipschitz_scorer`.
- Callback: :class:`RobustnessScoring` records the score every epoch.
"""

from ._robustness import (adversarial_accuracy, adversarial_error,
                          adversarial_mse, attack_breakdown, robustness_curve)
from ._accuracy_scorers import (fgsm_accuracy_scorer, noise_accuracy_scorer,
                                pgd_accuracy_scorer,
                                worst_case_accuracy_scorer)
from ._scorers import (LipschitzScorer, RobustnessScorer,
                       adversarial_neg_mse_scorer, lipschitz_scorer,
                       make_robustness_scorer)
from ._training import RobustnessScoring

__all__ = [
    "adversarial_accuracy",
    "adversarial_error",
    "adversarial_mse",
    "robustness_curve",
    "attack_breakdown",
    "make_robustness_scorer",
    "worst_case_accuracy_scorer",
    "fgsm_accuracy_scorer",
    "pgd_accuracy_scorer",
    "noise_accuracy_scorer",
    "adversarial_neg_mse_scorer",
    "lipschitz_scorer",
    "RobustnessScorer",
    "LipschitzScorer",
    "RobustnessScoring",
]
