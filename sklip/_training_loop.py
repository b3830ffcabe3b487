"""The training loop of the sklip estimators: one step, and the hooks that
step the λ and ε schedules and write the history.

skorch calls the estimator's own ``on_*`` methods before any callback's, so
the state a training step needs is kept here, never in a callback. Every
step hands the regulariser the module, the batch and a
:class:`~sklip.regularizers.TrainingContext`; the penalty goes back into the
objective and the epoch's totals, and the epoch's λ, ε, score and mean
penalty into the history. With a validation split, the validation batches'
predictions give the epoch's validation score (``valid_acc`` or
``valid_r2``) the same way.

With ``sample_weight`` the data loss of a batch is the weighted mean of the
per-sample losses, ``sum(w * l) / sum(w)``, as in scikit-learn's
``MLPClassifier``; the regulariser's penalty is not weighted.
"""

import functools

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_device

from ._dataset import split_weights
from ._diagnosis import describe_causes
from .regularizers import TrainingContext

__all__ = ["TrainingLoop"]

#: How many times its starting loss a fit's last epoch may end at before
#: it counts as diverged (a loss that grows tenfold is no noise).
DIVERGENCE_FACTOR = 10


class TrainingLoop:
    """Training step and hooks of :class:`~sklip._base.LipschitzNet`
    (a mixin)."""

    # The estimator's own hooks (run before any callback's).
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.initialize_schedules()

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None,
                       **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train,
                               dataset_valid=dataset_valid, **kwargs)
        self._epoch_totals = _EpochTotals()
        self._valid_totals = _EpochTotals()
        # ε is constant within an epoch, so one context serves every step.
        self._context = TrainingContext(
            epsilon=self.epsilon_schedule_.value,
            loss=functools.partial(self.get_loss, training=True),
            generator=self.random_.device_generator)

    def on_batch_end(self, net, batch=None, training=False, y_pred=None,
                     y_true=None, penalty=None, sample_weight=None,
                     data_loss=None, **kwargs):
        # y_true is the step's target, already on the device.
        # Weights are passed only when there are some, so that a subclass's
        # _score_sums(y_pred, y) keeps working for unweighted fits.
        sums = (self._score_sums(y_pred.detach(), y_true)
                if sample_weight is None else
                self._score_sums(y_pred.detach(), y_true, sample_weight))
        if not training:
            self._valid_totals.add(sums, None)
            return
        totals = self._epoch_totals
        totals.add(sums, penalty, data_loss)
        self.history.record_batch("reg_lambda", self.lambda_schedule_.value)
        if self.reg_lambda_update == "batch":
            self.lambda_schedule_.update(totals.score(self._score_from_sums))

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None,
                     **kwargs):
        if self._valid_totals.score_sums is not None:
            self.history.record(self._valid_score_name, self._valid_totals.score(
                self._score_from_sums))
        totals = self._epoch_totals
        if totals.score_sums is None:  # an epoch without training batches
            return
        score = totals.score(self._score_from_sums)
        # The history shows the λ and ε this epoch trained with; the rules
        # then set those of the next epoch.
        self.history.record("train_score", score)
        self.history.record("penalty", totals.mean_penalty())
        if totals.data_loss_count:
            # The loss without the penalty: what divergence is judged by,
            # and the slides' "data loss" curve.
            self.history.record("train_data_loss", totals.mean_data_loss())
        self.history.record("reg_lambda", self.lambda_schedule_.value)
        self.history.record("warmed_up", bool(self.lambda_schedule_.warmed_up))
        if self.epsilon_schedule_.value is not None:
            self.history.record("epsilon", self.epsilon_schedule_.value)
        if self.reg_lambda_update == "epoch":
            self.lambda_schedule_.update(score)
        self.epsilon_schedule_.update()

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if vars(self).get("_interrupted") and len(self.history):
            self.history.record("interrupted", True)
        # The step context holds a generator and a bound method: training
        # state, not fitted state (and neither pickles).
        vars(self).pop("_context", None)
        vars(self).pop("_epoch_totals", None)
        vars(self).pop("_valid_totals", None)

    # The training step.
    def train_step_single(self, batch, **fit_params):
        """One forward/backward pass with the regulariser's penalty.

        The penalty is computed here rather than in ``get_loss`` because
        ``get_loss`` also runs during validation under ``no_grad``, where
        the input gradients that some penalties need do not exist.
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        yi, wi = split_weights(yi)
        Xi, yi = to_device(Xi, self.device), to_device(yi, self.device)
        regularizer = self.regularizer_
        reg_lambda = self.lambda_schedule_.value
        penalty = None
        if reg_lambda > 0:
            y_pred, penalty = regularizer.terms(self.module_, Xi, yi,
                                                self._context)
        else:
            y_pred = self.infer(Xi, **fit_params)
        data_loss = self._data_loss(y_pred, yi, wi, Xi, training=True)
        loss = data_loss if penalty is None else regularizer.combine(
            data_loss, penalty, reg_lambda)
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred, "penalty": penalty,
                "data_loss": data_loss.detach(), "y_true": yi,
                "sample_weight": wi}

    def validation_step(self, batch, **fit_params):
        """skorch's validation step, with the batch's weights and targets
        (on the device) handed on to the validation score."""
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        yi, wi = split_weights(yi)
        yi = to_device(yi, self.device)
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            loss = self._data_loss(y_pred, yi, wi, Xi, training=False)
        return {"loss": loss, "y_pred": y_pred, "y_true": yi,
                "sample_weight": wi}

    def evaluation_step(self, batch, training=False):
        """skorch's prediction step, on a batch of fixed size.

        A matrix product rounds each row by the shape of the whole product
        (one row against twenty differ in the last float32 bit), so a
        short batch (the last one, or data smaller than a batch) is padded
        with zero rows to the prediction batch size and the padding's
        outputs dropped: every row's prediction is then the same bits
        whatever else is predicted with it, as scikit-learn expects
        (``predict(X)[i] == predict(X[i:i + 1])``). The module must treat
        rows independently in eval mode, as networks do.
        """
        self.check_is_fitted()
        Xi, _ = unpack_data(batch)
        size = self.get_params_for("iterator_valid").get(
            "batch_size", self.batch_size)
        n_rows = len(Xi) if isinstance(Xi, torch.Tensor) else None
        pad = (not training and n_rows is not None and size is not None
               and 0 < n_rows < size)
        if pad:
            Xi = torch.cat([Xi, Xi.new_zeros((size - n_rows,)
                                             + tuple(Xi.shape[1:]))])
        with torch.set_grad_enabled(training):
            self._set_training(training)
            y_infer = self.infer(Xi)
        if not pad:
            return y_infer
        if isinstance(y_infer, (tuple, list)):  # a module of several outputs
            return type(y_infer)(out[:n_rows] for out in y_infer)
        return y_infer[:n_rows]

    def _data_loss(self, y_pred, y_true, sample_weight, X, training):
        """The batch's data loss: ``get_loss``, or with weights
        ``sum(w * l) / sum(w)`` over its per-sample losses ``l``."""
        if sample_weight is None:
            return self.get_loss(y_pred, y_true, X=X, training=training)
        criterion = self.criterion_
        reduction = criterion.reduction
        # get_loss stays the one place the loss is computed (a subclass may
        # reshape the targets there); only its reduction is switched off.
        criterion.reduction = "none"
        try:
            losses = self.get_loss(y_pred, y_true, X=X, training=training)
        finally:
            criterion.reduction = reduction
        n = sample_weight.shape[0]
        if losses.dim() == 0 or losses.shape[0] != n:
            raise ValueError(
                f"sample_weight needs one loss per sample, but the criterion "
                f"{type(criterion).__name__} with reduction='none' returned "
                f"shape {tuple(losses.shape)} for a batch of {n}.")
        # A multi-output loss is averaged over the outputs of each sample,
        # as the unweighted mean averages over all of them.
        losses = losses.reshape(n, -1).mean(dim=1)
        weights = sample_weight.to(device=losses.device, dtype=losses.dtype)
        # A batch of zero weights contributes 0 (not 0/0); no sync needed.
        return (weights * losses).sum() / weights.sum().clamp_min(
            torch.finfo(losses.dtype).tiny)

    def _check_weighted_criterion(self):
        """Raise before training when the criterion gives no per-sample
        losses for ``sample_weight``."""
        if not isinstance(getattr(self.criterion_, "reduction", None), str):
            raise TypeError(
                f"sample_weight needs per-sample losses, but the criterion "
                f"{type(self.criterion_).__name__} has no 'reduction' "
                "attribute to set to 'none': use a torch loss (they all "
                "have one), give yours a reduction attribute ('none' "
                "returning one loss per sample), or fit without "
                "sample_weight.")

    def _backward(self, loss):
        """Backpropagate the training objective of one step.

        The single place where training calls ``backward``, so that a
        wrapper such as :class:`~sklip.accelerate.AcceleratedLipschitzClassifier`
        can route it through its ``Accelerator`` (loss scaling, gradient
        accumulation, distributed gradient reduction).
        """
        loss.backward()

    def fit_loop(self, X, y=None, **fit_params):
        # skorch's partial_fit swallows a KeyboardInterrupt and ends
        # training as if it were complete; the flag lets the history and
        # the estimator say that it was not. skorch's callbacks (e.g.
        # EarlyStopping) also stop training by raising it: that stop is
        # deliberate, not an interruption.
        try:
            return super().fit_loop(X, y, **fit_params)
        except KeyboardInterrupt as exc:
            self._interrupted = not _raised_by_callback(exc)
            raise

    def run_single_epoch(self, iterator, training, prefix, step_fn,
                         **fit_params):
        super().run_single_epoch(iterator, training, prefix, step_fn,
                                 **fit_params)
        if training and iterator is not None:
            self._check_not_diverged()

    def _check_not_diverged(self):
        # skorch has already turned every batch loss into a float, so this
        # costs no extra synchronisation. A NaN loss means NaN weights: stop
        # rather than hand back a network that predicts garbage.
        losses = [batch["train_loss"] for batch in self.history[-1, "batches"]
                  if "train_loss" in batch]
        if losses and not np.all(np.isfinite(losses)):
            raise FloatingPointError(
                f"training diverged in epoch {len(self.history)}: the "
                f"training loss became {losses[-1]}. "
                f"{describe_causes(self)}")

    def _check_converged(self, reference_loss):
        """Raise when training ended far worse than it started.

        Parameters
        ----------
        reference_loss : float or None
            The larger of the data loss of the network before training and
            that of the best constant predictor: a last epoch's data loss
            ten times above it means the steps overshot (the loss grew
            instead of falling), although it stayed finite.
        """
        if not len(self.history):
            return
        if not all(bool(torch.isfinite(p).all())
                   for p in self.module_.parameters()):
            raise FloatingPointError(
                f"training diverged: the network's weights are no longer "
                f"finite after epoch {len(self.history)}. "
                f"{describe_causes(self)}")
        final = self.history[-1].get("train_data_loss")
        if (final is None or reference_loss is None
                or not np.isfinite(reference_loss)):
            return
        if final > DIVERGENCE_FACTOR * max(reference_loss, 1e-12):
            raise FloatingPointError(
                f"training diverged: the data loss of the last epoch "
                f"({final:.3g}) is over {DIVERGENCE_FACTOR}× the loss the "
                f"fit started from or that of the best constant predictor "
                f"({reference_loss:.3g}). {describe_causes(self)}")


def _raised_by_callback(exc):
    """Whether ``exc`` was raised by a skorch callback's own code (the
    innermost frame is a callback method), rather than by Ctrl-C."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    owner = None if tb is None else tb.tb_frame.f_locals.get("self")
    return isinstance(owner, Callback)


class _EpochTotals:
    """Running sums of one epoch's training score and penalty."""

    def __init__(self):
        # Only training batches have a penalty; validation batches only add
        # score sums.
        self.score_sums = None
        self.penalty_sum = None
        self.penalty_count = 0
        self.data_loss_sum = None
        self.data_loss_count = 0

    def add(self, score_sums, penalty, data_loss=None):
        self.score_sums = (score_sums if self.score_sums is None
                           else self.score_sums + score_sums)
        if penalty is not None:
            penalty = penalty.detach()
            self.penalty_sum = (penalty if self.penalty_sum is None
                                else self.penalty_sum + penalty)
            self.penalty_count += 1
        if data_loss is not None:
            # Summed on the device: one synchronisation per epoch.
            data_loss = data_loss.detach()
            self.data_loss_sum = (data_loss if self.data_loss_sum is None
                                  else self.data_loss_sum + data_loss)
            self.data_loss_count += 1

    def score(self, score_from_sums):
        return float(score_from_sums(self.score_sums))

    def mean_penalty(self):
        if not self.penalty_count:
            return 0.0
        return float(self.penalty_sum) / self.penalty_count

    def mean_data_loss(self):
        return float(self.data_loss_sum) / self.data_loss_count
