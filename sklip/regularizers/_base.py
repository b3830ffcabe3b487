"""The regulariser interface shared by every family.

Training minimises ``mean_batch loss(f(x), y) + reg_lambda * R(f)``. A
regulariser computes the clean outputs ``f(x)`` of a training batch together
with its penalty ``R(f)`` so that it can share forward passes with them.
Regularisers are scikit-learn style objects: their constructor only stores
hyperparameters (reachable as ``regularizer__<name>`` from an estimator),
and state learned while training ends in ``_``.
"""

from sklearn.base import BaseEstimator

__all__ = ["Regularizer", "NoRegularizer"]


class Regularizer(BaseEstimator):
    """Base class of all regularisers.

    Subclasses override :meth:`terms`. Hyperparameters are constructor
    arguments stored unchanged; :meth:`validate` checks them before any
    training and raises errors that name the offending parameter.

    Attributes
    ----------
    name : str
        The registry name of the regulariser (class attribute).
    uses_epsilon : bool
        Whether the penalty depends on the estimator's radius ``epsilon``.
    default_lambda : float
        The estimator's λ when ``reg_lambda="auto"``: for each regulariser
        the value that gave the best worst-case accuracy (L2 ε = 2, see
        :class:`sklip.attacks.WorstCaseAttack`) at a clean accuracy of at
        least 95 % on MNIST in ``benchmarks/search_defaults.py``.
    """

    name = None
    uses_epsilon = False
    default_lambda = 0.1

    def validate(self):
        """Check the hyperparameters; raise ``ValueError``/``TypeError``."""

    def reset(self):
        """Forget state from an earlier fit (called when training starts)."""

    def terms(self, net, X, y):
        """Clean outputs and penalty of one training batch.

        Parameters
        ----------
        net : sklip estimator
            The estimator being trained; gives ``module_``, ``criterion_``
            and ``epsilon_``. Random draws use torch's global generator,
            which the estimator seeds from its ``random_state``.
        X : torch.Tensor
            Input batch, on the training device.
        y : torch.Tensor
            Target batch, on the training device.

        Returns
        -------
        y_pred : torch.Tensor
            ``module_(X)``, in the autograd graph.
        penalty : torch.Tensor or None
            Scalar ``R(f)`` in the graph, or ``None`` for no penalty.
        """
        return net.module_(X), None

    def combine(self, loss, penalty, reg_lambda):
        """Training objective from the data loss and the penalty.

        The default is ``loss + reg_lambda * penalty``; adversarial training
        overrides it to mix clean and adversarial losses.
        """
        return loss + reg_lambda * penalty

    def statistics(self):
        """Diagnostics of the last step for the training history.

        Returns
        -------
        dict
            Scalars (floats or 0-d tensors) keyed by history name.
        """
        return {}


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

