"""Stateless Lipschitz maths shared by the regularisers, bounds and monitors.

Plain functions of a :class:`torch.nn.Module` and tensors, with every random
draw taken from the ``generator`` passed in:

- difference quotients and their gradient ascent on pairs of inputs
  (:func:`difference_quotients`, :func:`ascend_pairs`, :func:`climb_pairs`,
  :func:`keep_apart`), as in CLIP (Bungert et al., SSVM 2021);
- starting pairs from data (:func:`seed_pairs`, :func:`data_scale`);
- points on the spheres of pTV (:func:`sphere_points`,
  :func:`project_to_sphere`);
- input-Jacobian norms (:func:`input_jacobian_norms`, TV's penalty;
  :func:`jacobian_spectral_norms`, a lower bound of ``Lip(f)``);
- the pair-search lower bound of ``Lip(f)`` (:func:`pair_search_bound`).
"""

from ._bounds import pair_search_bound
from ._jacobian import input_jacobian_norms, jacobian_spectral_norms
from ._quotients import (ascend_pairs, climb_pairs, difference_quotients,
                         keep_apart)
from ._seeding import PAIR_INITS, data_scale, seed_pairs
from ._sphere import project_to_sphere, sphere_points

__all__ = [
    "difference_quotients",
    "ascend_pairs",
    "climb_pairs",
    "keep_apart",
    "seed_pairs",
    "data_scale",
    "PAIR_INITS",
    "sphere_points",
    "project_to_sphere",
    "input_jacobian_norms",
    "jacobian_spectral_norms",
    "pair_search_bound",
]
