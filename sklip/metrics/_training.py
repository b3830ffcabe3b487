"""Robustness recorded during training, as a skorch callback.

Accuracy under FGSM (Goodfellow et al., ICLR 2015), PGD (Madry et al., ICLR
2018) or noise after every epoch shows how robustness evolves while a
Lipschitz regulariser is switched on (the slides' training curves).

The callback is not built on :class:`skorch.callbacks.EpochScoring`: that
class scores the outputs cached during the validation pass, which are the
*clean* outputs, so a robustness score computed through it would silently be
clean accuracy. Here every epoch attacks the inputs afresh and passes the
attacked inputs through the network; nothing is cached.
"""

import numpy as np
import torch
from sklearn.base import is_classifier
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_device

from .._models import input_tensor, resolve_model, target_tensor
from ..attacks import get_attack, squared_error_loss
from ..attacks._checks import make_generator

__all__ = ["RobustnessScoring"]


class RobustnessScoring(Callback):
    """Record accuracy (or MSE) under an attack after every epoch.

    Parameters
    ----------
    attack : Attack
        E.g. ``PGDAttack(eps=2.0, n_iter=10)``; cloned when training starts.
    X, y : array-like or None, default=None
        Fixed data to score, with labels as passed to ``fit``. ``None`` scores
        the data of the epoch: the training data when ``on_train`` is true,
        the validation split otherwise (nothing is recorded when the
        estimator has no validation split).
    name : str or None, default=None
        History key; ``None`` gives ``"<attack>_accuracy"`` for a classifier
        and ``"<attack>_mse"`` for a regressor, prefixed with ``"train_"``
        or ``"valid_"`` when the epoch's data are scored.
    on_train : bool, default=False
        Score the training data instead of the validation split (only when
        ``X`` is ``None``).
    batch_size : int, default=1024
        Samples attacked at once (fixed ``X`` only; the epoch's data use the
        estimator's validation iterator).
    max_samples : int or None, default=None
        Score at most this many samples of the fixed ``X`` (the first ones),
        to bound the cost per epoch.

    Attributes
    ----------
    name_ : str
        The history key in use.

    Examples
    --------
    >>> from sklip import LipschitzClassifier
    >>> from sklip.attacks import FGSMAttack
    >>> from sklip.datasets import load_digits_scaled
    >>> from sklip.metrics import RobustnessScoring
    >>> X, y = load_digits_scaled()
    >>> cb = RobustnessScoring(FGSMAttack(eps=0.1, clamp=(0, 1)), X[:200],
    ...                        y[:200])
    >>> clf = LipschitzClassifier(max_epochs=2, callbacks=[cb],
    ...                           random_state=0).fit(X, y)
    >>> len(clf.history[:, "fgsm_accuracy"])
    2
    """

    def __init__(self, attack, X=None, y=None, name=None, on_train=False,
                 batch_size=1024, max_samples=None):
        self.attack = attack
        self.X = X
        self.y = y
        self.name = name
        self.on_train = on_train
        self.batch_size = batch_size
        self.max_samples = max_samples

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.attack_ = get_attack(self.attack).validate()
        if (self.X is None) != (self.y is None):
            raise ValueError("RobustnessScoring needs both X and y, or "
                             "neither (to score the epoch's data).")
        self.classify_ = is_classifier(net)
        suffix = "accuracy" if self.classify_ else "mse"
        prefix = "" if self.X is not None else (
            "train_" if self.on_train else "valid_")
        self.name_ = (self.name if self.name is not None
                      else f"{prefix}{self.attack_.name}_{suffix}")
        self.data_ = None
        if self.X is not None:
            X_fixed, y_fixed = self.X, self.y
            if self.max_samples is not None:
                X_fixed, y_fixed = X_fixed[:self.max_samples], \
                    y_fixed[:self.max_samples]
            X_t, y_t = input_tensor(net, X_fixed), target_tensor(net, y_fixed)
            self.data_ = [(X_t[i:i + self.batch_size],
                           y_t[i:i + self.batch_size])
                          for i in range(0, X_t.shape[0], self.batch_size)]

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None,
                     **kwargs):
        batches = self.data_
        if batches is None:
            dataset = dataset_train if self.on_train else dataset_valid
            if dataset is None:
                return
            batches = (unpack_data(batch) for batch in
                       net.get_iterator(dataset, training=False))
        net.history.record(self.name_, self._score(net, batches))

    def _score(self, net, batches):
        resolved = resolve_model(net)
        module, device = resolved.module, resolved.device
        was_training = module.training
        module.eval()
        # The attack's random draws must not shift the training's random
        # stream, or monitoring would change the model being monitored.
        cuda = [device.index or 0] if device.type == "cuda" else []
        total, count = 0.0, 0
        try:
            with torch.random.fork_rng(devices=cuda):
                generator = make_generator(
                    getattr(self.attack_, "random_state", None), device)
                for Xi, yi in batches:
                    Xi = to_device(Xi, device).float()
                    yi = to_device(yi, device)
                    # The attack's own loss: by default the cross-entropy
                    # for class indices, the squared error for targets.
                    X_adv = self.attack_.perturb(module, Xi, yi,
                                                 generator=generator)
                    with torch.no_grad():
                        outputs = module(X_adv)
                    if self.classify_:
                        total += float((outputs.argmax(dim=1) == yi).sum())
                    else:
                        total += float(squared_error_loss(outputs, yi).sum()
                                       / outputs[0].numel())
                    count += Xi.shape[0]
        finally:
            module.train(was_training)
        return total / count if count else np.nan
