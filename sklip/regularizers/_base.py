"""The regulariser interface shared by every family.

Training minimises ``mean_batch loss(f(x), y) + reg_lambda * R(f)``. A
regulariser computes the clean outputs ``f(x)`` of a training batch together
with its penalty ``R(f)`` so that it can share forward passes with them. It
sees the module, the batch and a :class:`~sklip.regularizers.TrainingContext`,
never the estimator. Regularisers are scikit-learn style objects: their
constructor only stores hyperparameters (reachable as ``regularizer__<name>``
from an estimator), and state learned while training ends in ``_``.
"""

import re
from contextlib import contextmanager

from sklearn.base import BaseEstimator

__all__ = ["Regularizer", "NoRegularizer", "prefixed_errors"]


class Regularizer(BaseEstimator):
    """Base class of all regularisers.

    Subclasses override :meth:`terms`. Hyperparameters are constructor
    arguments stored unchanged; :meth:`validate` checks them before any
    training and raises errors that name the offending parameter by its own
    name (an estimator adds its ``regularizer__`` prefix).

    Attributes
    ----------
    name : str
        The registry name of the regulariser (class attribute).
    uses_epsilon : bool
        Whether the penalty depends on the radius ε; estimators refuse an
        ``epsilon`` or ``epsilon_decay`` for a regulariser that ignores it.
    default_lambda : float
        The searched λ: for each regulariser the value that gave the best
        worst-case accuracy (L2 ε = 2, see
        :class:`sklip.attacks.WorstCaseAttack`) at a clean accuracy of at
        least 95 % on MNIST in ``benchmarks/search_defaults.py``. With
        ``reg_lambda="auto"`` the estimator takes it scaled down to the
        training data by ``min(1, (L0 / log 10) · (ℓ / 10)^p)``, ``p`` the
        :attr:`quotient_power` (see :mod:`sklip._auto_lambda`); on MNIST
        that is the searched value itself.
    quotient_power : int
        The power ``p`` of the difference quotient (output units per input
        unit) in ``R(f)``: 2 for CLIP's squared quotient, 1 for SumLip, TV
        and pTV, 0 for a penalty measured in units of the data loss
        (adversarial, margin), whose ``default_lambda`` ``"auto"`` keeps
        unscaled.
    default_epsilon : float or None
        The radius used when the estimator's ``epsilon`` is ``None``
        (searched on MNIST).
    epsilon_scales_with_data : bool
        Whether :attr:`default_epsilon` is a target radius that the
        estimator scales down to the training data, by ``min(1, ℓ / 10)``
        (see :mod:`sklip._auto_lambda`), when its ``epsilon`` is ``None``
        (margin training's certified radius); on MNIST that is the searched
        value itself.
    default_epsilon_decay : float
        The ε decay used when the estimator's ``epsilon_decay`` is "auto".
    needs_classes : bool
        Whether the penalty needs class targets; a regressor refuses it.
    """

    name = None
    uses_epsilon = False
    default_lambda = 0.1
    quotient_power = 0
    default_epsilon = None
    epsilon_scales_with_data = False
    default_epsilon_decay = 1.0
    needs_classes = False

    def validate(self):
        """Check the hyperparameters; raise ``ValueError``/``TypeError``."""

    def check_input(self, X):
        """Refuse, before training, training data this regulariser cannot
        work on (e.g. buffers sized from ``X`` too large to allocate).

        Parameters
        ----------
        X : torch.Tensor or numpy.ndarray
            Validated training input (at least one sample).
        """

    def reset(self):
        """Forget state from an earlier fit (called when training starts)."""

    def terms(self, module, X, y, context):
        """Clean outputs and penalty of one training batch.

        Parameters
        ----------
        module : torch.nn.Module
            The network being trained, in training mode.
        X : torch.Tensor
            Input batch, on the training device.
        y : torch.Tensor
            Target batch, on the training device.
        context : TrainingContext
            The radius, the training loss and the random generator of the
            step.

        Returns
        -------
        y_pred : torch.Tensor
            ``module(X)``, in the autograd graph.
        penalty : torch.Tensor or None
            Scalar ``R(f)`` in the graph, or ``None`` for no penalty.
        """
        return module(X), None

    def combine(self, loss, penalty, reg_lambda):
        """Training objective from the data loss and the penalty.

        The default is ``loss + reg_lambda * penalty``; adversarial training
        overrides it to mix clean and adversarial losses.
        """
        return loss + reg_lambda * penalty


class NoRegularizer(Regularizer):
    """Standard training ("STA" in the slides' tables): ``R(f) = 0``.

    Examples
    --------
    >>> from sklip.regularizers import NoRegularizer
    >>> NoRegularizer().name
    'none'
    """

    name = "none"
    default_lambda = 0.0


@contextmanager
def prefixed_errors(prefix, names):
    """Re-raise a validation error about one of ``names`` with ``prefix``.

    A regulariser's messages start with its own parameter name
    (``n_pairs must be ...``); seen from an estimator that parameter is
    ``regularizer__n_pairs``, and the message should say so.

    Parameters
    ----------
    prefix : str
        E.g. ``"regularizer__"``.
    names : iterable of str
        The parameter names to prefix.
    """
    try:
        yield
    except (TypeError, ValueError) as exc:
        message = str(exc)
        pattern = "|".join(re.escape(name) for name in sorted(names,
                                                               key=len,
                                                               reverse=True))
        if pattern and re.match(rf"(?:{pattern})\b", message):
            raise type(exc)(prefix + message) from exc
        raise
