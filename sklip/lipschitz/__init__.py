"""Lower, upper and exact Lipschitz constants of a network, and certificates.

``Lip(f)``, the supremum of ``||f(u) - f(v)|| / ||u - v||`` (Euclidean norms),
cannot be computed exactly for a general network: the problem is NP-hard
(Scaman & Virmaux, *Lipschitz regularity of deep neural networks: analysis and
efficient estimation*, NeurIPS 2018). This module brackets it instead, for a
fitted sklip estimator or any :class:`torch.nn.Module`, always measuring the
network in evaluation mode (the function ``predict`` uses):

- :func:`lipschitz_lower_bound`: empirical lower bounds, from the adversarial
  pair search of CLIP (Bungert, Raab, Roith, Schwinn, Tenbrinck, *CLIP: Cheap
  Lipschitz Training of Neural Networks*, SSVM 2021, arXiv:2103.12531) seeded
  from data, and from the largest input-Jacobian spectral norm over data;
- :func:`lipschitz_upper_bound`: the product of the layers' operator norms
  (the "AutoLip" bound of Scaman & Virmaux 2018);
- :func:`lipschitz_exact_1d`: the exact constant of a network with a single
  input on an interval, from a fine grid;
- :func:`certify`: which points provably keep their prediction within
  radius ``eps``, as a :class:`Certificate`, by the tightest margin bound
  the network admits: ``"product"`` (the margin exceeds ``sqrt(2) * L *
  eps``; Tsuzuku, Sato & Sugiyama, *Lipschitz-Margin Training*, NeurIPS
  2018), ``"pairwise"`` (per class pair, from the last layer's rows; Leino,
  Wang & Fredrikson, *Globally-Robust Neural Networks*, ICML 2021) or
  ``"local"`` (on the ball around each point, without the ReLUs that are
  constant there; Huang et al., *Training Certifiably Robust Neural
  Networks with Efficient Local Lipschitz Bounds*, NeurIPS 2021);
- :func:`certified_accuracy`: the share of those points.
"""

from ._certified import Certificate, certified_accuracy, certify
from ._exact import lipschitz_exact_1d
from ._lower import LOWER_BOUND_METHODS, lipschitz_lower_bound
from ._upper import lipschitz_upper_bound

__all__ = [
    "lipschitz_lower_bound",
    "lipschitz_upper_bound",
    "lipschitz_exact_1d",
    "certify",
    "certified_accuracy",
    "Certificate",
    "LOWER_BOUND_METHODS",
]
