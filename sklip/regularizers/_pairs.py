"""Adversarial search for input pairs with a large difference quotient.

Computing ``Lip(f)`` is NP-hard (Scaman & Virmaux, NeurIPS 2018), so CLIP
(Bungert et al., *CLIP: Cheap Lipschitz Training of Neural Networks*, SSVM
2021) keeps a finite set of pairs ``X_lip`` and pushes every pair uphill on
the squared difference quotient

    q(u, v) = ||f(u) - f(v)|| / ||u - v||

by gradient ascent. Each pair has its own step size ``tau`` that grows by
``step_factor`` after a step that raised ``q`` and shrinks by it otherwise,
in which case the step is undone. The same search serves the ``clip`` and
``sumlip`` regularisers and the empirical lower bound of
:mod:`sklip.lipschitz`.
"""

import torch

__all__ = ["PAIR_INITS", "difference_quotients", "ascend_pairs", "climb_pairs",
           "seed_pairs",
           "keep_apart", "data_scale", "PairSearch"]

#: Ways to seed the pairs from data (SPEC §2).
PAIR_INITS = ("plain", "partial_random", "noise")

# Below this input distance a quotient is numerically meaningless.
_MIN_DISTANCE = 1e-12

# Pairs are kept at least this fraction of the data's spread apart. Left
# alone, the ascent pushes the two points together until the quotient
# measures float32 rounding of f rather than its slope.
RELATIVE_MIN_DISTANCE = 1e-3


def difference_quotients(module, u, v):
    """Difference quotient ``q(u_i, v_i)`` of every pair, in one forward pass.

    Parameters
    ----------
    module : torch.nn.Module
        The network ``f``.
    u, v : torch.Tensor of shape ``(m, *input_shape)``
        The pairs.

    Returns
    -------
    q : torch.Tensor of shape (m,)
        ``||f(u_i) - f(v_i)|| / ||u_i - v_i||`` with Euclidean norms over all
        non-batch dimensions. Differentiable in ``u``, ``v`` and the weights.
    """
    m = u.shape[0]
    out = module(torch.cat([u, v]))
    return _quotients_from_outputs(out[:m], out[m:], u, v)


def _quotients_from_outputs(fu, fv, u, v):
    numerator = (fu - fv).flatten(1).norm(dim=1)
    denominator = (u - v).flatten(1).norm(dim=1).clamp_min(_MIN_DISTANCE)
    return numerator / denominator


def _value_and_grad(module, u, v):
    # Only the inputs need gradients here: asking autograd for them alone
    # skips the weight gradients of a full backward pass.
    u = u.detach().requires_grad_(True)
    v = v.detach().requires_grad_(True)
    with torch.enable_grad():
        q = difference_quotients(module, u, v)
        grad_u, grad_v = torch.autograd.grad(q.square().sum(), (u, v))
    return q.detach(), grad_u, grad_v


def _pair_norm(grad_u, grad_v):
    squares = grad_u.flatten(1).square().sum(1) + grad_v.flatten(1).square().sum(1)
    return squares.sqrt().clamp_min(torch.finfo(grad_u.dtype).tiny)


def _expand(values, like):
    return values.view(-1, *([1] * (like.dim() - 1)))


