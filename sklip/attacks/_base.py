"""The attack interface shared by every family, and the pieces they share.

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
"""

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from .._validation import input_tensor, resolve_model, target_tensor
from ._losses import (cross_entropy_loss, margin_loss, resolve_loss,
                      squared_error_loss)

__all__ = ["Attack", "cross_entropy_loss", "squared_error_loss",
           "worst_of_runs", "iter_worst_of_runs"]

#: Names accepted for the Euclidean and the maximum norm.
_NORMS = {"2": 2, "l2": 2, "inf": "inf", "linf": "inf"}


def _is_class_index(y):
    return not (torch.is_floating_point(y) or torch.is_complex(y))


def check_norm(norm, name="norm"):
    """``norm`` as ``2`` or ``"inf"``; the message lists what is accepted."""
    if isinstance(norm, str):
        key = norm.lower()
        if key in _NORMS:
            return _NORMS[key]
    elif isinstance(norm, numbers.Real) and not isinstance(norm, bool):
        if norm == 2:
            return 2
        if np.isposinf(norm):
            return "inf"
    raise ValueError(
        f"{name} must be 2 (Euclidean) or 'inf' (maximum norm; np.inf is "
        f"accepted too), got {norm!r}.")


def check_bool(value, name):
    """Reject anything that is not a bool, naming the parameter."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}.")
    return bool(value)


def check_clamp(clamp, name="clamp"):
    """``None`` or a ``(low, high)`` pair of finite floats with low < high."""
    if clamp is None:
        return None
    try:
        low, high = clamp
        low, high = float(low), float(high)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be None or a (low, high) pair of numbers, got "
            f"{clamp!r}.") from None
    if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
        raise ValueError(
            f"{name} must be a (low, high) data range with finite "
            f"low < high, got {clamp!r}.")
    return low, high


def check_attack_random_state(random_state, name="random_state"):
    """Accept what :func:`sklearn.utils.check_random_state` accepts."""
    try:
        check_random_state(random_state)
    except ValueError:
        raise ValueError(
            f"{name} must be None, an int or a numpy RandomState, got "
            f"{random_state!r}.") from None
    return random_state


def make_generator(random_state, device):
    """A torch generator seeded from ``random_state`` on ``device``.

    ``None`` gives ``None``, so that torch's global random state is used:
    inside a training step that state is the estimator's seeded one.
    """
    if random_state is None:
        return None
    seed = int(check_random_state(random_state).randint(2**31 - 1))
    generator = torch.Generator(device=torch.device(device))
    generator.manual_seed(seed)
    return generator


def _expand(values, like):
    """Per-sample ``values`` broadcastable against the batch ``like``."""
    return values.view(-1, *([1] * (like.dim() - 1)))


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
    """

    name = None
    radius_param = None

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
        model : fitted sklip estimator or torch.nn.Module
            The model to attack. With a bare module, integer ``y`` is taken
            as class indices and float ``y`` as regression targets.
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
        module, device, estimator = resolve_model(model)
        X_t = input_tensor(model, X)
        y_t = None
        if y is not None:
            y_t = target_tensor(model, y)
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

    def _clamp(self, X):
        clamp = check_clamp(self.clamp)
        return X if clamp is None else X.clamp(*clamp)


def loss_and_grad(module, X, y, loss_fn, *, return_losses=False):
    """Outputs at ``X`` and the gradient of the summed loss w.r.t. ``X``.

    Only the input is differentiated (``torch.autograd.grad``), so the
    weights' ``.grad`` is never touched, even inside a training step. With
    ``return_losses=True`` the detached per-sample losses (float) come
    third.
    """
    with torch.enable_grad():
        X = X.detach().requires_grad_(True)
        outputs = module(X)
        losses = loss_fn(outputs, y)
        (grad,) = torch.autograd.grad(losses.sum(), X)
    if return_losses:
        return outputs.detach(), grad, losses.detach().float()
    return outputs.detach(), grad


