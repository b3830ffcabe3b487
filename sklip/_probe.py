"""A forward pass of the network on the first training samples, before
training.

A user's module whose input size does not match ``X``, or whose output does
not match the classes or targets, otherwise fails only inside the first
training step, deep in torch (``mat1 and mat2 shapes cannot be
multiplied``, ``Target 9 is out of bounds``), or worse, trains silently on
broadcast shapes. :func:`probe_module` runs the module (in eval mode, so
that batch norm takes any batch size, and without gradients) on up to
:data:`N_PROBE` samples and raises a ``ValueError`` that names the module
and the shapes. The data loss of that pass is what training starts from,
against which divergence is judged (see
:meth:`~sklip._training_loop.TrainingLoop._check_converged`).
"""

import torch
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

__all__ = ["probe_module"]

#: Samples of the probe pass: enough for a stable starting loss, few
#: enough to cost nothing next to an epoch.
N_PROBE = 256

#: The criteria that need one logit per class (the classifier's default
#: and skorch's).
_PER_CLASS = (torch.nn.CrossEntropyLoss, torch.nn.NLLLoss)


def probe_module(net, X, y):
    """Check that ``net.module_`` takes ``X``'s samples and gives outputs
    of the right shape; return the data loss on them.

    Parameters
    ----------
    net : LipschitzClassifier or LipschitzRegressor
        An initialised estimator about to train.
    X : ndarray or torch Dataset
        Validated training inputs.
    y : ndarray or None
        Validated targets (``None`` for a Dataset, which yields them).

    Returns
    -------
    float or None
        The data loss of the untrained network on the probe samples;
        ``None`` when the criterion gives no scalar.

    Raises
    ------
    ValueError
        When the forward pass fails, its output has the wrong shape for
        the classes or targets, or the criterion cannot take it.
    """
    Xb, yb = _first_samples(X, y)
    module = net.module_
    name = type(module).__name__
    device = _device_of(module, net.device)
    Xb, yb = to_tensor(Xb, device), to_tensor(yb, device)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = net.infer(Xb)
    except Exception as exc:  # torch reports shape errors as RuntimeError
        raise ValueError(
            f"the module {name} cannot take the samples of X: a forward "
            f"pass on {len(Xb)} sample(s) of shape {tuple(Xb.shape[1:])} "
            f"failed with {type(exc).__name__}: {exc}. Its input size must "
            f"match X's ({net.n_inputs_} values per sample).") from exc
    finally:
        module.train(was_training)
    _check_output(net, name, out, Xb)
    try:
        with torch.no_grad():
            loss = net.get_loss(out, yb, X=Xb, training=False)
    except Exception as exc:
        raise ValueError(
            f"the criterion {type(net.criterion_).__name__} cannot take "
            f"the output of the module {name} (shape "
            f"{_shape(out)}) with the targets (shape {tuple(yb.shape)}): "
            f"{type(exc).__name__}: {exc}") from exc
    if not torch.is_tensor(loss) or loss.numel() != 1:
        return None
    return float(loss)


def _first_samples(X, y):
    if isinstance(X, torch.utils.data.Dataset):
        # One item: a Dataset may read from disk.
        Xi, yi = unpack_data(X[0])
        return (torch.as_tensor(Xi).unsqueeze(0),
                torch.as_tensor(yi).unsqueeze(0))
    return X[:N_PROBE], y[:N_PROBE]


def _device_of(module, default):
    for parameter in module.parameters():
        return parameter.device
    return default


def _shape(out):
    return tuple(out.shape) if torch.is_tensor(out) else type(out).__name__


def _check_output(net, name, out, Xb):
    if not torch.is_tensor(out):
        return  # several outputs: the criterion decides (skorch's rule)
    n = len(Xb)
    criterion = getattr(net.criterion_, "loss", net.criterion_)
    if hasattr(net, "classes_"):
        if not isinstance(criterion, _PER_CLASS):
            return
        k = len(net.classes_)
        if out.dim() != 2 or tuple(out.shape) != (n, k):
            raise ValueError(
                f"the module {name} maps {n} sample(s) to an output of "
                f"shape {tuple(out.shape)}, but {type(net).__name__} with "
                f"{type(criterion).__name__} needs ({n}, {k}): one score "
                f"per class of classes_ ({k} classes).")
        return
    if not type(criterion).__module__.startswith("torch.nn"):
        return  # a user's criterion may take other shapes
    k = net.n_outputs_
    if out.dim() == 0 or out.shape[0] != n or out[0].numel() != k:
        raise ValueError(
            f"the module {name} maps {n} sample(s) to an output of shape "
            f"{tuple(out.shape)}, but y has {k} target(s) per sample: the "
            f"output must have shape ({n}, {k})"
            f"{' or (%d,)' % n if k == 1 else ''}.")
