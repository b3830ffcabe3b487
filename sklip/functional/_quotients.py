"""Gradient ascent of difference quotients on pairs of inputs.

For a pair ``(u, v)`` the difference quotient is

    q(u, v) = ||f(u) - f(v)|| / ||u - v||,

and ``Lip(f)`` is its supremum. CLIP (Bungert et al., *CLIP: Cheap
Lipschitz Training of Neural Networks*, SSVM 2021) and pTV push pairs uphill
on ``q**2``; this module holds the steps they share: the quotients and
their input gradients in one pass of the stacked pairs ``[u; v]``, a step of
given length along the gradient normalised over both points of a pair, the
reference's adaptive ascent (a step that does not raise ``q`` is undone),
fixed-step ascent, and the projection that keeps a pair's points apart.
"""

import torch

__all__ = ["difference_quotients", "ascend_pairs", "climb_pairs",
           "keep_apart"]

# Below this input distance a quotient is numerically meaningless.
_MIN_DISTANCE = 1e-12


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


# The ascent works on the pairs stacked as one tensor ``[u; v]`` of 2m rows,
# so that each evaluation is a single forward pass with no concatenation,
# and on q² rather than q: the same maximisers and, after normalising, the
# same step direction, without the square roots of two norms.

def _halves(pairs, m):
    """``pairs`` as a ``(2, m, d)`` view: ``[0]`` is u, ``[1]`` is v."""
    return pairs.view(2, m, -1)


def _squared_quotients(out, pairs, m):
    out, pairs = _halves(out, m), _halves(pairs, m)
    numerator = (out[0] - out[1]).square().sum(1)
    denominator = (pairs[0] - pairs[1]).square().sum(1)
    return numerator / denominator.clamp_min(_MIN_DISTANCE ** 2)


def _value_and_grad(module, pairs, m):
    """``q**2`` of every pair and an ascent direction for it.

    Returns
    -------
    q2 : torch.Tensor of shape (m,)
    grad : torch.Tensor, shaped like ``pairs``
        ``||u - v||**2 / 2`` times the gradient of ``q**2`` with respect to
        ``pairs``: the gradient scaled by a positive number per pair, which
        normalised steps and sign tests do not see.
    """
    # With D = ||u - v||², d = u - v and r = f(u) - f(v),
    #     D/2 * grad_u q² = J_u^T r - q² d,   D/2 * grad_v q² = -J_v^T r + q² d,
    # so autograd is only needed for the network's vector-Jacobian product
    # (input gradients only: no weight gradients are computed).
    inputs = pairs.detach().requires_grad_(True)
    with torch.enable_grad():
        out = module(inputs)
    halves = _halves(out.detach(), m)
    r = halves[0] - halves[1]
    x = _halves(pairs.detach(), m)
    d = x[0] - x[1]
    q2 = r.square().sum(1) / d.square().sum(1).clamp_min(_MIN_DISTANCE ** 2)
    grad_out = _opposed(r).view_as(out)
    grad, = torch.autograd.grad(out, inputs, grad_out)
    grad, qd = _halves(grad, m), q2[:, None] * d
    return q2, torch.stack([grad[0] - qd, grad[1] + qd]).view_as(pairs)


def _opposed(t):
    """``[t; -t]``: a per-pair quantity with the sign of each half.

    Built from ``t`` itself, so no constant has to be copied to the device
    in a training step.
    """
    return torch.stack([t, -t])


def _value(module, pairs, m):
    # Deciding whether a step succeeded needs the quotients only: a forward
    # pass without a graph, a third of the cost of value and gradient.
    with torch.no_grad():
        return _squared_quotients(module(pairs), pairs, m)


def _expand(values, like):
    return values.view(-1, *([1] * (like.dim() - 1)))


def _step(pairs, grad, step_size, m, project):
    # Each pair moves ``step_size`` along its gradient, normalised over both
    # of its points, so the step is a length in input units.
    g = _halves(grad, m)
    norms = torch.linalg.vector_norm(g, dim=(0, 2))
    # A pair without gradient (flat network, or a penalty left out by
    # reg_max) stays where it is: its zero gradient times a finite scale.
    scale = step_size / norms.clamp_min(1e-30)
    moved = torch.addcmul(_halves(pairs, m), scale[:, None], g)
    moved = moved.view_as(pairs)
    return moved if project is None else project(moved)


