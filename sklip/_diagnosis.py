"""What most likely went wrong when training diverged or collapsed.

A network that ends at chance, or whose loss blew up, has one of a few
usual causes: inputs or targets far from unit scale, a step size too large
for the optimiser, a penalty weight λ (or radius ε) that outweighs the data
loss, or too few epochs. :func:`likely_causes` orders them by what the fit
itself shows, so that the divergence error (:mod:`sklip._training_loop`)
and the collapse warning (:mod:`sklip._collapse`) point at the cause that
fits the evidence instead of always at lr and λ.

The data scales are measured when ``fit`` validates its data and kept only
while it trains (``_data_scales``); they are training input, not fitted
state.
"""

import numpy as np
import torch

__all__ = ["DataScales", "describe_causes", "likely_causes"]

#: Largest input or target magnitude a network with default initialisation
#: trains on without rescaling; beyond it activations and gradients grow
#: with the scale (an observation, not a hard limit).
LARGE_SCALE = 1e3

#: Step sizes beyond which the named optimisers usually diverge on these
#: networks (Adam's default is 1e-3, SGD's usual range 1e-3 to 1e-1).
LARGE_LR = {"adam": 0.1, "sgdm": 1.0, "nag": 1.0}

#: Fewer optimiser steps than this make too short a fit the first
#: suspect (the default 50 epochs of 1,347 digits images are 550 steps).
FEW_STEPS = 100


class DataScales:
    """Magnitudes of the training data that explain a failed fit.

    Parameters
    ----------
    input_max : float or None
        ``max |X|`` (of a Dataset's first item); ``None`` when unknown.
    target_std : float or None
        A regressor's largest target standard deviation; ``None`` for a
        classifier or when unknown.
    """

    def __init__(self, input_max=None, target_std=None):
        self.input_max = input_max
        self.target_std = target_std

    @classmethod
    def measure(cls, X, y, regression):
        """The scales of validated training data (arrays or a Dataset)."""
        if isinstance(X, torch.utils.data.Dataset):
            # Only the first item is read: a Dataset may stream from disk.
            first = X[0][0] if len(X) else None
            input_max = None if first is None else _max_abs(first)
            return cls(input_max, None)
        target_std = None
        if regression and y is not None and len(y) > 1:
            with np.errstate(over="ignore"):
                target_std = float(np.max(np.std(
                    np.asarray(y, dtype=np.float64), axis=0)))
        return cls(_max_abs(X), target_std)


def _max_abs(values):
    values = (values.detach().cpu().numpy() if torch.is_tensor(values)
              else np.asarray(values))
    if values.size == 0:
        return None
    # The two extremes, read in the data's own dtype: no float64 copy of
    # the whole training set (an absolute value of NaN stays NaN).
    low, high = abs(float(np.min(values))), abs(float(np.max(values)))
    return float(np.maximum(low, high))


def likely_causes(net):
    """The likely causes of a failed fit of ``net``, most likely first.

    Parameters
    ----------
    net : LipschitzClassifier or LipschitzRegressor
        An estimator whose training just ended.

    Returns
    -------
    list of str
        Sentences naming a parameter or the data, each with what to do.
    """
    scales = vars(net).get("_data_scales") or DataScales()
    first, then = [], []
    if scales.input_max is not None and scales.input_max > LARGE_SCALE:
        first.append(
            f"the inputs X reach {scales.input_max:.3g} in magnitude: "
            "networks train on inputs of order 1, so scale X (e.g. "
            "sklearn.preprocessing.StandardScaler in a pipeline)")
    if scales.target_std is not None and scales.target_std > LARGE_SCALE:
        first.append(
            f"the targets y have a standard deviation of "
            f"{scales.target_std:.3g}: standardise y (e.g. with "
            "sklearn.compose.TransformedTargetRegressor)")
    lr_limit = LARGE_LR.get(net.optimizer) if isinstance(
        net.optimizer, str) else None
    if lr_limit is not None and net.lr >= lr_limit:
        first.append(f"lr={net.lr:g} is large for "
                     f"optimizer={net.optimizer!r}: lower it")
    schedule = vars(net).get("lambda_schedule_")
    reg_lambda = getattr(schedule, "value", None)
    if reg_lambda:
        regularizer = getattr(net, "regularizer_", None)
        reg_name = getattr(regularizer, "name", None) or type(
            regularizer).__name__
        auto = f" from reg_lambda={net.reg_lambda!r}" if isinstance(
            net.reg_lambda, str) else ""
        then.append(
            f"the penalty λ·R(f) (regularizer={reg_name!r}, λ = "
            f"{reg_lambda:.3g}{auto}) may outweigh the data loss: lower "
            "reg_lambda (λ has input units, so it must shrink with the "
            "distance between inputs of different targets)")
        epsilon = getattr(net, "epsilon_", None)
        if epsilon is not None:
            then.append(f"epsilon (now {epsilon:.3g}) should be small "
                        "against that distance")
    if lr_limit is None or net.lr < lr_limit:
        then.append(f"lr={net.lr:g} may be too large or too small")
    steps = _training_steps(net)
    if steps is not None and steps < FEW_STEPS:
        # Too short a fit explains a poor one before any λ does.
        then.insert(0, f"max_epochs={net.max_epochs} may be too few (only "
                       f"{steps} optimiser steps in all)")
    else:
        then.append(f"max_epochs={net.max_epochs} may be too few")
    return first + then


def _training_steps(net):
    """Optimiser steps of the fit, from the history's training batches."""
    history = getattr(net, "history_", None)
    if history is None:
        return None
    return sum(1 for row in history for batch in row.get("batches", ())
               if "train_batch_size" in batch)


def describe_causes(net):
    """:func:`likely_causes` as one sentence for a message."""
    causes = likely_causes(net)
    return "Likely causes, most likely first: " + "; ".join(causes) + "."
