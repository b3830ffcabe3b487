"""The λ and ε schedules of Lipschitz training, owned by the estimator.

- :class:`LambdaSchedule`: the warm-up of the slides ("Stronger": λ stays 0
  until the training score reaches α) and the discrepancy rule of the CLIP
  reference and of pTV (λ ± dλ against α, floored at 0).
- :class:`EpsilonSchedule`: ``ε ← decay · ε`` after every epoch (pTV).

They are plain objects, not callbacks: the estimator builds them when
training starts and steps them from its own ``on_*`` hooks, so the training
step never depends on an optional callback.
"""

__all__ = ["LambdaSchedule", "EpsilonSchedule"]


class LambdaSchedule:
    """Warm-up and discrepancy rule for the regularisation weight λ.

    Parameters
    ----------
    reg_lambda : float
        λ once the regulariser is switched on.
    target_accuracy : float or None, default=None
        Threshold α of the training score; ``None`` keeps λ fixed.
    warm_up : bool, default=False
        Keep λ = 0 until the training score reaches α, then switch the
        regulariser on for good with λ = ``reg_lambda``.
    step : float, default=0.0
        dλ of the discrepancy rule: after warm-up, λ += dλ when the score
        exceeds α and λ = max(0, λ − dλ) otherwise (0: no rule).

    Attributes
    ----------
    value : float
        The current λ.
    warmed_up : bool
        Whether the regulariser has been switched on.

    Examples
    --------
    >>> from sklip._schedules import LambdaSchedule
    >>> schedule = LambdaSchedule(0.5, target_accuracy=0.9, warm_up=True)
    >>> schedule.value
    0.0
    >>> schedule.update(0.95).value
    0.5
    """

    def __init__(self, reg_lambda, target_accuracy=None, warm_up=False,
                 step=0.0):
        self.reg_lambda = float(reg_lambda)
        self.target_accuracy = target_accuracy
        self.step = float(step)
        self.warmed_up = not (warm_up and target_accuracy is not None)
        self.value = self.reg_lambda if self.warmed_up else 0.0

    def update(self, score):
        """Apply the rule to a training score.

        Parameters
        ----------
        score : float
            The running training score (accuracy or R²).

        Returns
        -------
        self
        """
        alpha = self.target_accuracy
        if alpha is None:
            return self
        if not self.warmed_up:
            if score >= alpha:
                self.warmed_up = True
                self.value = self.reg_lambda
            return self
        if self.step > 0:
            self.value = (self.value + self.step if score > alpha
                          else max(0.0, self.value - self.step))
        return self


class EpsilonSchedule:
    """The radius ε, multiplied by ``decay`` after every epoch.

    Parameters
    ----------
    epsilon : float or None
        The starting radius; ``None`` for a regulariser without one.
    decay : float, default=1.0
        Factor in (0, 1] applied after every epoch.

    Attributes
    ----------
    value : float or None
        The radius of the current epoch.

    Examples
    --------
    >>> from sklip._schedules import EpsilonSchedule
    >>> EpsilonSchedule(1.0, decay=0.5).update().value
    0.5
    """

    def __init__(self, epsilon, decay=1.0):
        self.value = None if epsilon is None else float(epsilon)
        self.decay = float(decay)

    def update(self):
        """Shrink the radius after an epoch.

        Returns
        -------
        self
        """
        if self.value is not None:
            self.value *= self.decay
        return self
