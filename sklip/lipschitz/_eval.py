"""Evaluating a network as ``predict`` does, with input derivatives only.

Every estimate of :mod:`sklip.lipschitz` is of the function the fitted model
computes at prediction time, so dropout must be off and batch normalisation
must use its running statistics. The caller's module may be in training
mode (a module between epochs); its per-submodule modes are restored, and
its weights never receive a gradient.
"""

from contextlib import contextmanager

import torch

__all__ = ["evaluating", "floating_dtype"]

@contextmanager
def evaluating(module):
    """Put every submodule of ``module`` in evaluation mode, then restore."""
    modes = [(sub, sub.training) for sub in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for sub, training in modes:
            sub.training = training


def floating_dtype(module, default=torch.float32):
    """The dtype of the module's first floating parameter or buffer."""
    for tensor in (*module.parameters(), *module.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return default
