"""Networks: the default multilayer perceptron, and 1-Lipschitz networks.

The estimators build an :class:`MLP` when no ``module`` is given, the way
:class:`sklearn.neural_network.MLPClassifier` sizes its layers from ``X`` and
``y``. Any other :class:`torch.nn.Module` can be used instead, e.g.
:class:`OneLipschitzMLP` (``module=OneLipschitzMLP``; the estimator fills in
``n_features`` and ``n_outputs``), whose layers are 1-Lipschitz by
construction.
"""

import copy

import torch
from torch import nn

__all__ = ["MLP", "ACTIVATIONS", "GroupSort", "AOLLinear", "SpectralLinear",
           "OneLipschitzMLP", "LIPSCHITZ_LAYERS"]

#: Activation names accepted by :class:`MLP`, mapped to their layer classes.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


class MLP(nn.Module):
    """Fully connected network ``in -> hidden -> out``.

    Inputs of any shape ``(n, *dims)`` are flattened to ``(n, prod(dims))``
    first, so the same network takes tabular data and images.

    Parameters
    ----------
    n_features : int
        Number of input features after flattening.
    n_outputs : int
        Number of outputs (classes for a classifier, targets for a regressor).
    hidden_layer_sizes : tuple of int, default=(100,)
        Width of each hidden layer.
    activation : str, default="relu"
        One of :data:`ACTIVATIONS`.

    Examples
    --------
    >>> import torch
    >>> from sklip.modules import MLP
    >>> net = MLP(4, 3, hidden_layer_sizes=(8,))
    >>> net(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes=(100,),
                 activation="relu"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, "
                f"got {activation!r}.")
        sizes = [int(n_features), *map(int, hidden_layer_sizes)]
        layers = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(n_in, n_out), ACTIVATIONS[activation]()]
        layers.append(nn.Linear(sizes[-1], int(n_outputs)))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)



# ---------------------------------------------------------------------------
# 1-Lipschitz networks: every layer is 1-Lipschitz for the Euclidean norm, so
# the network is, and its logit margin certifies a radius directly.

class GroupSort(nn.Module):
    """Sort the features within consecutive groups (Anil, Lucas & Grosse,
    *Sorting out Lipschitz function approximation*, ICML 2019).

    A permutation of its input on every linear piece, so it is 1-Lipschitz
    and preserves the norm of the gradient, which ReLU does not: a network
    of orthogonal layers and GroupSort can fit any 1-Lipschitz function.
    ``group_size=2`` is *MaxMin*.

    Parameters
    ----------
    group_size : int, default=2
        Features per group; the number of features must be a multiple of it.

    Examples
    --------
    >>> import torch
    >>> from sklip.modules import GroupSort
    >>> GroupSort()(torch.tensor([[1.0, 3.0, 2.0, -1.0]]))
    tensor([[ 3.,  1.,  2., -1.]])
    """

    def __init__(self, group_size=2):
        super().__init__()
        if isinstance(group_size, bool) or not isinstance(group_size, int) \
                or group_size < 1:
            raise ValueError(
                f"group_size must be an int >= 1, got {group_size!r}.")
        self.group_size = group_size

    def forward(self, X):
        n_features = X.shape[1]
        if n_features % self.group_size:
            raise ValueError(
                f"GroupSort(group_size={self.group_size}) needs a number of "
                f"features divisible by the group size, got {n_features}.")
        groups = X.unflatten(1, (-1, self.group_size))
        if self.group_size == 2:
            # MaxMin: two comparisons instead of a sort.
            first, second = groups.unbind(2)
            groups = torch.stack((torch.maximum(first, second),
                                  torch.minimum(first, second)), dim=2)
        else:
            groups = groups.sort(dim=2, descending=True).values
        return groups.flatten(1, 2)

    def extra_repr(self):
        return f"group_size={self.group_size}"


class _NormalizedLinear(nn.Linear):
    """A linear layer whose weight is rescaled to operator norm <= 1.

    Subclasses define :meth:`normalized_weight`; the layer applies it, and
    :func:`~sklip.lipschitz.lipschitz_upper_bound` measures it.
    """

    def normalized_weight(self):
        raise NotImplementedError

    def forward(self, X):
        return nn.functional.linear(X, self.normalized_weight(), self.bias)

    def to_linear(self):
        """A plain :class:`torch.nn.Linear` computing the same function."""
        with torch.no_grad():
            weight = self.normalized_weight()
            linear = nn.Linear(self.in_features, self.out_features,
                               bias=self.bias is not None,
                               device=weight.device, dtype=weight.dtype)
            linear.weight.copy_(weight)
            if self.bias is not None:
                linear.bias.copy_(self.bias)
        return linear


class AOLLinear(_NormalizedLinear):
    """Almost-orthogonal linear layer, 1-Lipschitz by construction (Prach &
    Lampert, *Almost-Orthogonal Layers for Efficient General-Purpose
    Lipschitz Networks*, ECCV 2022).

    The weight ``W`` is used as ``D W`` with ``D = diag(sum_j |W Wᵀ|_ij)^-1/2``
    (rows rescaled; the smaller Gram matrix of ``W`` or ``Wᵀ`` is used, the
    bound holds for either), which guarantees ``||D W||₂ <= 1`` exactly —
    no iteration, so the certificate holds at every step — and equals 1
    when the rows of ``W`` are orthogonal.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default=True

    Examples
    --------
    >>> import torch
    >>> from sklip.modules import AOLLinear
    >>> layer = AOLLinear(5, 3)
    >>> bool(torch.linalg.matrix_norm(layer.normalized_weight(), 2) <= 1)
    True
    """

    def normalized_weight(self):
        weight = self.weight
        if weight.shape[0] <= weight.shape[1]:
            scale = _Gram.apply(weight).abs().sum(dim=1)
            return weight * scale.clamp_min(1e-12).rsqrt()[:, None]
        scale = _Gram.apply(weight.T).abs().sum(dim=1)
        return weight * scale.clamp_min(1e-12).rsqrt()[None, :]


class _Gram(torch.autograd.Function):
    """``A Aᵀ`` with the backward pass of a symmetric product.

    Autograd sees two operands of ``A @ A.T`` and multiplies twice in the
    backward pass (``G A`` and ``Gᵀ A``); the gradient is ``(G + Gᵀ) A``,
    one product. The Gram matrix is the costly part of an
    :class:`AOLLinear` step, so this saves about a third of it
    (``benchmarks/lipschitz_layers.py``). The backward is written in torch
    operations, so it is differentiable again (double backward).
    """

    @staticmethod
    def forward(ctx, matrix):
        ctx.save_for_backward(matrix)
        return matrix @ matrix.T

    @staticmethod
    def backward(ctx, grad):
        (matrix,) = ctx.saved_tensors
        return (grad + grad.T) @ matrix


class SpectralLinear(_NormalizedLinear):
    """Linear layer divided by its spectral norm (Miyato et al., *Spectral
    Normalization for GANs*, ICLR 2018).

    The norm is tracked by power iteration whose vector persists between
    steps (one iteration per training forward pass with gradients), as
    :func:`torch.nn.utils.parametrizations.spectral_norm` does, so it lags
    the exact norm slightly during training; everywhere else (evaluation
    mode, bounds, :meth:`to_linear`) the exact norm is used, and the layer
    is then exactly 1-Lipschitz.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default=True
    """

    def __init__(self, in_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__(in_features, out_features, bias=bias, device=device,
                         dtype=dtype)
        # The left singular vector estimate; a fixed start keeps the layer
        # deterministic given its weight.
        self.register_buffer("_u", torch.full(
            (out_features,), out_features ** -0.5, device=device,
            dtype=dtype))

    def normalized_weight(self):
        weight = self.weight
        # Training steps track the norm cheaply; everything else (evaluation,
        # bounds, export) divides by the exact norm.
        if self.training and torch.is_grad_enabled():
            with torch.no_grad():
                v = nn.functional.normalize(weight.T @ self._u, dim=0)
                self._u.copy_(nn.functional.normalize(weight @ v, dim=0))
            # A copy: the buffer moves on at the next call, while this
            # step's graph still needs the vector it used.
            sigma = self._u.clone() @ weight @ v
        else:
            sigma = torch.linalg.matrix_norm(weight.detach().double(),
                                             ord=2).to(weight.dtype)
        return weight / sigma.clamp_min(1e-12)

    def reset_parameters(self):
        super().reset_parameters()
        if hasattr(self, "_u"):  # nn.Linear.__init__ calls this before
            self.reset_power_iteration()

    def reset_power_iteration(self):
        """Restart the norm estimate from its fixed start vector."""
        with torch.no_grad():
            self._u.fill_(self.out_features ** -0.5)


#: Layer names accepted by :class:`OneLipschitzMLP`.
LIPSCHITZ_LAYERS = {"aol": AOLLinear, "spectral": SpectralLinear}


class OneLipschitzMLP(nn.Module):
    """A 1-Lipschitz multilayer perceptron for certified robustness.

    Every linear layer has operator norm at most 1 and every activation is
    :class:`GroupSort`, so ``||f(u) - f(v)|| <= ||u - v||``: the logit
    margin of a point certifies a radius without any loose product of
    norms. Train it with the margin regulariser (``regularizer="margin"``)
    to make those margins large.

    Parameters
    ----------
    n_features : int
        Number of input features after flattening.
    n_outputs : int
        Number of outputs.
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Width of each hidden layer (multiples of ``group_size``).
    layer : {"aol", "spectral"}, default="aol"
        :class:`AOLLinear` (1-Lipschitz by construction at every step) or
        :class:`SpectralLinear` (divided by a power-iteration estimate of
        its norm). See the user guide for their measured cost and
        tightness against torch's orthogonal parametrisation.
    group_size : int, default=2
        Group size of the :class:`GroupSort` activations.

    Examples
    --------
    >>> import torch
    >>> from sklip.modules import OneLipschitzMLP
    >>> net = OneLipschitzMLP(4, 3, hidden_layer_sizes=(8,))
    >>> net(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes=(256, 256),
                 layer="aol", group_size=2):
        super().__init__()
        if layer not in LIPSCHITZ_LAYERS:
            raise ValueError(
                f"layer must be one of {sorted(LIPSCHITZ_LAYERS)}, got "
                f"{layer!r}.")
        sizes = [int(n_features), *map(int, hidden_layer_sizes)]
        odd = [size for size in sizes[1:] if size % group_size]
        if odd:
            raise ValueError(
                f"hidden_layer_sizes must be multiples of group_size="
                f"{group_size}, got {tuple(sizes[1:])}.")
        linear = LIPSCHITZ_LAYERS[layer]
        layers = [nn.Flatten()]
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            layers += [linear(n_in, n_out), GroupSort(group_size)]
        layers.append(linear(sizes[-1], int(n_outputs)))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        return self.layers(X)

    def export(self):
        """The same function as plain torch layers, for deployment.

        Returns
        -------
        torch.nn.Sequential
            ``Flatten``, ``torch.nn.Linear`` layers holding the normalised
            weights (no normalisation left to compute) and
            :class:`GroupSort`, whose forward is plain tensor code, so
            the program ``torch.export.export`` makes of it loads and runs
            without sklip (``torch.export.load(path).module()``).
        """
        return nn.Sequential(*[
            layer.to_linear() if isinstance(layer, _NormalizedLinear)
            else copy.deepcopy(layer) for layer in self.layers]).eval()
