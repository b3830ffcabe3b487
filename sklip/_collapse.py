"""A warning when training ends in a constant predictor.

A penalty ``λ · R(f)`` that outweighs what fitting the data saves makes the
constant network the optimum: ``R`` vanishes and the data loss stays at
that of the best constant (see :mod:`sklip._auto_lambda`). Training then
"succeeds" without any error and hands back a model that predicts one
class, or one value. :class:`CollapseCheck` sees it in what training
computes anyway — the training batches' predictions and targets — and warns
at the end of ``fit`` with scikit-learn's
:class:`~sklearn.exceptions.ConvergenceWarning`, naming the likely causes.
"""

import warnings

import torch
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback
from skorch.dataset import unpack_data

from ._diagnosis import describe_causes
from ._validation import caller_stacklevel

__all__ = ["CollapseCheck"]

#: Up to this many classes the per-batch class counts come from one
#: confusion matrix (k² bins); above it, from three counts of k bins.
CONFUSION_CLASSES = 64


class CollapseCheck(Callback):
    """Warn when the last training epoch's predictions were constant.

    During every epoch the callback adds up, on the device and without any
    extra forward pass, what the training batches' predictions and targets
    are: for a classifier how often each class was predicted and how often
    it is the target; for a regressor the sums and squared sums of
    predictions and targets. At the end of training it looks at the last
    epoch:

    - a classifier has collapsed when one class got at least
      ``max_class_share`` of the predictions although no class is that
      frequent among the targets, when its predictions fall into at
      most a quarter as many classes as the targets (effective numbers,
      the exponential of the entropy: e.g. two of ten balanced classes),
      or when its training accuracy exceeds the most frequent class's
      share by less than ``min_accuracy_gain`` of what is left above it
      (no better than chance, however spread its predictions);
    - a regressor has collapsed when, for every output, the predictions'
      standard deviation is below ``min_std_ratio`` times the targets', or
      when its training R² (mean over outputs) is below ``min_r2``: no
      better than the constant mean.

    It then warns with a :class:`~sklearn.exceptions.ConvergenceWarning`
    whose message names the likely causes, most likely first (input or
    target scale, lr, λ, ε, epochs; see :mod:`sklip._diagnosis`). A fit
    stopped by ``KeyboardInterrupt`` is not judged: it warns that it was
    interrupted instead. It is one of the
    estimators' default callbacks (``callbacks__collapse=None`` switches it
    off).

    Parameters
    ----------
    max_class_share : float, default=0.95
        Share of the predictions in one class from which a classifier is
        taken for a constant predictor.
    min_std_ratio : float, default=0.05
        Ratio of the predictions' to the targets' standard deviation below
        which a regressor is taken for a constant predictor.
    min_r2 : float, default=0.05
        Training R² below which a regressor is taken for no better than a
        constant predictor.
    min_accuracy_gain : float, default=0.1
        Least share of the gap between the most frequent class's share
        ``m`` and 1 that a classifier's training accuracy must exceed ``m``
        by (10 balanced classes: accuracy above 0.19).

    Examples
    --------
    >>> import warnings
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> from sklip import LipschitzClassifier
    >>> from sklip.datasets import load_digits_scaled
    >>> X, y = load_digits_scaled()
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = LipschitzClassifier(regularizer="tv", reg_lambda=1e3,
    ...                             max_epochs=3, random_state=0).fit(X, y)
    >>> any(issubclass(w.category, ConvergenceWarning) for w in caught)
    True
    """

    def __init__(self, max_class_share=0.95, min_std_ratio=0.05,
                 min_r2=0.05, min_accuracy_gain=0.1):
        self.max_class_share = max_class_share
        self.min_std_ratio = min_std_ratio
        self.min_r2 = min_r2
        self.min_accuracy_gain = min_accuracy_gain

    def on_train_begin(self, net, **kwargs):
        self._classifier = is_classifier(net)
        self._last = None

    def on_epoch_begin(self, net, **kwargs):
        self._sums = None

    def on_batch_end(self, net, batch=None, training=False, y_pred=None,
                     **kwargs):
        if not training or y_pred is None:
            return
        y_true = kwargs.get("y_true")
        if y_true is None:
            y_true = unpack_data(batch)[1]
        if isinstance(y_true, dict):  # targets packed with sample weights
            y_true = y_true.get("y")
        if not torch.is_tensor(y_true):
            return
        y_pred = y_pred.detach()
        y_true = y_true.to(y_pred.device)
        sums = (self._class_counts(y_pred, y_true) if self._classifier
                else self._moments(y_pred, y_true))
        if sums is not None:
            self._sums = sums if self._sums is None else self._sums + sums

    def on_epoch_end(self, net, **kwargs):
        if self._sums is not None:
            self._last = self._sums

    def on_train_end(self, net, **kwargs):
        last, self._last, self._sums = self._last, None, None
        if last is None or _interrupted(net):
            return
        found = (self._classifier_collapse(last) if self._classifier
                 else self._regressor_collapse(last))
        if found is not None:
            warnings.warn(_message(net, found), ConvergenceWarning,
                          stacklevel=caller_stacklevel())

    # Classifier: counts of the predicted, of the true and of the correctly
    # predicted classes.
    @staticmethod
    def _class_counts(y_pred, y_true):
        if y_pred.dim() != 2 or y_pred.shape[1] < 2 or y_true.dim() != 1:
            return None
        k = y_pred.shape[1]
        labels = y_pred.argmax(dim=1)
        y_true = y_true.long().clamp(0, k - 1)
        if k <= CONFUSION_CLASSES:
            # One count of the (true, predicted) pairs, the confusion
            # matrix, gives all three (and no boolean indexing, which waits
            # for the device).
            confusion = torch.bincount(y_true * k + labels,
                                       minlength=k * k).view(k, k)
            return torch.stack([confusion.sum(0), confusion.sum(1),
                                confusion.diagonal()]).double()
        predicted = torch.bincount(labels, minlength=k)
        true = torch.bincount(y_true, minlength=k)
        correct = torch.bincount(y_true[labels == y_true], minlength=k)
        return torch.stack([predicted[:k], true[:k], correct[:k]]).double()

    def _classifier_collapse(self, counts):
        predicted, true, correct = counts.cpu()
        n = float(predicted.sum())
        share = float(predicted.max()) / n
        majority = float(true.max()) / n
        accuracy = float(correct.sum()) / n
        if share >= self.max_class_share > majority:
            return (f"predicted one class for {share:.0%} of the training "
                    f"points in the last epoch (the most frequent class is "
                    f"{majority:.0%} of them)")
        used, present = _effective_classes(predicted), _effective_classes(true)
        if used <= present / 4:
            return (f"spread its predictions in the last epoch over about "
                    f"{used:.1f} classes where the targets use {present:.1f} "
                    "(effective numbers, the exponential of the entropy)")
        if accuracy <= majority + self.min_accuracy_gain * (1 - majority):
            return (f"reached a training accuracy of {accuracy:.1%} in the "
                    f"last epoch, no better than always predicting the most "
                    f"frequent class ({majority:.1%})")
        return None

    # Regressor: sums and squared sums of predictions and targets, squared
    # errors, count.
    @staticmethod
    def _moments(y_pred, y_true):
        n = y_pred.shape[0]
        y_pred = y_pred.reshape(n, -1).double()
        y_true = y_true.reshape(n, -1).double()
        if y_true.shape != y_pred.shape:
            return None
        count = torch.full_like(y_pred[0], float(n))
        return torch.stack([y_pred.sum(0), y_pred.square().sum(0),
                            y_true.sum(0), y_true.square().sum(0),
                            (y_pred - y_true).square().sum(0), count])

    def _regressor_collapse(self, moments):
        pred_sum, pred_sq, true_sum, true_sq, sse, n = moments.cpu()
        pred_std = (pred_sq / n - (pred_sum / n).square()).clamp_min(0).sqrt()
        true_std = (true_sq / n - (true_sum / n).square()).clamp_min(0).sqrt()
        informative = true_std > 0
        if not bool(informative.any()):
            return None
        ratio = float((pred_std[informative] / true_std[informative]).max())
        if ratio < self.min_std_ratio:
            return (f"made predictions whose spread in the last epoch was "
                    f"{ratio:.1%} of the targets' (standard deviations)")
        sst = n[informative] * true_std[informative].square()
        r2 = float((1 - sse[informative] / sst).mean())
        if r2 < self.min_r2:
            return (f"reached a training R² of {r2:.3f} in the last epoch, "
                    "no better than predicting the mean")
        return None


def _effective_classes(counts):
    """``exp(entropy)`` of class counts: 1 for one class, ``k`` for ``k``
    equally frequent ones."""
    share = counts[counts > 0] / counts.sum()
    return float(torch.exp(-(share * share.log()).sum()))


def _interrupted(net):
    history = getattr(net, "history_", None)
    return bool(history) and bool(history[-1].get("interrupted", False))


def _message(net, found):
    return (f"{type(net).__name__} {found}: the network collapsed to (or is "
            f"no better than) a constant predictor. {describe_causes(net)}")
