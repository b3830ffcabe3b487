"""The persistent pair set ``X_lip`` of CLIP and SumLip.

Computing ``Lip(f)`` is NP-hard (Scaman & Virmaux, NeurIPS 2018), so CLIP
(Bungert et al., *CLIP: Cheap Lipschitz Training of Neural Networks*, SSVM
2021) keeps a finite set of pairs ``X_lip``, seeded from training data, and
pushes every pair uphill on the difference quotient by gradient ascent
(:mod:`sklip.functional`) from one training step to the next. Each pair has
its own step size ``tau``, adapted by one of two rules
(:class:`PairSearch`): the reference's, which undoes a step that did not
raise ``q``, or a sign rule that needs no evaluation beyond the gradient.
"""

import torch

from .._validation import check_buffer_size
from ..functional._quotients import (_apart, _ascend_stacked, _halves, _step,
                                     _value_and_grad)
from ..functional._seeding import data_scale, seed_pairs

__all__ = ["STEP_RULES", "PairSearch"]

# Pairs are kept at least this fraction of the data's spread apart. Left
# alone, the ascent pushes the two points together until the quotient
# measures float32 rounding of f rather than its slope.
RELATIVE_MIN_DISTANCE = 1e-3


#: How a pair's step size adapts (see :class:`PairSearch`).
STEP_RULES = ("sign", "accept")


