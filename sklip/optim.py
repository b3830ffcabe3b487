"""Optimiser names: SGD with momentum, Nesterov, Adam (the slides' Figure 11).

``optimizer="sgdm"`` is :class:`torch.optim.SGD` with momentum 0.9,
``"nag"`` the same with Nesterov acceleration, ``"adam"`` is
:class:`torch.optim.Adam` (Kingma & Ba, ICLR 2015). Any
:class:`torch.optim.Optimizer` subclass can be passed instead, with its
arguments as ``optimizer__<name>``.
"""

import torch

__all__ = ["OPTIMIZERS", "resolve_optimizer"]

#: Optimiser name -> (class, default keyword arguments).
OPTIMIZERS = {
    "sgdm": (torch.optim.SGD, {"momentum": 0.9}),
    "nag": (torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
    "adam": (torch.optim.Adam, {}),
}


def resolve_optimizer(optimizer):
    """Optimiser class and default arguments for a name or a class.

    Parameters
    ----------
    optimizer : str or type
        One of ``"sgdm"``, ``"nag"``, ``"adam"``, or a subclass of
        :class:`torch.optim.Optimizer`.

    Returns
    -------
    cls : type
        The optimiser class.
    defaults : dict
        Keyword arguments the name implies (overridable with
        ``optimizer__<name>``).

    Examples
    --------
    >>> from sklip.optim import resolve_optimizer
    >>> resolve_optimizer("nag")
    (<class 'torch.optim.sgd.SGD'>, {'momentum': 0.9, 'nesterov': True})
    """
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {sorted(OPTIMIZERS)} or a "
                f"torch.optim.Optimizer subclass, got {optimizer!r}.")
        cls, defaults = OPTIMIZERS[optimizer]
        return cls, dict(defaults)
    if isinstance(optimizer, type) and issubclass(optimizer,
                                                  torch.optim.Optimizer):
        return optimizer, {}
    raise TypeError(
        f"optimizer must be one of {sorted(OPTIMIZERS)} or a "
        f"torch.optim.Optimizer subclass, got {optimizer!r}.")
