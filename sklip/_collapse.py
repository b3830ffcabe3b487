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

from ._validation import caller_stacklevel

__all__ = ["CollapseCheck"]


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
      frequent among the targets, or when its predictions fall into at
      most a quarter as many classes as the targets (effective numbers,
      the exponential of the entropy: e.g. two of ten balanced classes);
    - a regressor has collapsed when, for every output, the predictions'
      standard deviation is below ``min_std_ratio`` times the targets', or
      when its training R² (mean over outputs) is below ``min_r2``: no
      better than the constant mean.

    It then warns with a :class:`~sklearn.exceptions.ConvergenceWarning`
    whose message names the regulariser, λ, ε and lr. It is one of the
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
                 min_r2=0.05):
        self.max_class_share = max_class_share
        self.min_std_ratio = min_std_ratio
        self.min_r2 = min_r2

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
        if last is None:
            return
        found = (self._classifier_collapse(last) if self._classifier
                 else self._regressor_collapse(last))
        if found is not None:
            warnings.warn(_message(net, found), ConvergenceWarning,
                          stacklevel=caller_stacklevel())

    # Classifier: counts of the predicted and of the true classes.
    @staticmethod
    def _class_counts(y_pred, y_true):
        if y_pred.dim() != 2 or y_pred.shape[1] < 2 or y_true.dim() != 1:
            return None
        k = y_pred.shape[1]
        predicted = torch.bincount(y_pred.argmax(dim=1), minlength=k)
        true = torch.bincount(y_true.long().clamp(0, k - 1), minlength=k)
        return torch.stack([predicted[:k], true[:k]]).double()

    def _classifier_collapse(self, counts):
        predicted, true = counts.cpu()
        n = float(predicted.sum())
        share = float(predicted.max()) / n
        majority = float(true.max()) / n
        if share >= self.max_class_share > majority:
            return (f"predicted one class for {share:.0%} of the training "
                    f"points in the last epoch (the most frequent class is "
                    f"{majority:.0%} of them)")
        used, present = _effective_classes(predicted), _effective_classes(true)
        if used <= present / 4:
            return (f"spread its predictions in the last epoch over about "
                    f"{used:.1f} classes where the targets use {present:.1f} "
                    "(effective numbers, the exponential of the entropy)")
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


def _message(net, found):
    name = type(net).__name__
    regularizer = getattr(net, "regularizer_", None)
    reg_name = getattr(regularizer, "name", None) or type(regularizer).__name__
    reg_lambda = getattr(getattr(net, "lambda_schedule_", None), "value", None)
    parts = [f"{name} {found}: the network collapsed to a (nearly) "
             "constant predictor."]
    if reg_lambda:
        auto = isinstance(net.reg_lambda, str)
        parts.append(
            f"The penalty λ·R(f) (regularizer={reg_name!r}, λ = "
            f"{reg_lambda:.3g}{' from reg_lambda=auto' if auto else ''}) "
            "probably outweighs the data loss for this network and data: "
            "lower reg_lambda (λ has input units, so it must shrink with "
            "the distance between inputs of different targets)")
        epsilon = getattr(net, "epsilon_", None)
        if epsilon is not None:
            parts.append(f"or epsilon (now {epsilon:.3g}), which should be "
                         "small against that distance")
        parts.append(f"or lr (now {net.lr}); or it stopped early "
                     f"(max_epochs={net.max_epochs}), or check the input "
                     "scale.")
    else:
        parts.append(f"Without a penalty this points at lr (now {net.lr}), "
                     "too few epochs, or the input scale.")
    return " ".join(parts[:1]) + " " + ", ".join(parts[1:])
