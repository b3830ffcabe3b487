"""An upper bound of ``Lip(f)``: the product of the layers' operator norms.

For a chain ``f = g_n ∘ ... ∘ g_1``, ``Lip(f) <= Lip(g_n) ··· Lip(g_1)``
(Scaman & Virmaux, NeurIPS 2018, "AutoLip"). Each layer's constant is exact
or a known analytic value: the spectral norm of a weight matrix, the
operator norm of a convolution or average pooling found by power iteration
on the operator and its adjoint, and the largest slope of an activation.
Only chains whose structure is known are walked; any other module is an
error rather than a silently wrong bound. The constant of each kind of
layer is in :mod:`sklip.lipschitz._layer_rules`.
"""

import copy

import torch
from torch import nn

from .._models import resolve_model
from .._validation import check_int, check_real
from ..modules import MLP, OneLipschitzMLP
from ._eval import evaluating, floating_dtype
from ._layer_rules import _FIXED_RULES, _rule_base, _supported_names

__all__ = ["lipschitz_upper_bound", "chain_layers"]

# Random start vectors of the power iteration, iterated together: the best
# of several starts guards against one that is nearly orthogonal to the top
# singular vector.
_N_START_VECTORS = 4

def lipschitz_upper_bound(model, *, input_shape=None, n_power_iter=500,
                          tol=1e-9):
    """Upper bound of the Lipschitz constant: product of layer norms.

    The network must be a chain of supported layers: an
    :class:`torch.nn.Sequential` (nested ones included) or sklip's
    :class:`~sklip.modules.MLP`. Each layer contributes its Lipschitz
    constant for the Euclidean norm:

    - ``Linear``: the spectral norm of its weight;
    - ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d``, ``AvgPool1d/2d/3d``,
      ``AdaptiveAvgPool1d/2d/3d``: the operator norm of the layer without
      its bias, by power iteration on the operator and its adjoint (the
      transposed convolution); it depends on the size of the layer's
      input, so ``input_shape`` is needed;
    - ``BatchNorm1d/2d/3d`` (evaluation mode): the largest
      ``|gamma| / sqrt(running_var + eps)``;
    - ``MaxPool1d/2d/3d``: ``sqrt(c)`` where ``c`` is the largest number of
      pooling windows sharing an input (1 without overlap);
    - ``Flatten``, ``Unflatten``, ``Identity``, dropout layers: 1;
    - activations: their largest slope, e.g. ReLU, Tanh, Softplus 1,
      ``LeakyReLU`` ``max(1, |slope|)``, ``ELU`` ``max(1, alpha)``,
      Sigmoid 1/4, GELU ≈ 1.1289, SiLU ≈ 1.0998.

    Parameters
    ----------
    model : fitted estimator, Pipeline or torch.nn.Module
        A model with a torch network (see :ref:`any-model`); a pipeline's
        preprocessing layers (:mod:`sklip.preprocessing`) count as layers.
        The network, measured in evaluation mode (its mode is restored).
    input_shape : tuple of int or None, default=None
        Shape of one input sample, without the batch axis, e.g.
        ``(1, 28, 28)``. Defaults to a fitted estimator's ``input_shape_``;
        only needed when a layer's norm depends on the input size.
    n_power_iter : int, default=500
        Largest number of power iterations per size-dependent layer.
    tol : float, default=1e-9
        The power iteration stops when the estimate grows by less than this
        fraction. It approaches the operator norm from below.

    Returns
    -------
    float
        A value ``>= Lip(f)`` (up to the power iteration's tolerance).

    Raises
    ------
    TypeError
        For a layer or custom module that is not supported; the message
        names it and where it sits in the network.
    ValueError
        If a size-dependent layer is met and the input shape is unknown or
        does not fit the network.
    sklearn.exceptions.NotFittedError
        For an unfitted estimator.

    See Also
    --------
    lipschitz_lower_bound : An empirical lower bound.

    Examples
    --------
    >>> import torch
    >>> from sklip.lipschitz import lipschitz_upper_bound
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid())
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))
    >>> lipschitz_upper_bound(net)
    1.0
    """
    resolved = resolve_model(model)
    resolved.require_gradients("lipschitz_upper_bound")
    module = resolved.module
    shape = _resolve_input_shape(input_shape, resolved.input_shape)
    options = {"n_iter": check_int(n_power_iter, "n_power_iter", min_val=1),
               "tol": check_real(tol, "tol", min_val=0)}
    with evaluating(module), torch.no_grad():
        bound, _ = _bound(module, shape, type(module).__name__, options)
    return float(bound)


