"""The default network: a multilayer perceptron sized from the data.

The estimators build an :class:`MLP` when no ``module`` is given, the way
:class:`sklearn.neural_network.MLPClassifier` sizes its layers from ``X`` and
``y``. Any other :class:`torch.nn.Module` can be used instead.
"""

from torch import nn

__all__ = ["MLP", "ACTIVATIONS"]

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

