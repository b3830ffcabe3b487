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
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from .._validation import input_tensor, resolve_model, target_tensor

__all__ = ["Attack", "cross_entropy_loss", "squared_error_loss"]

#: Names accepted for the Euclidean and the maximum norm.
_NORMS = {"2": 2, "l2": 2, "inf": "inf", "linf": "inf"}


def cross_entropy_loss(outputs, y):
    """Per-sample cross-entropy of logits against class indices.

    Parameters
    ----------
    outputs : torch.Tensor of shape (n, n_classes)
        Logits.
    y : torch.Tensor of shape (n,)
        Class indices.

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    return F.cross_entropy(outputs, y.long(), reduction="none")


def squared_error_loss(outputs, y):
    """Per-sample squared Euclidean error of regression outputs.

    Parameters
    ----------
    outputs : torch.Tensor of shape (n, ...)
        Predictions.
    y : torch.Tensor with as many elements as ``outputs``
        Targets (a 1-D target is aligned with ``(n, 1)`` outputs).

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    if y.numel() != outputs.numel():
        raise ValueError(
            f"y has {y.numel()} elements but the network gives "
            f"{outputs.numel()} outputs; pass one target per output.")
    diff = outputs - y.reshape(outputs.shape).to(outputs.dtype)
    return diff.square().flatten(1).sum(1)


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
            ``None`` picks :func:`cross_entropy_loss` for class indices and
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
        evaluation mode (its mode is restored afterwards), with the
        cross-entropy for a classifier and the squared error for a
        regressor.

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
        loss_fn = None
        if estimator is not None:
            loss_fn = (cross_entropy_loss if hasattr(estimator, "classes_")
                       else squared_error_loss)
        generator = make_generator(getattr(self, "random_state", None),
                                   device)
        X_adv = torch.empty_like(X_t)
        was_training = module.training
        module.eval()
        try:
            for start in range(0, X_t.shape[0], batch_size):
                rows = slice(start, start + batch_size)
                X_adv[rows] = self.perturb(
                    module, X_t[rows], None if y_t is None else y_t[rows],
                    loss_fn, generator=generator)
        finally:
            module.train(was_training)
        return X_adv.cpu().numpy()

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

    @staticmethod
    def _targets(module, X, y, loss_fn):
        """Targets, loss and whether this is classification."""
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
            loss_fn = cross_entropy_loss if classify else squared_error_loss
        return y, loss_fn, classify

    def _clamp(self, X):
        clamp = check_clamp(self.clamp)
        return X if clamp is None else X.clamp(*clamp)


def loss_and_grad(module, X, y, loss_fn):
    """Outputs at ``X`` and the gradient of the summed loss w.r.t. ``X``.

    Only the input is differentiated (``torch.autograd.grad``), so the
    weights' ``.grad`` is never touched, even inside a training step.
    """
    with torch.enable_grad():
        X = X.detach().requires_grad_(True)
        outputs = module(X)
        losses = loss_fn(outputs, y)
        (grad,) = torch.autograd.grad(losses.sum(), X)
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