def ascend_pairs(module, u, v, step_size, n_iter=1, step_factor=1.3,
                 project=None):
    """Gradient ascent on ``q(u, v)**2`` with an adaptive step per pair.

    Each step moves a pair a distance ``step_size`` along the normalised
    gradient of ``q**2`` with respect to ``(u, v)``. A step that raises ``q``
    is kept and multiplies that pair's step size by ``step_factor``; a step
    that does not is undone and divides it by ``step_factor``. Normalising
    the gradient makes ``step_size`` a length in input units, so one default
    works whatever the scale of the network's outputs.

    Parameters
    ----------
    module : torch.nn.Module
        The network ``f``; its weights are not changed and get no gradient.
    u, v : torch.Tensor of shape ``(m, *input_shape)``
        Starting pairs.
    step_size : torch.Tensor of shape (m,)
        Step length of each pair.
    n_iter : int, default=1
        Number of ascent steps.
    step_factor : float, default=1.3
        Growth factor after a successful step, shrink factor after a failed
        one (1.3 in the CLIP reference).
    project : callable or None, default=None
        ``project(u, v) -> (u, v)`` applied after every step, e.g. the
        projection onto a sphere of pTV.

    Returns
    -------
    u, v : torch.Tensor
        The improved pairs (detached).
    q : torch.Tensor of shape (m,)
        Their difference quotients (detached).
    step_size : torch.Tensor of shape (m,)
        The adapted step sizes.
    """
    q, grad_u, grad_v = _value_and_grad(module, u, v)
    u, v = u.detach(), v.detach()
    for _ in range(n_iter):
        new_u, new_v = _step(u, v, grad_u, grad_v, step_size, project)
        new_q, new_grad_u, new_grad_v = _value_and_grad(module, new_u, new_v)
        better = new_q > q  # NaN compares False: a diverged step is undone
        step_size = torch.where(better, step_size * step_factor,
                                step_size / step_factor)
        keep = _expand(better, u)
        u, v = torch.where(keep, new_u, u), torch.where(keep, new_v, v)
        grad_u = torch.where(keep, new_grad_u, grad_u)
        grad_v = torch.where(keep, new_grad_v, grad_v)
        q = torch.where(better, new_q, q)
    return u, v, q, step_size


def _step(u, v, grad_u, grad_v, step_size, project):
    scale = _expand(step_size / _pair_norm(grad_u, grad_v), u)
    new_u, new_v = u + scale * grad_u, v + scale * grad_v
    if project is not None:
        new_u, new_v = project(new_u, new_v)
    return new_u, new_v


def climb_pairs(module, u, v, step_size, n_iter=1, project=None):
    """Fixed-step gradient ascent on ``q(u, v)**2`` (the slides' pTV).

    Every step moves each pair a distance ``step_size`` along the normalised
    gradient and is always kept: there is no acceptance test, so ``n_iter``
    steps cost ``n_iter`` gradient evaluations instead of the ``n_iter + 1``
    of :func:`ascend_pairs`.

    Parameters
    ----------
    module : torch.nn.Module
        The network; its weights get no gradient.
    u, v : torch.Tensor of shape ``(m, *input_shape)``
        Starting pairs.
    step_size : torch.Tensor of shape (m,)
        Step length of each pair.
    n_iter : int, default=1
        Number of steps.
    project : callable or None, default=None
        ``project(u, v) -> (u, v)`` applied after every step.

    Returns
    -------
    u, v : torch.Tensor
        The moved pairs (detached).
    """
    u, v = u.detach(), v.detach()
    for _ in range(n_iter):
        _, grad_u, grad_v = _value_and_grad(module, u, v)
        u, v = _step(u, v, grad_u, grad_v, step_size, project)
    return u, v


def seed_pairs(X, n_pairs, init="plain", noise_scale=0.1, generator=None):
    """Draw ``n_pairs`` starting pairs from the data ``X``.

    Parameters
    ----------
    X : torch.Tensor of shape ``(n, *input_shape)``
        Data to seed from (a training batch).
    n_pairs : int
        Number of pairs.
    init : {"plain", "partial_random", "noise"}, default="plain"
        ``"plain"`` pairs two different data points; ``"partial_random"``
        pairs a data point with a copy moved by Gaussian noise of standard
        deviation ``noise_scale`` times the data's standard deviation;
        ``"noise"`` draws both points from a Gaussian with the data's
        per-feature mean and standard deviation.
    noise_scale : float, default=0.1
        Relative noise level of ``"partial_random"``.
    generator : torch.Generator or None
        Source of randomness (on ``X``'s device).

    Returns
    -------
    u, v : torch.Tensor of shape ``(n_pairs, *input_shape)``
    """
    if init not in PAIR_INITS:
        raise ValueError(
            f"pair init must be one of {list(PAIR_INITS)}, got {init!r}.")
    n = X.shape[0]
    device = X.device

    def randint(size):
        return torch.randint(n, (size,), device=device, generator=generator)

    def randn(like):
        return torch.randn(like.shape, device=device, dtype=like.dtype,
                           generator=generator)

    if init == "noise":
        mean = X.mean(0, keepdim=True)
        std = X.std(0, keepdim=True) if n > 1 else torch.ones_like(mean)
        u = mean + std * randn(X[:1].expand(n_pairs, *X.shape[1:]))
        v = mean + std * randn(u)
        return u, v
    first = randint(n_pairs)
    if init == "plain" and n > 1:
        # Offsetting the second index by 1..n-1 never pairs a point with itself.
        offset = 1 + torch.randint(n - 1, (n_pairs,), device=device,
                                   generator=generator)
        u, v = X[first], X[(first + offset) % n]
    else:
        u = X[first]
        v = u + noise_scale * data_scale(X) * randn(u)
    # Identical points (duplicated rows) have no quotient: nudge them apart.
    same = (u - v).flatten(1).norm(dim=1) <= _MIN_DISTANCE
    if bool(same.any()):
        v = torch.where(_expand(same, v),
                        v + noise_scale * data_scale(X) * randn(v), v)
    return u, v


