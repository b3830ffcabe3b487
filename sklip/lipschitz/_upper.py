"""An upper bound of ``Lip(f)``: the product of the layers' operator norms.

For a chain ``f = g_n ∘ ... ∘ g_1``, ``Lip(f) <= Lip(g_n) ··· Lip(g_1)``
(Scaman & Virmaux, NeurIPS 2018, "AutoLip"). Each layer's constant is exact
or a known analytic value: the spectral norm of a weight matrix, the
operator norm of a convolution or average pooling found by power iteration
on the operator and its adjoint, and the largest slope of an activation.
Only chains whose structure is known are walked; any other module is an
error rather than a silently wrong bound.
"""

import copy
import math

import torch
from torch import nn

from .._models import resolve_model
from .._validation import check_int, check_real
from ..modules import MLP, AOLLinear, GroupSort, OneLipschitzMLP, \
    SpectralLinear
from ..preprocessing import FeatureAffine
from ._eval import evaluating, floating_dtype

__all__ = ["lipschitz_upper_bound", "linear_weight", "chain_layers",
           "fixed_constant"]

# Random start vectors of the power iteration, iterated together: the best
# of several starts guards against one that is nearly orthogonal to the top
# singular vector.
_N_START_VECTORS = 4

# GELU(x) = x·Φ(x) has derivative Φ(x) + x·φ(x), largest at x = √2 (where
# its own derivative φ(x)·(2 - x²) vanishes): Φ(√2) + √2·φ(√2) ≈ 1.12890.
# Its smallest value, at -√2, is 1 minus that, so the slope never exceeds it
# in absolute value.
_GELU = 0.5 * (1 + math.erf(1.0)) + math.sqrt(2) * math.exp(-1.0) / math.sqrt(
    2 * math.pi)
# The tanh approximation of GELU peaks slightly higher (1.128993 at x ≈
# 1.4185, found on a grid of step 1e-5 in float64); rounded up.
_GELU_TANH = 1.1290
# SiLU(x) = x·σ(x) has largest slope 1.099839 at x ≈ 2.3994; rounded up.
_SILU = 1.0999


def _constant(value):
    return lambda layer: value


def _elu(layer):
    # Slope 1 for x > 0 and alpha·exp(x) -> alpha as x -> 0 from below.
    return max(1.0, abs(float(layer.alpha)))


def _leaky_relu(layer):
    return max(1.0, abs(float(layer.negative_slope)))


def _prelu(layer):
    return max(1.0, float(layer.weight.detach().abs().max()))


def _rrelu(layer):
    # In evaluation mode RReLU uses the fixed slope (lower + upper) / 2.
    return max(1.0, abs(layer.lower + layer.upper) / 2)


def _selu(layer):
    # scale·x for x > 0, scale·alpha·(exp(x) - 1) below.
    return 1.0507009873554805 * 1.6732632423543772


def _gelu(layer):
    return _GELU_TANH if layer.approximate == "tanh" else _GELU


def _batch_norm(layer):
    if layer.running_var is None:
        raise TypeError(
            f"{type(layer).__name__} without running statistics "
            "(track_running_stats=False) normalises by the statistics of the "
            "batch, so it is not a fixed function of one input and has no "
            "Lipschitz constant of its own.")
    # In evaluation mode it multiplies each channel by gamma / sqrt(var+eps).
    scale = (layer.running_var.detach().double() + layer.eps).rsqrt()
    if layer.weight is not None:
        scale = scale * layer.weight.detach().double()
    return float(scale.abs().max())


