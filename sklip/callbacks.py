"""skorch callbacks that steer and record Lipschitz training.

- :class:`LambdaSchedule`: the warm-up of the slides ("Stronger": λ stays 0
  until the training score reaches α) and the discrepancy rule of the CLIP
  reference and of pTV (λ ± dλ against α, floored at 0), per batch or per
  epoch.
- :class:`EpsilonSchedule`: ``ε ← decay · ε`` after every epoch (pTV).
- :class:`LipschitzMonitor`: a pair-search lower bound of ``Lip(f)`` on a
  fixed training sample after every epoch (the slides' Figure 10).

All three read their settings from the estimator's hyperparameters and write
to its history, so they are registered as default callbacks; replace or
switch one off with ``callbacks__<name>=...`` as for any skorch callback.
"""

from skorch.callbacks import Callback
from skorch.dataset import unpack_data

from .regularizers._pairs import PairSearch

__all__ = ["LambdaSchedule", "EpsilonSchedule", "LipschitzMonitor"]


class LambdaSchedule(Callback):
    """Warm-up and discrepancy rule for the regularisation weight λ.

    The estimator's hyperparameters decide what happens:

    - ``target_accuracy`` (α): ``None`` keeps λ fixed at ``reg_lambda``.
    - ``warm_up``: λ is 0 until the running training score (accuracy for a
      classifier, R² for a regressor) reaches α; then λ = ``reg_lambda``
      and the regulariser is switched on for good.
    - ``reg_lambda_step`` (dλ): after warm-up, λ += dλ when the score
      exceeds α and λ = max(0, λ − dλ) otherwise.
    - ``reg_lambda_update``: ``"batch"`` applies the rule after every batch
      (with the running score of the epoch so far), ``"epoch"`` after every
      epoch.

    History keys: ``reg_lambda`` (batch and epoch), ``train_score``,
    ``penalty`` (mean over the epoch's regularised batches), ``warmed_up``.
    """

    def on_train_begin(self, net, **kwargs):
        warming = bool(net.warm_up) and net.target_accuracy is not None
        net.warmed_up_ = not warming
        net.reg_lambda_ = 0.0 if warming else net._resolved_reg_lambda()

    def on_epoch_begin(self, net, **kwargs):
        self.score_sums_ = None
        self.penalty_sum_ = None
        self.penalty_count_ = 0

    def on_batch_end(self, net, batch=None, training=False, y_pred=None,
                     penalty=None, **kwargs):
        if not training:
            return
        _, y = unpack_data(batch)
        sums = net._score_sums(y_pred.detach(), y)
        self.score_sums_ = sums if self.score_sums_ is None \
            else self.score_sums_ + sums
        if penalty is not None:
            penalty = penalty.detach()
            self.penalty_sum_ = penalty if self.penalty_sum_ is None \
                else self.penalty_sum_ + penalty
            self.penalty_count_ += 1
        net.history.record_batch("reg_lambda", net.reg_lambda_)
        if net.reg_lambda_update == "batch":
            self._apply_rule(net)

    def on_epoch_end(self, net, **kwargs):
        if self.score_sums_ is None:  # an epoch without training batches
            return
        if net.reg_lambda_update == "epoch":
            self._apply_rule(net)
        penalty = (float(self.penalty_sum_) / self.penalty_count_
                   if self.penalty_count_ else 0.0)
        net.history.record("train_score", self._score(net))
        net.history.record("penalty", penalty)
        net.history.record("reg_lambda", net.reg_lambda_)
        net.history.record("warmed_up", bool(net.warmed_up_))

    def _score(self, net):
        return float(net._score_from_sums(self.score_sums_))

    def _apply_rule(self, net):
        alpha = net.target_accuracy
        if alpha is None:
            return
        score = self._score(net)
        if not net.warmed_up_:
            if score >= alpha:
                net.warmed_up_ = True
                net.reg_lambda_ = net._resolved_reg_lambda()
            return
        step = float(net.reg_lambda_step)
        if step > 0:
            net.reg_lambda_ = (net.reg_lambda_ + step if score > alpha
                               else max(0.0, net.reg_lambda_ - step))


class EpsilonSchedule(Callback):
    """Shrink the radius ε by the estimator's decay factor after every epoch.

    ``epsilon_`` starts at the estimator's ``epsilon`` (or the regulariser's
    default radius) and is multiplied by ``epsilon_decay`` at the end of
    every epoch; the value used during the epoch is recorded as
    ``epsilon`` in the history.
    """

    def on_train_begin(self, net, **kwargs):
        net.epsilon_ = net._resolved_epsilon()

    def on_epoch_end(self, net, **kwargs):
        net.history.record("epsilon", net.epsilon_)
        net.epsilon_ = net.epsilon_ * net._resolved_epsilon_decay()


class LipschitzMonitor(Callback):
    """Record an empirical lower bound of ``Lip(f)`` after every epoch.

    A fixed random sample of the training inputs seeds ``n_pairs`` pairs,
    which take ``n_iter`` adaptive gradient-ascent steps on the difference
    quotient (the CLIP pair search) with the network in evaluation mode. The
    largest quotient found is recorded as ``lipschitz``.

    Parameters
    ----------
    n_pairs : int, default=32
        Number of pairs searched.
    n_iter : int, default=5
        Ascent steps per epoch (kept small: the monitor runs every epoch and
        should cost a few training batches at most).
    n_samples : int, default=512
        Size of the training sample the pairs are seeded from.
    """

    def __init__(self, n_pairs=32, n_iter=5, n_samples=512):
        self.n_pairs = n_pairs
        self.n_iter = n_iter
        self.n_samples = n_samples

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.sample_ = net._input_sample(X, self.n_samples)

    def on_epoch_end(self, net, **kwargs):
        if self.sample_ is None or self.sample_.shape[0] < 2:
            return
        module = net.module_
        was_training = module.training
        module.eval()
        try:
            search = PairSearch(self.n_pairs, init="plain", n_iter=self.n_iter)
            search.seed(self.sample_)
            _, q2 = search.update(module, self.sample_)
        finally:
            module.train(was_training)
        net.history.record("lipschitz", float(q2.max().sqrt()))