class PairSearch:
    """A persistent set ``X_lip`` of input pairs kept across training steps.

    Two rules adapt each pair's step size ``tau``; the caller picks one by
    the method it calls:

    - ``"accept"`` (the CLIP reference; :meth:`update`, :meth:`ascend`):
      after a step, evaluate the
      quotients again; a step that raised ``q`` is kept and multiplies
      ``tau`` by ``step_factor``, one that did not is undone and divides
      it. The test costs a forward pass of all pairs per training step.
    - ``"sign"`` (:meth:`climb`, :meth:`climb_tracked`): every step is
      kept; ``tau`` grows when the new gradient still points the way of the last one (the pair is still climbing) and
      shrinks when it turns back (the pair stepped over a ridge of ``q``),
      as in Rprop (Riedmiller & Braun, 1993). It needs no evaluation beyond
      the gradient, which the regularisers take from passes they make
      anyway.

    Parameters
    ----------
    n_pairs : int
        Number of pairs ``m``.
    init : {"plain", "partial_random", "noise"}
        How pairs are seeded (see :func:`seed_pairs`).
    n_iter : int
        Ascent steps per call of :meth:`update`.
    step_size : float
        Initial step length of every pair.
    step_factor : float
        Adaptive factor of the step sizes.
    reset_every : int or None
        Re-seed the pairs every this many updates; ``None`` never re-seeds.
    noise_scale : float
        Relative noise of the ``"partial_random"`` seeding.

    Attributes
    ----------
    pairs : torch.Tensor or None
        Current pairs stacked as ``[u; v]``, ``2 * n_pairs`` rows (``None``
        before the first update).
    u, v : torch.Tensor or None
        The two halves of ``pairs`` (views).
    step_sizes : torch.Tensor or None
        Current step size of each pair.
    min_distance : float
        Pairs are kept this far apart (a small fraction of the data's
        spread, set when seeding).
    squared_quotients : torch.Tensor or None
        ``q**2`` of the current pairs, as last evaluated (detached).
    quotients : torch.Tensor or None
        Their difference quotients ``q``.
    n_updates : int
        Updates since the last seeding.
    """

    def __init__(self, n_pairs, init="plain", n_iter=1, step_size=0.1,
                 step_factor=1.3, reset_every=None, noise_scale=0.1):
        self.n_pairs = n_pairs
        self.init = init
        self.n_iter = n_iter
        self.step_size = step_size
        self.step_factor = step_factor
        self.reset_every = reset_every
        self.noise_scale = noise_scale
        self.pairs = self.step_sizes = self.squared_quotients = None
        self._last_grad = self._tracked = None
        self.min_distance = 0.0
        self.n_updates = 0

    @property
    def u(self):
        return None if self.pairs is None else self.pairs[:self.n_pairs]

    @property
    def v(self):
        return None if self.pairs is None else self.pairs[self.n_pairs:]

    @property
    def quotients(self):
        q2 = self.squared_quotients
        return None if q2 is None else q2.sqrt()

    @staticmethod
    def check_size(n_pairs, X):
        """Refuse ``n_pairs`` whose buffers for inputs shaped like ``X`` (an
        array or tensor) would not fit in memory, before any allocation."""
        n_values = 1
        for size in X.shape[1:]:
            n_values *= int(size)
        # Both ends of every pair, their gradients and the ascent's copies.
        check_buffer_size(8 * X.itemsize * n_pairs * max(1, n_values),
                          "n_pairs", n_pairs)

    def seed(self, X, generator=None):
        """Seed fresh pairs from ``X`` and reset the step sizes."""
        self.check_size(self.n_pairs, X)
        u, v = seed_pairs(X, self.n_pairs, self.init, self.noise_scale,
                          generator)
        self.pairs = torch.cat([u, v])
        self.step_sizes = torch.full((self.n_pairs,), float(self.step_size),
                                     device=X.device, dtype=X.dtype)
        self.min_distance = RELATIVE_MIN_DISTANCE * float(data_scale(X))
        self._last_grad = self._tracked = None
        self.n_updates = 0

    def prepare(self, X, generator=None):
        """Re-seed from the batch ``X`` if due; count one training step.

        Returns
        -------
        reseeded : bool
            Whether the pairs were (re-)seeded.
        """
        stale = self.pairs is None or self.pairs.shape[1:] != X.shape[1:] \
            or self.pairs.device != X.device
        due = self.reset_every is not None and self.n_updates >= self.reset_every
        if stale or due:
            self.seed(X, generator)
        self.n_updates += 1
        return stale or due

    def update(self, module, X, generator=None):
        """Re-seed if due, then make ``n_iter`` ascent steps (accept rule).

        Parameters
        ----------
        module : torch.nn.Module
            The network.
        X : torch.Tensor
            The current batch, used for seeding.
        generator : torch.Generator or None
            Source of randomness for seeding.

        Returns
        -------
        pairs : torch.Tensor
            The improved pairs, stacked as ``[u; v]`` (detached).
        q2 : torch.Tensor of shape (n_pairs,)
            Their squared quotients (detached).
        """
        self.prepare(X, generator)
        return self.ascend(module)

    def ascend(self, module):
        """``n_iter`` ascent steps with the accept rule.

        Returns
        -------
        pairs, q2 : torch.Tensor
            As :meth:`update`.
        """
        self.pairs, self.squared_quotients, self.step_sizes = _ascend_stacked(
            module, self.pairs, self.n_pairs, self.step_sizes, self.n_iter,
            self.step_factor, self._project)
        return self.pairs, self.squared_quotients

    def evaluate(self, module):
        """Quotients and input gradient of the current pairs.

        Returns
        -------
        q2 : torch.Tensor of shape (n_pairs,)
            Squared quotients (detached; also stored).
        grad : torch.Tensor
            Gradient of ``sum(q**2)`` with respect to ``pairs``.
        """
        self.squared_quotients, grad = _value_and_grad(module, self.pairs,
                                                       self.n_pairs)
        return self.squared_quotients, grad

    def climb(self, grad):
        """One ascent step along ``grad`` with the sign rule.

        Parameters
        ----------
        grad : torch.Tensor
            An ascent direction of ``q`` (or any increasing function of it)
            with respect to ``pairs``, e.g. from :meth:`evaluate` or from
            the backward pass of a penalty on the pairs. Its scale does not
            matter.
        """
        m = self.n_pairs
        if self._last_grad is not None:
            agree = (_halves(grad, m) * _halves(self._last_grad, m)).sum((0, 2))
            self.step_sizes = self.step_sizes * torch.where(
                agree > 0, self.step_factor, 1 / self.step_factor)
        self.pairs = _step(self.pairs, grad, self.step_sizes, m,
                           self._project)
        self._last_grad = grad

    def _project(self, pairs):
        return _apart(pairs, self.n_pairs, self.min_distance)

    def track(self):
        """The pairs as a fresh leaf tensor that records its gradient.

        A penalty computed from the returned tensor and backpropagated with
        the training loss leaves the pairs' ascent direction in its
        ``grad``; :meth:`climb_tracked` then steps along it, so the
        training pass doubles as the ascent's gradient evaluation.
        """
        self._tracked = self.pairs.detach().requires_grad_(True)
        return self._tracked

    def climb_tracked(self):
        """Climb along the gradient left by the last :meth:`track` (if any).

        Returns
        -------
        bool
            Whether a step was made.
        """
        tracked, self._tracked = self._tracked, None
        if tracked is None or tracked.grad is None:
            return False
        self.climb(tracked.grad)
        return True

    def __getstate__(self):
        # The pending ascent direction lives in the ``grad`` of a leaf
        # tensor, which pickle and deepcopy drop: carry it explicitly so
        # that a copy continues training exactly like the original.
        state = dict(self.__dict__)
        tracked = state.pop("_tracked")
        state["_tracked_state"] = (None if tracked is None else
                                   (tracked.detach(), tracked.grad))
        return state

    def __setstate__(self, state):
        tracked = state.pop("_tracked_state", None)
        self.__dict__.update(state)
        self._tracked = None
        if tracked is not None:
            values, grad = tracked
            self._tracked = values.detach().requires_grad_(True)
            self._tracked.grad = grad
