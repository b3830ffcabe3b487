"""Which margin bound a network admits: its layers read as one flat chain.

The pairwise bound needs a chain that ends in a linear layer; the local
bound needs a chain of linear layers and ReLUs only. Both are decided here,
before anything is computed, from the layers' types and from the shapes one
sample takes through them. A network that does not qualify raises
:class:`NotApplicable`, a ``TypeError`` that names the layer in the way, so
that ``bound="auto"`` can fall back to a looser bound and an explicit
request gets a clear error.
"""

from dataclasses import dataclass

import torch
from torch import nn

from ._layer_rules import _rule_base, linear_weight
from ._upper import chain_layers

__all__ = ["NotApplicable", "final_linear", "local_plan"]

#: Layers that leave one sample's values unchanged (dropout in evaluation
#: mode, where certificates are taken) or only reshape them, so that the
#: flattened activations pass through them untouched.
_IDENTITY_LIKE = (nn.Identity, nn.Flatten, nn.Unflatten, nn.Dropout,
                  nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)

_LOCAL_LAYERS = ("linear layers (Linear, AOLLinear, SpectralLinear, "
                 "FeatureAffine), ReLU "
                 "and identity-like layers (Identity, Flatten, Unflatten, "
                 "dropout)")


class NotApplicable(TypeError):
    """The bound asked for does not apply to the network's structure."""


@dataclass(frozen=True)
class LinearStep:
    """A linear layer, in float64, and whether a ReLU follows it."""

    path: str
    weight: torch.Tensor
    bias: torch.Tensor
    relu: bool = False


@dataclass(frozen=True)
class ReLUStep:
    """A ReLU that does not directly follow a linear layer."""

    path: str


def _is_identity_like(layer):
    return _rule_base(layer) in _IDENTITY_LIKE


def _traced_leaves(module, sample):
    """The leaves and the shape of one sample entering each of them.

    Two copies of the sample go through, so a layer that merges the batch
    axis into others (``Flatten(start_dim=0)``) is caught: every bound here
    treats the network one sample at a time.
    """
    # A layer lipschitz_upper_bound cannot bound is an error for every
    # bound alike, so it raises a plain TypeError, not NotApplicable.
    leaves = chain_layers(module)
    batch = sample[:1].repeat(2, *[1] * (sample.dim() - 1))
    shapes = []
    for path, layer in leaves:
        shapes.append(tuple(batch.shape[1:]))
        batch = layer(batch)
        if not isinstance(batch, torch.Tensor) or batch.dim() < 2 or \
                batch.shape[0] != 2:
            raise NotApplicable(
                f"layer {path!r} ({type(layer).__name__}) does not map a "
                "batch of samples to a batch of outputs one sample at a "
                "time.")
    return leaves, shapes


def _check_flat_input(path, layer, shape, bound):
    # A linear layer applied to (n, ..., in_features) acts on every row of
    # a sample separately; its rows are then not the logits' weights.
    if len(shape) != 1:
        raise NotApplicable(
            f"bound={bound!r} needs the linear layer {path!r} "
            f"({type(layer).__name__}) to take flat inputs of shape "
            f"(n_samples, in_features), got one sample of shape {shape}.")


def final_linear(module, sample):
    """Split a chain at its last linear layer, for the pairwise bound.

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.
    sample : torch.Tensor of shape (n, ...)
        Inputs, of which the first traces the shapes.

    Returns
    -------
    prefix : list of (str, torch.nn.Module, tuple)
        Path, layer and input shape of every layer before the last linear
        one.
    weight : torch.Tensor of shape (n_classes, n_features)
        The last linear layer's weight, in float64.

    Raises
    ------
    NotApplicable
        If the chain does not end in a linear layer (identity-like layers
        after it aside).
    """
    leaves, shapes = _traced_leaves(module, sample)
    last = len(leaves) - 1
    while last > 0 and _is_identity_like(leaves[last][1]):
        last -= 1
    path, layer = leaves[last]
    weight = linear_weight(layer)
    if weight is None:
        raise NotApplicable(
            "bound='pairwise' needs a network whose last layer is linear "
            "(Linear, AOLLinear, SpectralLinear), so that its rows are the "
            f"logits' weights; layer {path!r} is {type(layer).__name__}.")
    _check_flat_input(path, layer, shapes[last], "pairwise")
    prefix = [(p, lay, shape) for (p, lay), shape in
              zip(leaves[:last], shapes[:last])]
    return prefix, weight.detach().double()


def local_plan(module, sample):
    """The steps of a chain of linear layers and ReLUs, for the local bound.

    Parameters
    ----------
    module : torch.nn.Module
        The network, in evaluation mode.
    sample : torch.Tensor of shape (n, ...)
        Inputs, of which the first traces the shapes.

    Returns
    -------
    list of LinearStep or ReLUStep
        The chain without its identity-like layers, a ReLU that follows a
        linear layer folded into it; the last step is a linear layer
        without a ReLU (the logits).

    Raises
    ------
    NotApplicable
        For any other layer, naming it.
    """
    leaves, shapes = _traced_leaves(module, sample)
    steps = []
    for (path, layer), shape in zip(leaves, shapes):
        weight = linear_weight(layer)
        if weight is not None:
            _check_flat_input(path, layer, shape, "local")
            bias = layer.bias if layer.bias is not None else \
                weight.new_zeros(weight.shape[0])
            weight, bias = weight.detach().double(), bias.detach().double()
            if steps and isinstance(steps[-1], LinearStep) and \
                    not steps[-1].relu:
                # Two linear maps in a row are one (a scaler in front of
                # the first layer): bounding the product is tighter than
                # multiplying the two bounds.
                previous = steps.pop()
                weight, bias = weight @ previous.weight, \
                    weight @ previous.bias + bias
                path = f"{previous.path}+{path}"
            steps.append(LinearStep(path, weight, bias))
        elif _rule_base(layer) is nn.ReLU:
            if steps and isinstance(steps[-1], LinearStep) and \
                    not steps[-1].relu:
                previous = steps.pop()
                steps.append(LinearStep(previous.path, previous.weight,
                                        previous.bias, relu=True))
            else:
                steps.append(ReLUStep(path))
        elif not _is_identity_like(layer):
            raise NotApplicable(
                f"bound='local' needs a chain of {_LOCAL_LAYERS}; layer "
                f"{path!r} is {type(layer).__name__}.")
    if not steps or not isinstance(steps[-1], LinearStep) or steps[-1].relu:
        raise NotApplicable(
            "bound='local' needs a network whose last layer with weights is "
            "linear and not followed by a ReLU (its rows are the logits' "
            "weights).")
    return steps
