"""Randomness of one estimator, kept out of torch's global random state.

scikit-learn estimators are reproducible from ``random_state`` even when
several are fitted at once in threads; torch's global generator is shared
by the whole process, so an estimator that seeded it would race with every
other. Each sklip estimator draws instead from its own generators
(:class:`RandomSource`): weight initialisation, shuffling and every
regulariser draw. Two things in torch offer no generator argument: the
``__init__`` of a user's module class (which may initialise weights its own
way) and stochastic layers such as dropout. For those the global generator
is forked, seeded from the estimator's generator and restored afterwards
(:func:`global_rng_seeded`), under one process-wide lock, so that sklip
estimators fitted in threads still give their sequential results.
"""

import math
import threading
from contextlib import contextmanager

import torch
from sklearn.utils import check_random_state
from torch import nn
from torch.nn import init

from .modules import SpectralLinear

__all__ = ["RandomSource", "build_module", "uses_global_rng",
           "global_rng_seeded", "torch_generator"]

_GLOBAL_RNG_LOCK = threading.RLock()

# Layers whose forward pass draws from torch's global generator.
_STOCHASTIC_LAYERS = (nn.modules.dropout._DropoutNd, nn.RReLU)


class RandomSource:
    """The generators of one fit, seeded from ``random_state``.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        As in scikit-learn; ``None`` draws a seed from numpy's global
        generator (never from torch's).
    device : str or torch.device
        The training device; draws made there (pair seeding, sphere points,
        projections, attack starts) use a generator on it.

    Attributes
    ----------
    cpu : torch.Generator
        For initialisation and shuffling.
    device_generator : torch.Generator
        For the regularisers' draws on the training device (``cpu`` itself
        when training on the CPU).
    """

    def __init__(self, random_state, device="cpu"):
        seed = int(check_random_state(random_state).randint(2 ** 31 - 1))
        self.cpu = torch.Generator().manual_seed(seed)
        self.device_generator = _on_device(torch.device(device), self.cpu)

    def seed(self):
        """A fresh seed drawn from :attr:`cpu`."""
        return int(torch.randint(2 ** 62, (), generator=self.cpu))

    def epoch_generator(self):
        """A fresh CPU generator for the shuffling of one epoch."""
        return torch.Generator().manual_seed(self.seed())

    def __getstate__(self):
        # torch.Generator does not pickle; its state (a byte tensor) does.
        device = self.device_generator.device
        same = self.device_generator is self.cpu
        return {"cpu": self.cpu.get_state(), "device": str(device),
                "device_state": (None if same
                                 else self.device_generator.get_state())}

    def __setstate__(self, state):
        self.cpu = torch.Generator()
        self.cpu.set_state(state["cpu"])
        if state["device_state"] is None:
            self.device_generator = self.cpu
            return
        device = torch.device(state["device"])
        if device.type == "cuda" and not torch.cuda.is_available():
            device = torch.device("cpu")
        self.device_generator = torch.Generator(device=device)
        self.device_generator.set_state(state["device_state"])


def _on_device(device, cpu):
    if device.type == "cpu":
        return cpu
    seed = int(torch.randint(2 ** 62, (), generator=cpu))
    return torch.Generator(device=device).manual_seed(seed)


def _reset_fan_in_uniform(layer, generator):
    # torch's default for linear and convolution layers (kaiming_uniform_
    # with a = sqrt(5), bias uniform in ±1/sqrt(fan_in)), with a generator.
    init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    if getattr(layer, "bias", None) is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(layer.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(layer.bias, -bound, bound, generator=generator)


def _reset_embedding(layer, generator):
    init.normal_(layer.weight, generator=generator)
    layer._fill_padding_idx_with_zero()


def _reset_spectral_linear(layer, generator):
    _reset_fan_in_uniform(layer, generator)
    layer.reset_power_iteration()


def _reset_deterministic(layer, generator):
    layer.reset_parameters()


# Layers whose default initialisation sklip can redo with a generator.
_RESETS = (
    # Before Linear, its base class: the power-iteration buffer needs a
    # start too (a module built on the meta device has none).
    (SpectralLinear, _reset_spectral_linear),
    (nn.Linear, _reset_fan_in_uniform),
    (nn.modules.conv._ConvNd, _reset_fan_in_uniform),
    (nn.Embedding, _reset_embedding),
    (nn.modules.batchnorm._NormBase, _reset_deterministic),
    (nn.LayerNorm, _reset_deterministic),
    (nn.GroupNorm, _reset_deterministic),
    (nn.PReLU, _reset_deterministic),
)

# Packages whose module classes initialise exactly as their layers'
# defaults (no custom initialisation in ``__init__``).
_OWN_INIT_PACKAGES = ("torch.nn.modules.", "sklip.modules")


def _reset_for(module):
    for layer_type, reset in _RESETS:
        if isinstance(module, layer_type):
            return reset
    return None


def _redo_init(factory, generator):
    """``factory()`` built on the meta device and initialised from
    ``generator``, or ``None`` when some layer is not known."""
    try:
        with torch.device("meta"):
            module = factory()
    except Exception:  # a module that cannot be built without data
        return None
    if not isinstance(module, nn.Module):
        return None
    plan = []
    for sub in module.modules():
        if not type(sub).__module__.startswith(_OWN_INIT_PACKAGES):
            return None
        owns_state = any(True for _ in sub.parameters(recurse=False)) or any(
            True for _ in sub.buffers(recurse=False))
        reset = _reset_for(sub)
        if owns_state and reset is None:
            return None
        if reset is not None:
            plan.append((sub, reset))
    module = module.to_empty(device="cpu")
    with torch.no_grad():
        # Registration order is construction order, so a generator seeded
        # like torch's global one gives the weights torch would.
        for sub, reset in plan:
            reset(sub, generator)
    return module


def build_module(factory, random_source):
    """A freshly initialised network, without touching the global RNG.

    Parameters
    ----------
    factory : callable
        Builds the module (a class with its arguments bound).
    random_source : RandomSource

    Returns
    -------
    torch.nn.Module
        On the CPU. Built from torch's and sklip's own layers, it is
        initialised from ``random_source.cpu`` directly; any other class
        (whose ``__init__`` may initialise its own way) is built as it is,
        with the global generator forked and seeded from ``random_source``.
    """
    module = _redo_init(factory, random_source.cpu)
    if module is not None:
        return module
    with global_rng_seeded(random_source):
        return factory()


def uses_global_rng(module):
    """Whether the forward pass of ``module`` draws from torch's global
    generator (dropout and similar layers)."""
    return any(isinstance(sub, _STOCHASTIC_LAYERS) for sub in module.modules())


@contextmanager
def global_rng_seeded(random_source, device=None):
    """Fork torch's global generator, seed it from ``random_source`` and
    restore it on exit, holding the process-wide sklip lock.

    Parameters
    ----------
    random_source : RandomSource
    device : torch.device or None
        A CUDA device whose generator is forked and seeded too.
    """
    devices = ([device.index or 0] if device is not None
               and device.type == "cuda" else [])
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(random_source.seed())
        yield


def torch_generator(random_state, device="cpu"):
    """A torch generator on ``device`` seeded from a scikit-learn
    ``random_state`` (``None``: a seed from numpy's global generator, never
    torch's)."""
    seed = int(check_random_state(random_state).randint(2 ** 31 - 1))
    return torch.Generator(device=torch.device(device)).manual_seed(seed)
