"""Cost and tightness of 1-Lipschitz linear layers.

For the first layer of the MNIST network (784 -> 256, batch 128), one
training step (forward and backward) of each way to make a linear layer
1-Lipschitz, as a ratio to a plain ``torch.nn.Linear`` measured in the same
run, and the spectral norm of the weight it applies after random
initialisation (1 is tight; below 1 the layer wastes part of its budget)::

    python benchmarks/lipschitz_layers.py

Measured: sklip's ``AOLLinear`` (and the same layer with autograd's
backward of its Gram matrix) and ``SpectralLinear``, and torch's own
parametrisations ``orthogonal`` (Householder and Cayley maps) and
``spectral_norm``. torch's parametrised modules do not pickle (torch
refuses: "Serialization of parametrized modules is only supported through
state_dict()"), which a fitted scikit-learn estimator must; the script
reports that too.
"""

import argparse
import pickle
import time

import torch
from torch import nn
from torch.nn.utils.parametrizations import orthogonal, spectral_norm

from sklip.modules import AOLLinear, SpectralLinear

class _AutogradGramAOL(AOLLinear):
    """AOL with autograd's two-operand Gram product: what sklip's one-product
    backward of the Gram matrix is measured against."""

    def normalized_weight(self):
        weight = self.weight
        scale = (weight @ weight.T).abs().sum(dim=1)
        return weight * scale.clamp_min(1e-12).rsqrt()[:, None]


LAYERS = {
    "torch Linear (no constraint)": lambda: nn.Linear(784, 256),
    "sklip AOLLinear": lambda: AOLLinear(784, 256),
    "AOL, autograd's Gram backward": lambda: _AutogradGramAOL(784, 256),
    "sklip SpectralLinear": lambda: SpectralLinear(784, 256),
    "torch spectral_norm": lambda: spectral_norm(nn.Linear(784, 256)),
    "torch orthogonal (householder)": lambda: orthogonal(
        nn.Linear(784, 256), orthogonal_map="householder"),
    "torch orthogonal (cayley)": lambda: orthogonal(
        nn.Linear(784, 256), orthogonal_map="cayley"),
}


def _step_seconds(layer, X, n_steps):
    start = time.perf_counter()
    for _ in range(n_steps):
        layer.zero_grad()
        layer(X).square().mean().backward()
    return (time.perf_counter() - start) / n_steps


def _norm(layer):
    # sklip's layers apply a normalised weight; torch's parametrised ones
    # return theirs as ``weight``.
    weight = (layer.normalized_weight() if hasattr(layer, "normalized_weight")
              else layer.weight)
    return float(torch.linalg.matrix_norm(weight.detach().double(), ord=2))


def _pickles(layer):
    try:
        pickle.dumps(layer)
    except RuntimeError:
        return "no"
    return "yes"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds; the median is reported")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    X = torch.rand(128, 784)
    layers = {name: make() for name, make in LAYERS.items()}
    times = {name: [] for name in layers}
    for _ in range(args.rounds):  # interleaved, so drift hits all alike
        for name, layer in layers.items():
            times[name].append(_step_seconds(layer, X, args.steps))
    median = {name: sorted(t)[len(t) // 2] for name, t in times.items()}
    base = median["torch Linear (no constraint)"]
    print(f"{'layer':<32}{'ms/step':>9}{'ratio':>7}{'norm':>8}  pickles")
    for name, layer in layers.items():
        print(f"{name:<32}{1e3 * median[name]:9.2f}"
              f"{median[name] / base:7.1f}{_norm(layer):8.3f}  "
              f"{_pickles(layer)}")


if __name__ == "__main__":
    main()
