"""Per-sample losses that attacks maximise, chosen by name with ``loss=``.

- ``"ce"``: the cross-entropy ``CE(z, y)`` of the logits ``z``.
- ``"margin"``: ``max_{j≠y} z_j − z_y``, the logit margin of Carlini &
  Wagner (*Towards Evaluating the Robustness of Neural Networks*, IEEE S&P
  2017); positive exactly when the sample is misclassified.
- ``"dlr"``: the difference of logits ratio of Croce & Hein (*Reliable
  evaluation of adversarial robustness with an ensemble of diverse
  parameter-free attacks*, ICML 2020), ``−(z_y − max_{j≠y} z_j) / (z_π1 −
  z_π3)``, invariant to shifts and scalings of the logits (at least 3
  classes).
- ``"squared_error"``: ``‖f(x) − y‖²``, for regressors.

The cross-entropy saturates on confident networks and scales with the
logits, which a Lipschitz penalty shrinks: that is why attacks using it
alone overstate the robustness of regularised networks, and why the strong
evaluation combines it with the margin and DLR losses. The targeted
versions (:func:`targeted_loss`) push towards a chosen class instead.
"""

import torch
import torch.nn.functional as F

__all__ = ["cross_entropy_loss", "squared_error_loss", "margin_loss",
           "dlr_loss", "targeted_loss", "LOSSES", "CLASSIFICATION_LOSSES",
           "loss_names", "check_loss", "resolve_loss"]

#: Loss names for classifiers; "squared_error" is the regressors' one.
CLASSIFICATION_LOSSES = ("ce", "margin", "dlr")


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


def _true_and_best_other(outputs, y):
    """The logit of the label and the largest logit of the other classes."""
    y = y.long().unsqueeze(1)
    true = outputs.gather(1, y).squeeze(1)
    others = outputs.scatter(1, y, float("-inf"))
    return true, others.max(dim=1).values


def _check_classes(outputs, minimum, what):
    if outputs.dim() != 2 or outputs.shape[1] < minimum:
        raise ValueError(
            f"the {what} loss needs logits of shape (n, n_classes) with at "
            f"least {minimum} classes, got outputs of shape "
            f"{tuple(outputs.shape)}; use loss='ce' or 'margin'.")


def margin_loss(outputs, y):
    """Per-sample logit margin ``max_{j≠y} z_j − z_y`` (Carlini & Wagner).

    Parameters
    ----------
    outputs : torch.Tensor of shape (n, n_classes)
        Logits.
    y : torch.Tensor of shape (n,)
        Class indices.

    Returns
    -------
    torch.Tensor of shape (n,)
        Positive where the sample is misclassified.
    """
    _check_classes(outputs, 2, "margin")
    true, other = _true_and_best_other(outputs, y)
    return other - true


def dlr_loss(outputs, y):
    """Per-sample difference of logits ratio (Croce & Hein, ICML 2020).

    ``−(z_y − max_{j≠y} z_j) / (z_π1 − z_π3 + 1e-12)`` with ``z_π1 ≥ z_π2 ≥
    z_π3`` the sorted logits.

    Parameters
    ----------
    outputs : torch.Tensor of shape (n, n_classes)
        Logits, at least 3 classes.
    y : torch.Tensor of shape (n,)
        Class indices.

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    _check_classes(outputs, 3, "dlr")
    true, other = _true_and_best_other(outputs, y)
    top = outputs.topk(3, dim=1).values
    return (other - true) / (top[:, 0] - top[:, 2] + 1e-12)


def targeted_loss(loss, target):
    """The targeted version of a classification loss, towards ``target``.

    ``ce``: ``−CE(z, t)``; ``margin``: ``z_t − max_{j≠t} z_j``; ``dlr``: the
    targeted DLR of Croce & Hein, ``−(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2
    + 1e-12)`` (at least 4 classes).

    Parameters
    ----------
    loss : {"ce", "margin", "dlr"}
        The untargeted loss.
    target : torch.Tensor of shape (n,)
        Target class of every sample.

    Returns
    -------
    callable
        ``loss_fn(outputs, y)`` returning per-sample losses to maximise.
    """
    target = target.long()

    def ce(outputs, y):
        return -F.cross_entropy(outputs, target, reduction="none")

    def margin(outputs, y):
        _check_classes(outputs, 2, "margin")
        true, other = _true_and_best_other(outputs, target)
        return true - other

    def dlr(outputs, y):
        _check_classes(outputs, 4, "targeted dlr")
        rows = torch.arange(outputs.shape[0], device=outputs.device)
        top = outputs.topk(4, dim=1).values
        scale = top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12
        return -(outputs[rows, y.long()] - outputs[rows, target]) / scale

    return {"ce": ce, "margin": margin, "dlr": dlr}[loss]


#: Registry name -> per-sample loss function.
LOSSES = {"ce": cross_entropy_loss, "margin": margin_loss, "dlr": dlr_loss,
          "squared_error": squared_error_loss}


def loss_names():
    """Names accepted by ``loss=`` (sorted).

    Returns
    -------
    list of str
    """
    return sorted(LOSSES)


def check_loss(loss, name="loss", choices=None):
    """``None`` or one of ``choices`` (default: every loss name)."""
    choices = sorted(choices or LOSSES)
    if loss is None or (isinstance(loss, str) and loss in choices):
        return loss
    raise ValueError(f"{name} must be None or one of {choices}, got {loss!r}.")


def resolve_loss(loss, classify):
    """The loss function for ``loss`` on a classifier or a regressor.

    ``None`` picks the cross-entropy for a classifier and the squared error
    for a regressor; a classification loss on a regressor, or the squared
    error on a classifier, is an error that says what to use.
    """
    if loss is None:
        return cross_entropy_loss if classify else squared_error_loss
    if classify and loss == "squared_error":
        raise ValueError(
            "loss='squared_error' is for regressors; a classifier takes "
            f"one of {list(CLASSIFICATION_LOSSES)}.")
    if not classify and loss != "squared_error":
        raise ValueError(
            f"loss={loss!r} needs class labels, but the targets are real "
            "numbers (a regressor); use loss='squared_error' or None.")
    return LOSSES[loss]
