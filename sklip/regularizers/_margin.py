"""Lipschitz-margin training: a classifier objective that certifies.

If every logit of ``f`` is within ``L ||δ||`` of its value, no perturbation
of norm ``r`` can change the prediction of a point whose margins exceed the
rivals' possible gains (Tsuzuku, Sato & Sugiyama, *Lipschitz-Margin
Training*, NeurIPS 2018). Training on logits where each rival ``j`` of the
true class ``y`` is raised by that amount,

    f_j(x) + r · K_yj,    K_yj = ||w_y - w_j|| · L_pre,

makes the network enlarge its margins and shrink its Lipschitz bound at
once. ``w`` are the rows of the last linear layer and ``L_pre`` the product
of the other layers' norms; ``K_yj`` bounds the Lipschitz constant of
``f_y - f_j`` and never exceeds the paper's ``√2 · L`` (the same pairwise
bound :func:`sklip.lipschitz.certify` uses). The norms come from power
iteration whose vectors persist between steps, one iteration per step, so
the bound is differentiable and costs two small matrix–vector products per
layer.
"""

import torch

from .._validation import check_int, check_real
from ..lipschitz._layer_rules import fixed_constant, linear_weight
from ..lipschitz._upper import chain_layers
from ._base import Regularizer

__all__ = ["MarginRegularizer"]


