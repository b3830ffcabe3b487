"""What a regulariser may know of the training step it serves.

The estimator builds a :class:`TrainingContext` for every training step and
hands it to the regulariser with the module and the batch. The regulariser
never sees the estimator: everything it may read is here, frozen, so that a
regulariser can be used, tested and pickled on its own.
"""

from dataclasses import dataclass
from typing import Callable, Optional

import torch

__all__ = ["TrainingContext"]


@dataclass(frozen=True)
class TrainingContext:
    """The state of the training step a regulariser may read.

    Parameters
    ----------
    epsilon : float or None, default=None
        The radius ε of this epoch (after the estimator's ε schedule), for
        the regularisers that use one; ``None`` for the others.
    loss : callable or None, default=None
        ``loss(y_pred, y) -> scalar tensor``, the training criterion on a
        batch; adversarial training scores its examples with it.
    generator : torch.Generator or None, default=None
        Source of every random draw of the step, on the batch's device
        (the estimator seeds it from its ``random_state``); ``None`` draws
        from torch's global generator.

    Examples
    --------
    >>> import torch
    >>> from sklip.regularizers import TVRegularizer, TrainingContext
    >>> module = torch.nn.Linear(3, 2)
    >>> y_pred, penalty = TVRegularizer().terms(
    ...     module, torch.zeros(4, 3), None, TrainingContext())
    >>> y_pred.shape, penalty.dim()
    (torch.Size([4, 2]), 0)
    """

    epsilon: Optional[float] = None
    loss: Optional[Callable] = None
    generator: Optional[torch.Generator] = None

    def require_epsilon(self, owner):
        """The radius, or a ``ValueError`` naming ``owner`` when unset."""
        if self.epsilon is None:
            raise ValueError(
                f"{owner} needs a radius: pass TrainingContext(epsilon=...) "
                "(estimators set it from their epsilon and epsilon_decay).")
        return float(self.epsilon)

    def require_loss(self, owner):
        """The training loss, or a ``ValueError`` naming ``owner``."""
        if self.loss is None:
            raise ValueError(
                f"{owner} needs the training loss: pass "
                "TrainingContext(loss=...), a callable loss(y_pred, y).")
        return self.loss
