"""The attack interface shared by every family.

An attack maps inputs ``X`` to perturbed inputs ``X_adv`` within a radius of
``X``. It is a scikit-learn style object: the constructor only stores its
hyperparameters (so attacks can be cloned, pickled and grid-searched, unlike
attacks that hold their model), and every method validates them before use.

The work happens on torch tensors in :meth:`Attack.perturb`, batched and on
the device of the inputs; :meth:`Attack.generate` is the numpy convenience
that takes a fitted sklip estimator. Gradient attacks follow FGSM
(Goodfellow, Shlens, Szegedy, *Explaining and Harnessing Adversarial
Examples*, ICLR 2015) and PGD (Madry, Makelov, Schmidt, Tsipras, Vladu,
*Towards Deep Learning Models Resistant to Adversarial Attacks*, ICLR 2018).

The other pieces the families share live next to this module: the checks
of hyperparameters and the seeding (``_checks``), the geometry of a
gradient step (``_steps``) and the combination of runs into a worst case
(``_runs``).
"""

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator

from .._models import resolve_model
from .._threads import n_threads_of, torch_threads
from ._checks import check_clamp, make_generator
from ._losses import cross_entropy_loss, resolve_loss, squared_error_loss
from ._runs import iter_worst_of_runs, worst_of_runs

__all__ = ["Attack", "cross_entropy_loss", "squared_error_loss",
           "worst_of_runs", "iter_worst_of_runs"]


def _gradient_free_names():
    from ._registry import ATTACKS  # the registry imports this module

    return ", ".join(repr(name) for name, cls in sorted(ATTACKS.items())
                     if not cls.needs_gradients)


def _is_class_index(y):
    return not (torch.is_floating_point(y) or torch.is_complex(y))


