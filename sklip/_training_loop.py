"""The training loop of the sklip estimators: one step, and the hooks that
step the λ and ε schedules and write the history.

skorch calls the estimator's own ``on_*`` methods before any callback's, so
the state a training step needs is kept here, never in a callback. Every
step hands the regulariser the module, the batch and a
:class:`~sklip.regularizers.TrainingContext`; the penalty goes back into the
objective and the epoch's totals, and the epoch's λ, ε, score and mean
penalty into the history.
"""

import functools

import numpy as np
from skorch.dataset import unpack_data
from skorch.utils import to_device

from .regularizers import TrainingContext

__all__ = ["TrainingLoop"]


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
        # ε is constant within an epoch, so one context serves every step.
        self._context = TrainingContext(
            epsilon=self.epsilon_schedule_.value,
            loss=functools.partial(self.get_loss, training=True),
            generator=self.random_.device_generator)

    def on_batch_end(self, net, batch=None, training=False, y_pred=None,
                     y_true=None, penalty=None, **kwargs):
        if not training:
            return
        # y_true is the step's target, already on the device.
        totals = self._epoch_totals
        totals.add(self._score_sums(y_pred.detach(), y_true), penalty)
        self.history.record_batch("reg_lambda", self.lambda_schedule_.value)
        if self.reg_lambda_update == "batch":
            self.lambda_schedule_.update(totals.score(self._score_from_sums))

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None,
                     **kwargs):
        totals = self._epoch_totals
        if totals.score_sums is None:  # an epoch without training batches
            return
        score = totals.score(self._score_from_sums)
        # The history shows the λ and ε this epoch trained with; the rules
        # then set those of the next epoch.
        self.history.record("train_score", score)
        self.history.record("penalty", totals.mean_penalty())
        self.history.record("reg_lambda", self.lambda_schedule_.value)
        self.history.record("warmed_up", bool(self.lambda_schedule_.warmed_up))
        if self.epsilon_schedule_.value is not None:
            self.history.record("epsilon", self.epsilon_schedule_.value)
        if self.reg_lambda_update == "epoch":
            self.lambda_schedule_.update(score)
        self.epsilon_schedule_.update()

    def on_train_end(self, net, X=None, y=None, **kwargs):
        # The step context holds a generator and a bound method: training
        # state, not fitted state (and neither pickles).
        vars(self).pop("_context", None)
        vars(self).pop("_epoch_totals", None)

    # The training step.
    def train_step_single(self, batch, **fit_params):
        """One forward/backward pass with the regulariser's penalty.

        The penalty is computed here rather than in ``get_loss`` because
        ``get_loss`` also runs during validation under ``no_grad``, where
        the input gradients that some penalties need do not exist.
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi, yi = to_device(Xi, self.device), to_device(yi, self.device)
        regularizer = self.regularizer_
        reg_lambda = self.lambda_schedule_.value
        penalty = None
        if reg_lambda > 0:
            y_pred, penalty = regularizer.terms(self.module_, Xi, yi,
                                                self._context)
        else:
            y_pred = self.infer(Xi, **fit_params)
        data_loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss = data_loss if penalty is None else regularizer.combine(
            data_loss, penalty, reg_lambda)
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred, "penalty": penalty,
                "data_loss": data_loss.detach(), "y_true": yi}

    def _backward(self, loss):
        """Backpropagate the training objective of one step.

        The single place where training calls ``backward``, so that a
        wrapper such as :class:`~sklip.accelerate.AcceleratedLipschitzClassifier`
        can route it through its ``Accelerator`` (loss scaling, gradient
        accumulation, distributed gradient reduction).
        """
        loss.backward()

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
                f"training loss became {losses[-1]}. Lower lr (now "
                f"{self.lr}) or reg_lambda (now {self.reg_lambda_}).")


class _EpochTotals:
    """Running sums of one epoch's training score and penalty."""

    def __init__(self):
        self.score_sums = None
        self.penalty_sum = None
        self.penalty_count = 0

    def add(self, score_sums, penalty):
        self.score_sums = (score_sums if self.score_sums is None
                           else self.score_sums + score_sums)
        if penalty is not None:
            penalty = penalty.detach()
            self.penalty_sum = (penalty if self.penalty_sum is None
                                else self.penalty_sum + penalty)
            self.penalty_count += 1

    def score(self, score_from_sums):
        return float(score_from_sums(self.score_sums))

    def mean_penalty(self):
        if not self.penalty_count:
            return 0.0
        return float(self.penalty_sum) / self.penalty_count