def _max_pool(layer):
    # |max_W a - max_W b| <= max_W |a - b| <= ||(a - b)_W||, so summing the
    # squares over windows counts each input once per window containing it:
    # Lip = sqrt(largest number of windows sharing one input), 1 when the
    # windows do not overlap. Along a dimension an input lies in at most
    # min(k, ceil(((k - 1)·d + 1) / s)) windows.
    if layer.return_indices:
        raise TypeError(
            f"{type(layer).__name__} with return_indices=True returns a "
            "tuple, not a tensor; it has no place in a chain of layers.")
    dims = {nn.MaxPool1d: 1, nn.MaxPool2d: 2, nn.MaxPool3d: 3}[
        _rule_base(layer)]
    kernel, stride, dilation = (_tuple(value, dims) for value in (
        layer.kernel_size, layer.stride or layer.kernel_size, layer.dilation))
    overlap = 1
    for k, s, d in zip(kernel, stride, dilation):
        overlap *= min(k, -(-((k - 1) * d + 1) // s))
    return math.sqrt(overlap)


def _tuple(value, dims):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


def linear_weight(layer):
    """The weight matrix a linear layer applies, or ``None`` for any other
    layer: ``weight`` of :class:`torch.nn.Linear`, the normalised weight of
    sklip's 1-Lipschitz layers."""
    if isinstance(layer, (AOLLinear, SpectralLinear)):
        return layer.normalized_weight()
    if _rule_base(layer) is FeatureAffine:
        return torch.diag(layer.weight_diagonal)
    if _rule_base(layer) is nn.Linear:
        return layer.weight
    return None


def _feature_affine(layer):
    diagonal = 1.0 / layer.scale.detach().double().abs()
    return float(diagonal.max()) if diagonal.numel() else 0.0


def _linear(layer):
    return float(torch.linalg.matrix_norm(
        linear_weight(layer).detach().double(), ord=2))


#: Layers whose constant does not depend on the input size.
_FIXED_RULES = {
    nn.Linear: _linear,
    # sklip's 1-Lipschitz layers: the norm of the weight they apply (at most
    # 1, measured rather than assumed).
    AOLLinear: _linear,
    SpectralLinear: _linear,
    GroupSort: _constant(1.0),
    # A fitted scaler in front of a network (sklip.preprocessing).
    FeatureAffine: _feature_affine,
    nn.Identity: _constant(1.0),
    nn.Flatten: _constant(1.0),
    nn.Unflatten: _constant(1.0),
    # Dropout is the identity in evaluation mode, where bounds are taken.
    nn.Dropout: _constant(1.0),
    nn.Dropout1d: _constant(1.0),
    nn.Dropout2d: _constant(1.0),
    nn.Dropout3d: _constant(1.0),
    nn.AlphaDropout: _constant(1.0),
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.BatchNorm3d: _batch_norm,
    nn.MaxPool1d: _max_pool,
    nn.MaxPool2d: _max_pool,
    nn.MaxPool3d: _max_pool,
    # Element-wise activations: the largest absolute slope.
    nn.ReLU: _constant(1.0),
    nn.ReLU6: _constant(1.0),
    nn.LeakyReLU: _leaky_relu,
    nn.PReLU: _prelu,
    nn.RReLU: _rrelu,
    nn.ELU: _elu,
    nn.CELU: _constant(1.0),
    nn.SELU: _selu,
    nn.GELU: _gelu,
    nn.SiLU: _constant(_SILU),
    nn.Tanh: _constant(1.0),
    nn.Hardtanh: _constant(1.0),
    nn.Sigmoid: _constant(0.25),
    nn.Hardsigmoid: _constant(1.0 / 6.0),
    nn.Hardswish: _constant(1.5),
    nn.LogSigmoid: _constant(1.0),
    nn.Softplus: _constant(1.0),
    nn.Softsign: _constant(1.0),
    nn.Softshrink: _constant(1.0),
    nn.Tanhshrink: _constant(1.0),
}

#: Affine layers whose operator norm depends on the input size; measured by
#: power iteration on their linear part.
_SHAPED_LAYERS = (
    nn.Conv1d, nn.Conv2d, nn.Conv3d,
    nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
    nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
)


def _supported_names():
    names = [cls.__name__ for cls in (*_FIXED_RULES, *_SHAPED_LAYERS)]
    return ", ".join(["Sequential", "MLP", "OneLipschitzMLP", *sorted(names)])


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


def fixed_constant(layer):
    """The Lipschitz constant of a layer that does not depend on the input
    size (an activation, a normalisation, a linear layer), or ``None`` for
    a convolution or pooling whose norm does."""
    base = _rule_base(layer)
    return _FIXED_RULES[base](layer) if base in _FIXED_RULES else None


def _check_supported(layer, path):
    if _rule_base(layer) is None:
        raise TypeError(
            f"lipschitz_upper_bound does not support the layer {path!r} of "
            f"type {type(layer).__name__}: only chains of known layers have "
            "a computable bound (a custom module's forward can combine its "
            f"layers in any way). Supported: {_supported_names()}.")


def _rule_base(layer):
    """The supported class ``layer`` is, or subclasses without a new forward."""
    for base in type(layer).__mro__:
        if base in _FIXED_RULES or base in _SHAPED_LAYERS:
            return base if type(layer).forward is base.forward else None
    return None


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