class Attack(BaseEstimator):
    """Base class of all attacks.

    Subclasses implement :meth:`perturb` on tensors; :meth:`generate` wraps
    it for a fitted estimator and numpy data. Hyperparameters are stored
    unchanged by the constructor and checked by :meth:`validate`, which
    every method calls first.

    Attributes
    ----------
    name : str
        The registry name (class attribute).
    radius_param : str
        The parameter holding the attack's radius (``"eps"`` or
        ``"sigma"``), varied by :func:`sklip.metrics.robustness_curve`.
    needs_gradients : bool
        Whether the attack follows input gradients (then it needs a torch
        network) or only queries outputs (then any fitted model works).
    """

    name = None
    radius_param = None
    #: Whether the attack follows the model's input gradients (so it needs
    #: a torch network) or only queries its outputs (any fitted model).
    needs_gradients = True

    def validate(self):
        """Check the hyperparameters; raise ``ValueError``/``TypeError``.

        Returns
        -------
        self
        """
        return self

    @property
    def radius(self):
        """The value of the radius parameter (``eps`` or ``sigma``)."""
        return getattr(self, self.radius_param)

    def perturb(self, module, X, y=None, loss_fn=None, *, generator=None):
        """Perturbed inputs for a network, on tensors.

        Parameters
        ----------
        module : torch.nn.Module
            The network, used in the mode it is in; its weights get no
            gradients.
        X : torch.Tensor of shape (n, ...)
            Inputs, on the module's device.
        y : torch.Tensor of shape (n,) or (n, n_targets), or None
            Integer class indices (a classifier) or float targets (a
            regressor). ``None`` takes the module's predicted classes.
        loss_fn : callable or None
            ``loss_fn(outputs, y)`` returning per-sample losses to maximise;
            ``None`` takes the attack's ``loss`` parameter where it has one,
            by default :func:`cross_entropy_loss` for class indices and
            :func:`squared_error_loss` for float targets.
        generator : torch.Generator or None
            Source of random numbers; ``None`` builds one from
            ``random_state`` (torch's global state when that is ``None``).

        Returns
        -------
        X_adv : torch.Tensor of the shape of ``X``
            Detached perturbed inputs.
        """
        raise NotImplementedError

    def generate(self, model, X, y=None, *, batch_size=1024):
        """Perturbed inputs for a fitted estimator, on numpy data.

        The inputs are validated like the estimator's ``predict`` input,
        attacked in batches on ``model.device`` with the network in
        evaluation mode (its mode is restored afterwards), with the attack's
        ``loss`` (by default the cross-entropy for a classifier and the
        squared error for a regressor).

        Parameters
        ----------
        model : fitted estimator, Pipeline or torch.nn.Module
            Any model of :ref:`any-model`: an sklip estimator, a skorch
            net, a pipeline (attacked in its raw input space, through its
            preprocessing), a torch module, or, for an attack that needs
            only predictions, any fitted scikit-learn estimator. With a
            bare module, integer ``y`` is taken as class indices and float
            ``y`` as regression targets.
        X : array-like of shape (n_samples, ...)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), or None
            True labels or targets; ``None`` attacks a classifier's own
            predictions.
        batch_size : int, default=1024
            Samples attacked at once.

        Returns
        -------
        X_adv : ndarray of shape (n_samples, ...), float32

        Raises
        ------
        sklearn.exceptions.NotFittedError
            For an estimator that has not been fitted.
        ValueError
            For invalid data or hyperparameters.
        TypeError
            For a gradient attack on a model without a torch network (the
            message names the attacks that work).
        """
        batches = self._batches(model, X, y, batch_size,
                                lambda *args, **kw: [self.perturb(*args, **kw)])
        return batches[0]

    def _batches(self, model, X, y, batch_size, perturb):
        """Run ``perturb(module, X_batch, y_batch, generator=...)``, which
        returns a list of tensors, batch by batch in evaluation mode; the
        lists joined over the batches, as numpy arrays."""
        self.validate()
        if isinstance(batch_size, bool) or not isinstance(
                batch_size, numbers.Integral) or batch_size < 1:
            raise ValueError(
                f"batch_size must be a positive int, got {batch_size!r}.")
        resolved = resolve_model(model)
        if self.needs_gradients and not resolved.has_gradients:
            raise TypeError(
                f"{type(self).__name__} follows the model's gradients, and "
                f"{resolved.gradient_free_reason}. Attacks that need only "
                f"predictions work on any fitted model: "
                f"{_gradient_free_names()}.")
        module, device = resolved.module, resolved.device
        X_t = resolved.inputs(X)
        y_t = None
        if y is not None:
            y_t = resolved.targets(y)
            if y_t.shape[0] != X_t.shape[0]:
                raise ValueError(
                    f"X and y have different numbers of samples: "
                    f"{X_t.shape[0]} and {y_t.shape[0]}.")
        generator = make_generator(getattr(self, "random_state", None),
                                   device)
        parts = []
        was_training = module.training
        module.eval()
        try:
            # The model's n_threads, as for its own predictions (by default
            # one thread in a parallel search's worker: see sklip._threads).
            with torch_threads(n_threads_of(model)):
                for start in range(0, X_t.shape[0], batch_size):
                    rows = slice(start, start + batch_size)
                    parts.append(perturb(
                        module, X_t[rows], None if y_t is None else y_t[rows],
                        generator=generator))
        finally:
            module.train(was_training)
        if not parts:
            return [X_t.cpu().numpy()]
        return [torch.cat(column).cpu().numpy() for column in zip(*parts)]

    # ------------------------------------------------------------------
    # Shared by the subclasses
    # ------------------------------------------------------------------
    def _start(self, module, X, y, loss_fn, generator):
        """Validated tensors, loss and generator for :meth:`perturb`."""
        self.validate()
        if not torch.is_tensor(X):
            raise TypeError(
                f"X must be a torch.Tensor, got {type(X).__name__}; use "
                "generate() for numpy data.")
        if X.dim() < 2:
            raise ValueError(
                f"X must have shape (n_samples, ...) with at least 2 "
                f"dimensions, got shape {tuple(X.shape)}.")
        X = X.detach()
        self._check_in_range(X)
        if y is not None:
            if not torch.is_tensor(y):
                y = torch.as_tensor(np.asarray(y), device=X.device)
            if y.shape[0] != X.shape[0]:
                raise ValueError(
                    f"X and y have different numbers of samples: "
                    f"{X.shape[0]} and {y.shape[0]}.")
            y = y.detach().to(X.device)
        if generator is None:
            generator = make_generator(getattr(self, "random_state", None),
                                       X.device)
        return X, y, generator

    def _targets(self, module, X, y, loss_fn):
        """Targets, loss and whether this is classification.

        An explicit ``loss_fn`` wins; otherwise the attack's ``loss``
        parameter (if it has one) picks it, by default the cross-entropy
        for class indices and the squared error for real targets.
        """
        if y is None:
            # Attacking the prediction rather than the label avoids the
            # "label leaking" of Kurakin et al. (ICLR 2017).
            with torch.no_grad():
                outputs = module(X)
            if outputs.dim() != 2 or outputs.shape[1] < 2:
                raise ValueError(
                    "y is required for a regressor: y=None attacks the "
                    "predicted class, which needs one logit per class.")
            y = outputs.argmax(dim=1)
        classify = _is_class_index(y)
        if loss_fn is None:
            loss_fn = resolve_loss(getattr(self, "loss", None), classify)
        return y, loss_fn, classify

    def _check_in_range(self, X):
        """Refuse inputs outside ``clamp``: clamping them would move clean
        points by more than ``eps`` (at ``eps=0`` too), so the data range
        the user gave is wrong, or the data are not in the units it names."""
        clamp = check_clamp(getattr(self, "clamp", None))
        if clamp is None or X.numel() == 0:
            return
        low, high = float(X.min()), float(X.max())
        # Rounding of data scaled into the range may overshoot by an ulp.
        slack = 1e-6 * max(1.0, abs(clamp[0]), abs(clamp[1]))
        if low < clamp[0] - slack or high > clamp[1] + slack:
            raise ValueError(
                f"clamp={tuple(self.clamp)!r} is the data range, but X has "
                f"values from {low:.6g} to {high:.6g}; pass the range of "
                "the data (e.g. clamp=(X.min(), X.max())) or clamp=None.")

    def _clamp(self, X):
        clamp = check_clamp(self.clamp)
        return X if clamp is None else X.clamp(*clamp)

    # Restarted attacks: subclasses with ``n_restarts``, ``random_start``
    # and a ``_run(module, X, y, loss_fn, classify, generator)``.
    def _n_runs(self):
        """Runs of a restarted attack: without a random start the runs
        would repeat, so there is only one."""
        return self.n_restarts if self.random_start else 1

    def _restarted(self, module, X, y, loss_fn, classify, generator,
                   criterion=None):
        """:meth:`_run` once per restart, combined by :func:`worst_of_runs`
        (each restart only on the samples not yet misclassified)."""
        def run(rows):
            return self._run(module, X[rows], y[rows], loss_fn, classify,
                             generator)

        return worst_of_runs(module, X, y, classify, [run] * self._n_runs(),
                             criterion)