class MarginRegularizer(Regularizer):
    """Lipschitz-margin training (``regularizer="margin"``, classifiers).

    ``R(f)`` is the training loss on the *margin logits* ``f_j(x) + ε ·
    K_yj`` (``K_yy = 0``, see the module docstring), so the objective
    ``loss(f(x), y) + λ · R(f)`` asks the network to classify every point
    with a margin that certifies radius ε. ε is the estimator's ``epsilon``
    (the target radius r of the paper; with ``epsilon=None``
    :attr:`default_epsilon`, searched on MNIST, times ``min(1, ℓ / 10)``
    for data whose classes lie closer than MNIST's, see
    :mod:`sklip._auto_lambda`), λ weighs margin against plain accuracy; a
    large λ is the paper's objective alone.

    The network must be a chain of layers that
    :func:`~sklip.lipschitz.lipschitz_upper_bound` supports whose last layer
    is linear (``torch.nn.Linear``, or sklip's 1-Lipschitz layers of
    :class:`~sklip.modules.OneLipschitzMLP`, where ``K_yj`` then tracks the
    certified bound exactly). Convolutions and pooling layers whose norm
    depends on the input size are refused.

    Parameters
    ----------
    n_power_iter : int, default=1
        Power iterations per layer and training step. The vectors persist
        between steps, so one iteration keeps the estimate close to the
        exact norm as the weights move slowly; it approaches the norm from
        below.
    temperature : float, default=1.0
        ``τ > 0``: the penalty is the loss on ``τ`` times the margin logits.
        A 1-Lipschitz network's logits differ by at most the distance
        between its inputs, so its cross-entropy stays high and its
        gradients weak unless they are scaled up (Béthune et al., *Pay
        attention to your loss*, 2022); on MNIST ``τ = 8`` trained
        :class:`~sklip.modules.OneLipschitzMLP` best, ``τ = 1`` the ReLU MLP
        (``benchmarks/search_defaults.py``).

    Attributes
    ----------
    vectors_ : dict
        Layer path -> the current right singular vector estimate.

    Examples
    --------
    >>> import torch
    >>> from sklip.regularizers import MarginRegularizer, TrainingContext
    >>> module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
    ...                              torch.nn.Linear(8, 3))
    >>> context = TrainingContext(epsilon=0.5,
    ...                           loss=torch.nn.functional.cross_entropy)
    >>> y_pred, penalty = MarginRegularizer().terms(
    ...     module, torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]), context)
    >>> bool(penalty > torch.nn.functional.cross_entropy(
    ...     y_pred, torch.tensor([0, 1, 2, 0, 1])))
    True
    """

    name = "margin"
    uses_epsilon = True
    epsilon_scales_with_data = True
    needs_classes = True
    # benchmarks/search_defaults.py on the benchmark's ReLU MLP: the best
    # mean certified accuracy at radii 0.5 and 1.0 at a clean accuracy of
    # at least 96 % (a radius of 1.0 fell below it).
    default_lambda = 1.0
    default_epsilon = 0.5

    def __init__(self, n_power_iter=1, temperature=1.0):
        self.n_power_iter = n_power_iter
        self.temperature = temperature

    def validate(self):
        check_int(self.n_power_iter, "n_power_iter", min_val=1)
        check_real(self.temperature, "temperature", min_val=0,
                   include_boundaries="neither")

    def reset(self):
        self.vectors_ = {}

    def terms(self, module, X, y, context):
        radius = context.require_epsilon(type(self).__name__)
        loss = context.require_loss(type(self).__name__)
        if y.dim() != 1 or y.is_floating_point():
            raise ValueError(
                "MarginRegularizer needs class indices as targets (a "
                f"classifier), got targets of dtype {y.dtype} and shape "
                f"{tuple(y.shape)}.")
        layers = self._checked_layers(module)
        # Each linear layer's weight once: the forward pass and the bound
        # share it (for a normalised layer it is the costly part of a step).
        weights = [linear_weight(layer) for _, layer in layers]
        y_pred = X
        for (_, layer), weight in zip(layers, weights):
            y_pred = layer(y_pred) if weight is None else \
                torch.nn.functional.linear(y_pred, weight, layer.bias)
        rival_gain = radius * self._pair_constants(layers, weights)[y]
        return y_pred, loss(self.temperature * (y_pred + rival_gain), y)

    def pair_constants(self, module):
        """``K`` of shape (n_classes, n_classes): ``K[y, j]`` bounds the
        Lipschitz constant of ``f_y - f_j``, differentiably.

        Parameters
        ----------
        module : torch.nn.Module

        Returns
        -------
        torch.Tensor
        """
        layers = self._checked_layers(module)
        weights = [linear_weight(layer) for _, layer in layers]
        return self._pair_constants(layers, weights)

    def _checked_layers(self, module):
        """The chain's layers, once checked to have a computable bound."""
        layers = chain_layers(module)
        last_path, last = layers[-1]
        if not _is_linear(last):
            raise TypeError(
                f"MarginRegularizer needs a network whose last layer is "
                f"linear; {last_path!r} is a {type(last).__name__}.")
        for path, layer in layers[:-1]:
            if not _is_linear(layer) and fixed_constant(layer) is None:
                raise TypeError(
                    f"MarginRegularizer does not support the layer {path!r} "
                    f"({type(layer).__name__}): its norm depends on the "
                    "input size. Use a network of linear layers and "
                    "activations.")
        return layers

    def _pair_constants(self, layers, weights):
        rows = weights[-1].reshape(weights[-1].shape[0], -1)
        # ||w_y - w_j||² = ||w_y||² + ||w_j||² - 2 w_y·w_j, without the
        # (n_classes, n_classes, width) tensor of differences.
        squares = rows.pow(2).sum(dim=1)
        distances = squares[:, None] + squares[None, :] - 2 * rows @ rows.T
        pair_norms = distances.clamp_min(1e-12).sqrt() * (
            1 - torch.eye(len(rows), dtype=rows.dtype, device=rows.device))
        if not hasattr(self, "vectors_"):
            self.vectors_ = {}
        product = 1.0
        for (path, layer), weight in zip(layers[:-1], weights[:-1]):
            product = product * (fixed_constant(layer) if weight is None
                                 else self._spectral_norm(path, weight))
        return pair_norms * product

    def _spectral_norm(self, path, weight):
        """``u·W v`` with ``u, v`` from power iteration: the top singular
        value, differentiable in ``W``."""
        weight = weight.reshape(weight.shape[0], -1)
        v = self.vectors_.get(path)
        if v is None or v.shape[0] != weight.shape[1] or \
                v.device != weight.device:
            # A fixed start: the regulariser draws nothing at random.
            v = torch.full((weight.shape[1],), weight.shape[1] ** -0.5,
                           dtype=weight.dtype, device=weight.device)
        with torch.no_grad():
            detached = weight.detach()
            for _ in range(self.n_power_iter):
                u = torch.nn.functional.normalize(detached @ v, dim=0)
                v = torch.nn.functional.normalize(detached.T @ u, dim=0)
        self.vectors_[path] = v
        u = torch.nn.functional.normalize(weight.detach() @ v, dim=0)
        return u @ weight @ v


def _is_linear(layer):
    # Without computing a normalised layer's weight: that is the costly part
    # of its step, and a SpectralLinear's would advance its power iteration.
    return isinstance(layer, torch.nn.Linear)