def _resolve_input_shape(input_shape, recorded):
    if input_shape is None:
        return None if recorded is None else tuple(int(s) for s in recorded)
    if isinstance(input_shape, int) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    try:
        return tuple(check_int(size, "input_shape", min_val=1)
                     for size in input_shape)
    except TypeError:
        raise TypeError(
            "input_shape must be a tuple of positive ints (one sample's "
            f"shape, without the batch axis), got {input_shape!r}.") from None


def _chain(layer):
    """The layers of ``layer`` if its forward is a plain chain, else None."""
    # A subclass that overrides forward may do anything with its children.
    if isinstance(layer, nn.Sequential) and \
            type(layer).forward is nn.Sequential.forward:
        return list(layer.named_children())
    for network in (MLP, OneLipschitzMLP):
        if isinstance(layer, network) and type(layer).forward is \
                network.forward:
            return [("layers", layer.layers)]
    return None


def chain_layers(module, path=None):
    """The leaf layers of a chain, in order, as ``(path, layer)`` pairs.

    Raises
    ------
    TypeError
        For a layer whose Lipschitz constant sklip cannot bound (the message
        names it), as :func:`lipschitz_upper_bound` does.
    """
    path = type(module).__name__ if path is None else path
    children = _chain(module)
    if children is None:
        _check_supported(module, path)
        return [(path, module)]
    return [leaf for name, child in children
            for leaf in chain_layers(child, f"{path}.{name}")]


def _check_supported(layer, path):
    if _rule_base(layer) is None:
        raise TypeError(
            f"lipschitz_upper_bound does not support the layer {path!r} of "
            f"type {type(layer).__name__}: only chains of known layers have "
            "a computable bound (a custom module's forward can combine its "
            f"layers in any way). Supported: {_supported_names()}.")


def _bound(layer, shape, path, options):
    """Lipschitz bound of ``layer`` and the shape of its output."""
    children = _chain(layer)
    if children is not None:
        total = 1.0
        for name, child in children:
            constant, shape = _bound(child, shape, f"{path}.{name}", options)
            total *= constant
        return total, shape
    _check_supported(layer, path)
    base = _rule_base(layer)
    # Probing the output shape first also reports an input_shape that does
    # not fit before any power iteration runs on it.
    out_shape = _output_shape(layer, shape, path)
    if base in _FIXED_RULES:
        constant = _FIXED_RULES[base](layer)
    else:
        constant = _operator_norm(layer, shape, path, options)
    return constant, out_shape


def _output_shape(layer, shape, path):
    if shape is None:
        return None
    probe = torch.zeros((1, *shape), dtype=floating_dtype(layer),
                        device=_device(layer))
    try:
        return tuple(layer(probe).shape[1:])
    except RuntimeError as error:
        raise ValueError(
            f"input_shape does not fit the network: layer {path!r} "
            f"({type(layer).__name__}) cannot take inputs of shape "
            f"{shape}: {error}") from error


def _device(layer):
    tensor = next(iter((*layer.parameters(), *layer.buffers())), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def _operator_norm(layer, shape, path, options):
    """Operator norm of an affine layer's linear part, by power iteration."""
    if shape is None:
        raise ValueError(
            f"the operator norm of layer {path!r} ({type(layer).__name__}) "
            "depends on the size of its input: pass input_shape (the shape "
            "of one sample, without the batch axis, e.g. (1, 28, 28)) or use "
            "a fitted estimator, which records input_shape_.")
    # Float64 keeps rounding far below the tolerance of the iteration.
    layer = copy.deepcopy(layer).double()
    device = _device(layer)
    zeros = torch.zeros((_N_START_VECTORS, *shape), dtype=torch.float64,
                        device=device)
    offset = layer(zeros[:1])

    def linear_part(x):
        return layer(x) - offset

    # The linear part's adjoint, from autograd: for a convolution this is
    # the transposed convolution with the output padding that restores the
    # input size, for any padding mode, stride, dilation and groups.
    with torch.enable_grad():
        _, adjoint = torch.func.vjp(linear_part, zeros)
    generator = torch.Generator(device=device).manual_seed(0)
    v = torch.randn(zeros.shape, generator=generator, dtype=torch.float64,
                    device=device)
    estimate = 0.0
    for _ in range(options["n_iter"]):
        v = v / _norms(v).clamp_min(1e-300).view(-1, *[1] * len(shape))
        image = linear_part(v)
        # ||A v|| for a unit v never exceeds ||A|| and grows towards it.
        new = float(_norms(image).max())
        if new <= estimate * (1 + options["tol"]):
            estimate = max(estimate, new)
            break
        estimate = new
        v, = adjoint(image)
    return estimate


def _norms(batch):
    return batch.flatten(1).norm(dim=1)
