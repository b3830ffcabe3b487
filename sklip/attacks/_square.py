"""Square Attack: a black-box attack by random search, L∞ and L2.

Andriushchenko, Croce, Flammarion, Hein, *Square Attack: a query-efficient
black-box adversarial attack via random search*, ECCV 2020. It uses only
the network's outputs, never a gradient, so a network that hides its
gradients (gradient masking) does not fool it: when Square breaks points
that the gradient attacks could not, the gradient attacks were misled.

Every iteration changes the perturbation inside one random square window
of the image (for a flat input of ``d = s²`` features, the ``s × s``
image; other inputs as given by ``image_shape``) and keeps the change for
the samples where it lowered the logit margin ``z_y − max_{j≠y} z_j``
(for a regressor: raised the squared error). The window covers a fraction
``p`` of the image that starts at ``p_init`` and halves on the paper's
schedule. For L∞ the new window is ``±eps`` per channel; for L2 it is a
pair of opposite "pseudo-Gaussian" bumps and the perturbation keeps norm
``eps``, mass being moved from a second window.
"""

import functools
import math

import numpy as np
import torch

from .._validation import check_int, check_real
from ._base import Attack
from ._checks import check_attack_random_state, check_clamp, check_norm
from ._losses import check_loss, margin_loss, squared_error_loss
from ._runs import worst_of_runs

__all__ = ["SquareAttack"]

#: Fractions of the budget after which ``p`` halves (the paper's schedule
#: for 10,000 queries, scaled to ``n_queries``).
_SCHEDULE = (0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8)


def window_fraction(p_init, i, n_queries):
    """Fraction of the image one iteration changes (halving schedule)."""
    done = i / n_queries
    return p_init / 2 ** sum(done > point for point in _SCHEDULE)


