"""Checks of one ``fit`` call around skorch's training loop.

Before training: the ``fit`` arguments (no forward arguments, valid
``sample_weight``) and the callbacks against the validation split. After
it: the loss a fit that went well ends below (against which
:meth:`~sklip._training_loop.TrainingLoop._check_converged` judges
divergence), and the warning of a fit cut short by Ctrl-C.
"""

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight

from ._validation import caller_stacklevel

__all__ = ["FitChecks", "reject_fit_params"]


def reject_fit_params(fit_params):
    """Refuse extra ``fit`` arguments instead of silently ignoring them."""
    if fit_params:
        raise TypeError(
            f"fit got unexpected keyword argument(s) {sorted(fit_params)}: "
            "sklip estimators take X, y and sample_weight (forward "
            "arguments are not supported: the regularisers call the module "
            "with the input alone).")


class FitChecks:
    """Per-fit checks of :class:`~sklip._base.LipschitzNet` (a mixin)."""

    def _validate_sample_weight(self, sample_weight, X):
        """``sample_weight`` as a float32 tensor, or ``None`` when it is
        ``None`` or constant (the weighted mean is then the plain mean)."""
        if sample_weight is None:
            return None
        try:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        except ValueError as exc:
            # scikit-learn's messages say "Sample weights", or only the
            # value that numpy could not convert.
            message = str(exc)
            raise ValueError(
                message if "sample_weight" in message else
                f"sample_weight must be None, a number or a 1-D array of "
                f"non-negative numbers, one per sample: {message}") from exc
        if np.all(sample_weight == sample_weight[0]):
            return None
        # The weighted means do not depend on the weights' scale; scaled to
        # a maximum of 1, every float64 weight fits in float32.
        return torch.as_tensor(sample_weight / sample_weight.max(),
                               dtype=torch.float32)

    def _check_valid_monitors(self):
        """Raise before training when a callback monitors a validation
        score that no validation split will record."""
        if self.train_split is not None:
            return
        for name, callback in self.callbacks_:
            monitor = getattr(callback, "monitor", None)
            if isinstance(monitor, str) and monitor.startswith("valid_"):
                raise ValueError(
                    f"callback {name!r} monitors {monitor!r}, a validation "
                    "score, but train_split=None trains on all data without "
                    "a validation split, so it is never recorded. Set "
                    "train_split, e.g. "
                    "train_split=skorch.dataset.ValidSplit(0.2), or monitor "
                    "a training score such as 'train_loss'.")

    def _reference_loss(self, start_loss):
        """The loss a fit that went well ends below: the larger of the
        starting loss and, with the default criterion, that of the best
        constant predictor (L0, measured for reg_lambda="auto")."""
        losses = [start_loss] if start_loss is not None else []
        measured = vars(self).get("_loss_and_separation")
        if measured is not None and self.criterion is None:
            losses.append(measured[0])
        return max(losses) if losses else None

    def _warn_interrupted(self):
        epochs = len(self.history)
        warnings.warn(
            f"{type(self).__name__}.fit was interrupted (KeyboardInterrupt) "
            f"in epoch {epochs} of max_epochs={self.max_epochs}: the network "
            "is the one trained so far, and the history records "
            "'interrupted' in its last epoch.", ConvergenceWarning,
            stacklevel=caller_stacklevel())