def _stacked(project, m):
    """A ``project(u, v)`` as a function of stacked pairs."""
    if project is None:
        return None
    return lambda pairs: torch.cat(project(pairs[:m], pairs[m:]))


def _ascend_stacked(module, pairs, m, step_size, n_iter, step_factor,
                    project):
    """:func:`ascend_pairs` on stacked pairs; returns ``pairs, q2, steps``.

    ``project`` maps stacked pairs to stacked pairs.
    """
    if n_iter == 0:
        return pairs, _value(module, pairs, m), step_size
    q2, grad = _value_and_grad(module, pairs, m)
    for i in range(n_iter):
        candidate = _step(pairs, grad, step_size, m, project)
        last = i == n_iter - 1
        # The gradient at the candidate is only needed for a further step.
        if last:
            new_q2 = _value(module, candidate, m)
        else:
            new_q2, new_grad = _value_and_grad(module, candidate, m)
        better = new_q2 > q2  # NaN compares False: a diverged step is undone
        step_size = step_size * torch.where(better, step_factor,
                                            1 / step_factor)
        keep = _expand(better.repeat(2), pairs)
        pairs = torch.where(keep, candidate, pairs)
        q2 = torch.where(better, new_q2, q2)
        if not last:
            grad = torch.where(keep, new_grad, grad)
    return pairs, q2, step_size


def ascend_pairs(module, u, v, step_size, n_iter=1, step_factor=1.3,
                 project=None):
    """Gradient ascent on ``q(u, v)**2`` with an adaptive step per pair.

    Each step moves a pair a distance ``step_size`` along the normalised
    gradient of ``q**2`` with respect to ``(u, v)``. A step that raises ``q``
    is kept and multiplies that pair's step size by ``step_factor``; a step
    that does not is undone and divides it by ``step_factor``. Normalising
    the gradient makes ``step_size`` a length in input units, so one default
    works whatever the scale of the network's outputs.

    ``n_iter`` steps cost ``n_iter`` forward-and-input-gradient passes and
    one forward pass: the last step is judged from the quotients alone.

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
    m = u.shape[0]
    pairs = torch.cat([u.detach(), v.detach()])
    pairs, q2, step_size = _ascend_stacked(module, pairs, m, step_size,
                                           n_iter, step_factor,
                                           _stacked(project, m))
    return pairs[:m], pairs[m:], q2.sqrt(), step_size


def climb_pairs(module, u, v, step_size, n_iter=1, project=None):
    """Fixed-step gradient ascent on ``q(u, v)**2`` (the slides' pTV).

    Every step moves each pair a distance ``step_size`` along the normalised
    gradient and is always kept: there is no acceptance test, so ``n_iter``
    steps cost ``n_iter`` gradient evaluations and no extra forward pass.

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
    m = u.shape[0]
    pairs = _climb_stacked(module, torch.cat([u.detach(), v.detach()]), m,
                           step_size, n_iter, _stacked(project, m))
    return pairs[:m], pairs[m:]


def _climb_stacked(module, pairs, m, step_size, n_iter, project):
    """:func:`climb_pairs` on stacked pairs (``project`` maps stacked
    pairs to stacked pairs)."""
    for _ in range(n_iter):
        _, grad = _value_and_grad(module, pairs, m)
        pairs = _step(pairs, grad, step_size, m, project)
    return pairs


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
        m = u.shape[0]
        pairs = _apart(torch.cat([u, v]), m, min_distance)
        return pairs[:m], pairs[m:]
    return project


def _apart(pairs, m, min_distance):
    """:func:`keep_apart` on stacked pairs."""
    x = _halves(pairs, m)
    diff = x[0] - x[1]
    distance = torch.linalg.vector_norm(diff, dim=1, keepdim=True)
    if pairs.device.type == "cpu" and not bool(
            (distance < min_distance).any()):
        # Every pair is far enough apart (the usual case): the stretch
        # below would add zeros. On the CPU the test costs no device sync.
        return pairs
    # Each point moves out along the pair's difference by half the missing
    # distance; pairs already far enough apart get a factor of 0 (a
    # multiplication rather than a data-dependent branch: no host sync).
    stretch = (min_distance / distance.clamp_min(torch.finfo(diff.dtype).tiny)
               ).clamp_min(1) - 1
    half = (0.5 * stretch) * diff
    return torch.stack([x[0] + half, x[1] - half]).view_as(pairs)