@functools.lru_cache(maxsize=256)
def _bump(rows, cols):
    """Concentric rectangles weighted 1/(k+1)², unit Frobenius norm."""
    delta = np.zeros((rows, cols))
    r, c = rows // 2, cols // 2
    for k in range(max(rows // 2 + 1, cols // 2 + 1)):
        delta[max(r, 0):min(r + 2 * k + 1, rows),
              max(c, 0):min(c + 2 * k + 1, cols)] += 1.0 / (k + 1) ** 2
        r, c = r - 1, c - 1
    return delta / np.sqrt(np.sum(delta ** 2))


@functools.lru_cache(maxsize=256)
def _pair_of_bumps(rows, cols, transpose):
    """Two opposite bumps side by side (the paper's L2 update), unit norm."""
    if transpose:
        return _pair_of_bumps(cols, rows, False).T
    if rows == 1:
        if cols == 1:
            return np.ones((1, 1))
        return _pair_of_bumps(cols, 1, False).T
    delta = np.zeros((rows, cols))
    half = rows // 2
    delta[:half] = _bump(half, cols)
    delta[half:] = -_bump(rows - half, cols)
    return delta / np.sqrt(np.sum(delta ** 2))


class SquareAttack(Attack):
    """Square Attack (Andriushchenko et al., ECCV 2020), black-box.

    Parameters
    ----------
    eps : float
        Radius (≥ 0) in the chosen norm.
    norm : {2, "inf"}, default=2
        2 or ``"inf"`` (also ``np.inf``).
    n_queries : int, default=5000
        Iterations, one forward pass of the samples still correctly
        classified each (the budget of AutoAttack's standard version).
    p_init : float, default=0.8
        Initial fraction of the image changed per iteration (AutoAttack's
        value; the paper uses 0.05 for L∞ and 0.1 for L2 on ImageNet).
    n_restarts : int, default=1
        Runs on the samples not yet misclassified.
    image_shape : tuple of int or None, default=None
        ``(channels, height, width)`` or ``(height, width)`` of one sample,
        where the windows are drawn. ``None`` takes the input's own shape
        for ``(n, c, h, w)`` and ``(n, h, w)`` inputs, ``(1, s, s)`` for a
        flat input of ``s²`` features, and ``(1, 1, d)`` (windows are
        runs of neighbouring features) otherwise.
    loss : {None, "margin", "squared_error"}, default=None
        What is searched: ``None`` is the logit margin for a classifier and
        the squared error for a regressor.
    clamp : (float, float) or None, default=None
        Data range ``(low, high)`` of the perturbed inputs.
    random_state : int, RandomState or None, default=None
        Seeds the search; ``None`` uses torch's global random state.

    See Also
    --------
    WorstCaseAttack : Square as the last member of the strong ensemble.

    Notes
    -----
    The attack needs only ``module(X)``: it can check gradient-based
    figures on any network, including ones whose gradients are useless.

    Examples
    --------
    >>> from sklip.attacks import SquareAttack
    >>> SquareAttack(eps=2.0, n_queries=1000, random_state=0).p_init
    0.8
    """

    name = "square"
    needs_gradients = False
    radius_param = "eps"

    def __init__(self, eps, norm=2, n_queries=5000, p_init=0.8, n_restarts=1,
                 image_shape=None, loss=None, clamp=None, random_state=None):
        self.eps = eps
        self.norm = norm
        self.n_queries = n_queries
        self.p_init = p_init
        self.n_restarts = n_restarts
        self.image_shape = image_shape
        self.loss = loss
        self.clamp = clamp
        self.random_state = random_state

    def validate(self):
        check_real(self.eps, "eps", min_val=0)
        check_norm(self.norm)
        check_int(self.n_queries, "n_queries", min_val=1)
        check_real(self.p_init, "p_init", min_val=0, max_val=1,
                   include_boundaries="right")
        check_int(self.n_restarts, "n_restarts", min_val=1)
        if self.image_shape is not None:
            shape = self.image_shape
            if not isinstance(shape, (tuple, list)) or len(shape) not in (2, 3) \
                    or not all(isinstance(v, (int, np.integer)) and v > 0
                               for v in shape):
                raise ValueError(
                    "image_shape must be None or a (channels, height, width) "
                    f"or (height, width) tuple of positive ints, got "
                    f"{shape!r}.")
        check_loss(self.loss, choices=("margin", "squared_error"))
        check_clamp(self.clamp)
        check_attack_random_state(self.random_state)
        return self

    def perturb(self, module, X, y=None, loss_fn=None, *, generator=None):
        X, y, generator = self._start(module, X, y, loss_fn, generator)
        if float(self.eps) == 0 or X.shape[0] == 0:
            return self._clamp(X.clone())
        if loss_fn is not None:
            raise ValueError(
                "SquareAttack searches the logit margin (classifiers) or the "
                "squared error (regressors); choose with loss=, not loss_fn.")
        y, _, classify = self._targets(module, X, y, None)
        if classify and self.loss == "squared_error":
            raise ValueError("loss='squared_error' is for regressors; a "
                             "classifier takes loss='margin' or None.")
        if not classify and self.loss == "margin":
            raise ValueError("loss='margin' needs class labels; a regressor "
                             "takes loss='squared_error' or None.")
        shape = self._image_shape(X)

        def run(rows):
            return self._run(module, X[rows], y[rows], classify, shape,
                             generator)

        return worst_of_runs(module, X, y, classify,
                             [run] * int(self.n_restarts))

    perturb.__doc__ = Attack.perturb.__doc__

    def _image_shape(self, X):
        n_features = X[0].numel()
        if self.image_shape is not None:
            shape = tuple(int(v) for v in self.image_shape)
            shape = shape if len(shape) == 3 else (1, *shape)
            if math.prod(shape) != n_features:
                raise ValueError(
                    f"image_shape {self.image_shape!r} has "
                    f"{math.prod(shape)} elements but a sample has "
                    f"{n_features} features.")
            return shape
        if X.dim() == 4:
            return tuple(X.shape[1:])
        if X.dim() == 3:
            return (1, *X.shape[1:])
        side = math.isqrt(n_features)
        return (1, side, side) if side * side == n_features \
            else (1, 1, n_features)

    def _run(self, module, X, y, classify, shape, generator):
        """One search; per sample the first point that fools the model (or,
        for a regressor, the point of highest error)."""
        eps, norm = float(self.eps), check_norm(self.norm)
        clamp = check_clamp(self.clamp)
        images = X.reshape(X.shape[0], *shape)

        def objective(candidate, target):
            # lower is better for the attacker; < 0 means fooled
            with torch.no_grad():
                outputs = module(candidate.reshape(-1, *X.shape[1:]))
            if classify:
                return -margin_loss(outputs, target)
            return -squared_error_loss(outputs, target)

        def clip(x):
            return x if clamp is None else x.clamp(*clamp)

        init, step = ((self._init_linf, self._step_linf) if norm == "inf"
                      else (self._init_l2, self._step_l2))
        delta = init(images, eps, generator)
        best = clip(images + delta)
        best_value = objective(best, y)
        for i in range(int(self.n_queries)):
            alive = (best_value > 0).nonzero().squeeze(1) if classify \
                else torch.arange(X.shape[0], device=X.device)
            if alive.numel() == 0:
                break
            x0, xb = images[alive], best[alive]
            p = window_fraction(float(self.p_init), i, int(self.n_queries))
            candidate = clip(step(x0, xb, eps, p, generator))
            value = objective(candidate, y[alive])
            improved = value < best_value[alive]
            rows = alive[improved]
            best[rows] = candidate[improved]
            best_value[rows] = value[improved]
        return best.reshape(X.shape)

    # ------------------------------------------------------------------
    # L∞
    # ------------------------------------------------------------------
    @staticmethod
    def _init_linf(images, eps, generator):
        """Vertical stripes of ±eps (the paper's initialisation)."""
        n, c, _, w = images.shape
        return eps * _signs((n, c, 1, w), images, generator)

    @staticmethod
    def _step_linf(x0, xb, eps, p, generator):
        n, c, h, w = x0.shape
        (r, q), (sh, sw) = _window(h, w, p, 1, generator)
        delta = xb - x0
        delta[:, :, r:r + sh, q:q + sw] = eps * _signs((n, c, 1, 1), x0,
                                                       generator)
        return x0 + delta

    # ------------------------------------------------------------------
    # L2
    # ------------------------------------------------------------------
    @staticmethod
    def _init_l2(images, eps, generator):
        """A grid of pairs of bumps with random signs, scaled to norm eps."""
        n, c, h, w = images.shape
        size = max(min(h, w) // 5, 1)
        delta = torch.zeros_like(images)
        r0, q0 = (h - size * (h // size)) // 2, (w - size * (w // size)) // 2
        bump = torch.as_tensor(_pair_of_bumps(size, size, False),
                               dtype=images.dtype, device=images.device)
        for r in range(r0, r0 + size * (h // size), size):
            for q in range(q0, q0 + size * (w // size), size):
                delta[:, :, r:r + size, q:q + size] += bump * _signs(
                    (n, c, 1, 1), images, generator)
        return delta * (eps / _norms(delta)).view(-1, 1, 1, 1)

    @staticmethod
    def _step_l2(x0, xb, eps, p, generator):
        n, c, h, w = x0.shape
        delta = xb - x0
        (r, q), (sh, sw) = _window(h, w, p, 3, generator)
        (r2, q2), _ = _window(h, w, (sh * sw) / (h * w), 3, generator,
                              size=(sh, sw))
        window = delta[:, :, r:r + sh, q:q + sw]
        window_norm = window.flatten(2).norm(dim=2).view(n, c, 1, 1)
        mask = torch.zeros((h, w), dtype=torch.bool, device=x0.device)
        mask[r:r + sh, q:q + sw] = True
        mask[r2:r2 + sh, q2:q2 + sw] = True
        both_norm = (delta * mask).flatten(2).norm(dim=2).view(n, c, 1, 1)
        # The mass available: what the image lacks to reach eps, spread
        # over the channels, plus what the two windows hold now.
        room = (eps ** 2 - _norms(delta) ** 2).clamp_min(0).view(n, 1, 1, 1)
        transpose = sh == sw and bool(torch.rand(
            (), generator=generator, device=x0.device) > 0.5)
        bump = torch.as_tensor(_pair_of_bumps(sh, sw, transpose),
                               dtype=x0.dtype, device=x0.device)
        new = bump * _signs((n, c, 1, 1), x0, generator) \
            + window / (window_norm + 1e-10)
        new = new / new.flatten(2).norm(dim=2).clamp_min(1e-12).view(
            n, c, 1, 1) * (room / c + both_norm ** 2).sqrt()
        delta[:, :, r2:r2 + sh, q2:q2 + sw] = 0
        delta[:, :, r:r + sh, q:q + sw] = new
        return x0 + delta * (eps / _norms(delta)).view(-1, 1, 1, 1)


def _norms(delta):
    """Per-sample Euclidean norms, kept away from zero."""
    return delta.flatten(1).norm(dim=1).clamp_min(1e-12)


def _signs(shape, like, generator):
    """Random ±1 of ``shape``."""
    bits = torch.randint(0, 2, shape, generator=generator, device=like.device)
    return (2 * bits - 1).to(like.dtype)


def _window(h, w, p, smallest, generator, size=None):
    """Top-left corner and size of a random window covering about ``p`` of
    an ``h × w`` image (odd sides of at least ``smallest`` for L2, as in
    the paper), clipped to the image."""
    if size is None:
        side = max(int(round(math.sqrt(p * h * w))), smallest)
        if smallest > 1 and side % 2 == 0:
            side += 1
        size = (min(side, h), min(side, w))
    sh, sw = size
    device = generator.device if generator is not None else "cpu"
    corner = torch.randint(0, h - sh + 1, (), generator=generator,
                           device=device), \
        torch.randint(0, w - sw + 1, (), generator=generator, device=device)
    return (int(corner[0]), int(corner[1])), (sh, sw)
