"""Random Gaussian noise, the non-adversarial baseline of the robustness
tables (the "noise" column of the CLIP reference and the slides' Figure 15).

Bungert, Raab, Roith, Schwinn, Tenbrinck, *CLIP: Cheap Lipschitz Training of
Neural Networks*, SSVM 2021, report accuracy under noise of standard
deviation σ next to FGSM (Goodfellow et al., ICLR 2015) and PGD (Madry et
al., ICLR 2018) accuracy; this attack supplies that column.
"""

import torch

from .._validation import check_real
from ._base import Attack
from ._checks import check_attack_random_state, check_clamp

__all__ = ["NoiseAttack"]


class NoiseAttack(Attack):
    """Additive Gaussian noise: ``X_adv = X + sigma * N(0, I)``, clamped.

    The network, the targets and the loss are not used; they are accepted so
    that every attack has the same interface.

    Parameters
    ----------
    sigma : float
        Standard deviation of the noise (≥ 0), per input coordinate.
    clamp : (float, float) or None, default=None
        Data range ``(low, high)`` the noisy inputs are clipped to (which
        lowers the effective standard deviation near the bounds).
    random_state : int, RandomState or None, default=None
        Seeds the noise; with an int every call draws the same noise.
        ``None`` uses torch's global random state.

    Examples
    --------
    >>> import torch
    >>> from sklip.attacks import NoiseAttack
    >>> X = torch.zeros(1000, 10)
    >>> X_noisy = NoiseAttack(sigma=0.5, random_state=0).perturb(None, X)
    >>> round(float(X_noisy.std()), 1)
    0.5
    """

    name = "noise"
    needs_gradients = False
    radius_param = "sigma"

    def __init__(self, sigma, clamp=None, random_state=None):
        self.sigma = sigma
        self.clamp = clamp
        self.random_state = random_state

    def validate(self):
        check_real(self.sigma, "sigma", min_val=0)
        check_clamp(self.clamp)
        check_attack_random_state(self.random_state)
        return self

    def perturb(self, module, X, y=None, loss_fn=None, *, generator=None):
        X, _, generator = self._start(module, X, y, loss_fn, generator)
        sigma = float(self.sigma)
        if sigma == 0:
            return self._clamp(X.clone())
        noise = torch.randn(X.shape, generator=generator, device=X.device,
                            dtype=X.dtype)
        return self._clamp(X + sigma * noise)

    perturb.__doc__ = Attack.perturb.__doc__