def steepest_direction(grad, norm):
    """Unit-norm direction of steepest ascent for the given norm.

    ``sign(grad)`` for the maximum norm, ``grad / ||grad||_2`` for the
    Euclidean norm (a zero gradient gives a zero step, as in ART).
    """
    if norm == "inf":
        return grad.sign()
    length = grad.flatten(1).norm(dim=1)
    scale = torch.where(length > 0, 1.0 / length, torch.zeros_like(length))
    return grad * _expand(scale, grad)


def random_in_ball(X, eps, norm, generator):
    """Perturbations drawn uniformly from the ``eps``-ball of ``norm``."""
    kwargs = {"generator": generator, "device": X.device, "dtype": X.dtype}
    if norm == "inf":
        return (2 * torch.rand(X.shape, **kwargs) - 1) * eps
    direction = torch.randn(X.shape, **kwargs)
    direction = direction / _expand(
        direction.flatten(1).norm(dim=1).clamp_min(1e-30), X)
    # The radius of a uniform point of the d-ball is eps * U^(1/d).
    d = X[0].numel()
    radius = eps * torch.rand(X.shape[0], **kwargs).pow(1.0 / d)
    return direction * _expand(radius, X)


def worst_of_runs(module, X, y, classify, runs, criterion=None):
    """Per sample, the first misclassified point over several runs.

    This is how restarts, target classes and the members of an ensemble
    are combined (the protocol of Croce & Hein, ICML 2020): each run only
    attacks the samples that every earlier run failed to misclassify, and
    a sample keeps the first misclassified point found for it. Where no run
    succeeds (and always for a regressor) the point with the highest
    ``criterion`` is kept.

    Parameters
    ----------
    module : torch.nn.Module
    X : torch.Tensor of shape (n, ...)
        Clean inputs.
    y : torch.Tensor of shape (n,) or (n, n_targets)
        Class indices or regression targets.
    classify : bool
        Whether ``y`` holds class indices.
    runs : iterable of callable
        ``run(rows)`` returns perturbed inputs for ``X[rows]``, ``y[rows]``
        (``rows`` a tensor of indices).
    criterion : callable or None
        ``criterion(outputs, y)``, per-sample, higher is worse for the
        model; ``None`` takes the logit margin for a classifier and the
        squared error for a regressor.

    Returns
    -------
    torch.Tensor of the shape of ``X``
    """
    best = X
    for best in iter_worst_of_runs(module, X, y, classify, runs, criterion):
        pass
    return best.clone() if best is X else best


def iter_worst_of_runs(module, X, y, classify, runs, criterion=None):
    """:func:`worst_of_runs`, yielding the worst case after every run.

    The same tensor is updated in place and yielded after each run (also
    after a run skipped because every sample was already misclassified);
    clone it to keep a stage.
    """
    if criterion is None:
        criterion = margin_loss if classify else squared_error_loss
    n = X.shape[0]
    best = X.clone()
    best_value = torch.full((n,), -torch.inf, device=X.device)
    best_fooled = torch.zeros(n, dtype=torch.bool, device=X.device)
    todo = torch.arange(n, device=X.device)
    if classify:
        # A sample the model already gets wrong is its own worst case.
        with torch.no_grad():
            best_fooled = module(X).argmax(dim=1) != y
        todo = (~best_fooled).nonzero().squeeze(1)
    for run in runs:
        if todo.numel() > 0:
            candidate = run(todo)
            with torch.no_grad():
                outputs = module(candidate)
                value = criterion(outputs, y[todo]).detach().float()
            fooled = (outputs.argmax(dim=1) != y[todo] if classify
                      else torch.zeros_like(best_fooled[todo]))
            # A misclassified point beats any value; else the higher value.
            better = (fooled & ~best_fooled[todo]) | (
                (fooled == best_fooled[todo]) & (value > best_value[todo]))
            chosen = todo[better]
            best[chosen] = candidate[better]
            best_value[chosen] = value[better]
            best_fooled[chosen] = fooled[better]
            if classify:
                # A sample already misclassified needs no further run.
                todo = (~best_fooled).nonzero().squeeze(1)
        yield best