def data_scale(X):
    """Overall spread of the data (standard deviation of all entries)."""
    scale = X.std() if X.numel() > 1 else X.abs().max()
    return scale if float(scale) > 0 else torch.ones((), device=X.device)


def keep_apart(min_distance):
    """Projection that moves the points of a pair apart to ``min_distance``.

    Parameters
    ----------
    min_distance : float
        Smallest allowed distance ``||u - v||``.

    Returns
    -------
    callable
        ``project(u, v) -> (u, v)`` for :func:`ascend_pairs`; pairs closer
        than ``min_distance`` are spread symmetrically about their midpoint.
    """
    def project(u, v):
        diff = (u - v).flatten(1)
        distance = diff.norm(dim=1, keepdim=True)
        short = distance < min_distance
        half = (0.5 * min_distance * diff
                / distance.clamp_min(torch.finfo(diff.dtype).tiny))
        middle = ((u + v) / 2).flatten(1)
        # torch.where instead of a data-dependent branch: no host sync.
        new_u = torch.where(short, middle + half, u.flatten(1))
        new_v = torch.where(short, middle - half, v.flatten(1))
        return new_u.view_as(u), new_v.view_as(v)
    return project


class PairSearch:
    """A persistent set ``X_lip`` of input pairs kept across training steps.

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
    u, v : torch.Tensor or None
        Current pairs (``None`` before the first update).
    step_sizes : torch.Tensor or None
        Current step size of each pair.
    min_distance : float
        Pairs are kept this far apart (a small fraction of the data's
        spread, set when seeding).
    quotients : torch.Tensor or None
        Difference quotients of the current pairs, as last evaluated.
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
        self.u = self.v = self.step_sizes = self.quotients = None
        self.min_distance = 0.0
        self.n_updates = 0

    def seed(self, X, generator=None):
        """Seed fresh pairs from ``X`` and reset the step sizes."""
        self.u, self.v = seed_pairs(X, self.n_pairs, self.init,
                                    self.noise_scale, generator)
        self.step_sizes = torch.full((self.n_pairs,), float(self.step_size),
                                     device=X.device, dtype=X.dtype)
        self.min_distance = RELATIVE_MIN_DISTANCE * float(data_scale(X))
        self.n_updates = 0

    def update(self, module, X, generator=None):
        """Re-seed if due, then make ``n_iter`` ascent steps.

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
        u, v, q : torch.Tensor
            The improved pairs and their (detached) quotients.
        """
        stale = self.u is None or self.u.shape[1:] != X.shape[1:] \
            or self.u.device != X.device
        due = self.reset_every is not None and self.n_updates >= self.reset_every
        if stale or due:
            self.seed(X, generator)
        self.u, self.v, self.quotients, self.step_sizes = ascend_pairs(
            module, self.u, self.v, self.step_sizes, self.n_iter,
            self.step_factor, project=keep_apart(self.min_distance))
        self.n_updates += 1
        return self.u, self.v, self.quotients
