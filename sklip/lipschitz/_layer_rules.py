"""The Lipschitz constant of one layer, by its type: the rules of
:func:`~sklip.lipschitz.lipschitz_upper_bound`.

A layer of fixed constant (an activation, a weight matrix, batch norm in
eval mode, max pooling, sklip's 1-Lipschitz layers) has a rule in
``_FIXED_RULES``; the constant of a layer in ``_SHAPED_LAYERS``
(convolutions, average pooling) depends on the input size and is measured
by power iteration in :mod:`sklip.lipschitz._upper`.
"""

import math

import torch
from torch import nn

from ..modules import AOLLinear, GroupSort, SpectralLinear
from ..preprocessing import FeatureAffine

__all__ = ["linear_weight", "fixed_constant"]

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


def fixed_constant(layer):
    """The Lipschitz constant of a layer that does not depend on the input
    size (an activation, a normalisation, a linear layer), or ``None`` for
    a convolution or pooling whose norm does."""
    base = _rule_base(layer)
    return _FIXED_RULES[base](layer) if base in _FIXED_RULES else None


def _rule_base(layer):
    """The supported class ``layer`` is, or subclasses without a new forward."""
    for base in type(layer).__mro__:
        if base in _FIXED_RULES or base in _SHAPED_LAYERS:
            return base if type(layer).forward is base.forward else None
    return None
