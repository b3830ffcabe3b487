"""sklip estimators trained through Hugging Face Accelerate.

:class:`AcceleratedLipschitzClassifier` and
:class:`AcceleratedLipschitzRegressor` are the sklip estimators with
skorch's :class:`skorch.hf.AccelerateMixin`: pass an
``accelerate.Accelerator`` and training runs on the devices it manages,
with its mixed precision, gradient accumulation, and distributed
data-parallel training (one process per GPU or CPU, started by
``accelerate launch`` or ``torchrun``; Li et al., *PyTorch Distributed:
Experiences on Accelerating Data Parallel Training*, VLDB 2020).

Every regulariser works: the penalty's extra passes (the pair searches of
CLIP, SumLip and pTV, the double backpropagation of TV, the attacks of
adversarial training) call the prepared, possibly
``DistributedDataParallel``-wrapped module, and the training objective is
backpropagated by ``accelerator.backward``, so that the gradients of the
penalty are averaged over the processes with those of the loss. Each process
keeps its own regulariser state (CLIP's pairs are seeded from that process's
batches); the training score that drives the warm-up and the discrepancy
rule for λ is summed over all processes, so every process moves λ the same
way.

This module imports neither ``accelerate`` nor anything that needs it:
``import sklip`` works without the optional dependency (``pip install
"sklip[accelerate]"``), and this module only needs it to build the
``Accelerator`` you pass.
"""

import sys
import warnings
from contextlib import contextmanager

import torch
from skorch.exceptions import DeviceWarning
from skorch.hf import AccelerateMixin

from ._base import LipschitzNet
from .estimators import LipschitzClassifier, LipschitzRegressor

__all__ = ["AcceleratedLipschitzClassifier", "AcceleratedLipschitzRegressor"]

_ACCELERATE_PARAMETERS = """\
    accelerator : accelerate.Accelerator
        Required, by keyword. Decides the device (``device`` should stay
        ``None``), mixed precision, gradient accumulation and the
        distributed set-up. ``Accelerator(cpu=True)`` trains on the CPU.
        An Accelerator keeps a reference to everything it prepares (also
        across the estimator's clones, which share it); call its
        ``free_memory()`` between many fits if memory matters.
    device : None or str, default=None
        Leave ``None`` so that the accelerator places the data and the
        network (skorch raises otherwise while the accelerator does device
        placement).
    unwrap_after_train : bool, default=True
        Take the network out of the accelerator's wrappers (e.g.
        ``DistributedDataParallel``) after training, so that the fitted
        estimator pickles, clones and can be attacked or measured like an
        ordinary one. ``False`` keeps the wrappers, e.g. to continue with
        ``partial_fit`` in mixed precision.
    **kwargs
        Every parameter of :class:`~sklip.{base}`.
"""

_NOTES = """\
    Notes
    -----
    Under distributed data-parallel training each process trains on its
    shard of every epoch and the gradients (of the loss and of the penalty)
    are averaged, so that all processes keep identical weights. The penalty
    of a process is computed on its own batch: for CLIP, whose penalty is
    the maximum over the process's pairs, the averaged gradient is that of
    the mean of the per-process maxima (with one process, CLIP as
    published). TV's double backpropagation needs no special treatment:
    the input gradients are taken with ``torch.autograd.grad`` without
    touching the weights' gradients, and only the final
    ``accelerator.backward`` reduces gradients across processes.
"""


class _AcceleratedLipschitzNet(AccelerateMixin):
    """What the two accelerated estimators add to AccelerateMixin."""

    def initialize(self):
        # AccelerateMixin.initialize replaces NeuralNet.initialize without
        # calling it, so LipschitzNet.initialize's own steps come first.
        self._check_accelerator_process()
        self._initialize_lipschitz_parts()
        with self._print_sink_resolved():
            return super().initialize()

    def set_params(self, **kwargs):
        # Setting a callback's parameter re-initialises the callbacks.
        with self._print_sink_resolved():
            return super().set_params(**kwargs)

    def initialize_criterion(self):
        """Build ``criterion_``; keep a loss without trainable parameters out
        of the accelerator.

        skorch's accelerate support prepares every criterion that is a
        module; in a multi-process run accelerate then wraps a loss without
        trainable parameters (the default cross-entropy and MSE) in
        ``DistributedDataParallel``, which refuses it. Such a loss only needs
        the device, so it is placed there and held as a plain callable.

        Returns
        -------
        self
        """
        super().initialize_criterion()
        criterion = self.criterion_
        if isinstance(criterion, torch.nn.Module) and not any(
                p.requires_grad for p in criterion.parameters()):
            if getattr(self.accelerator, "device_placement", True):
                criterion = criterion.to(self._accelerator_device())
            self.criterion_ = _PlacedLoss(criterion)
        return self

    def get_iterator(self, dataset, training=False):
        """A data loader prepared by the accelerator.

        Always a :class:`torch.utils.data.DataLoader` (the estimators'
        faster slicing of in-memory arrays is not used here): accelerate
        shards a DataLoader's batches across processes and moves them to
        the device, which it cannot do for another iterable. The batches
        and their order are those of the unaccelerated estimator.

        Parameters
        ----------
        dataset : torch.utils.data.Dataset
        training : bool, default=False
            Training batches are shuffled unless ``iterator_train__shuffle``
            says otherwise.

        Returns
        -------
        iterable of batches
        """
        iterator, kwargs = self._iterator_args(dataset, training)
        return self.accelerator.prepare(iterator(dataset, **kwargs))

    @contextmanager
    def _print_sink_resolved(self):
        """Resolve the print sink ``"auto"`` while callbacks are built.

        AccelerateMixin turns the sink ``"auto"`` into
        ``accelerator.print`` for good when it builds the callbacks: that
        changes a hyperparameter (a clone would no longer be equal), and
        skorch's PrintLog prints to any sink other than ``print`` whatever
        ``verbose`` says. Here ``"auto"`` means ``accelerator.print`` (the
        main process only) with ``verbose`` and ``print`` (which PrintLog
        keeps silent) without, for the time the callbacks are built, and
        is ``"auto"`` again afterwards unless it was set meanwhile.
        """
        sink = vars(self).get("callbacks__print_log__sink")
        if not (isinstance(sink, str) and sink == "auto"):
            yield
            return
        resolved = (getattr(self.accelerator, "print", print) if self.verbose
                    else print)
        self.callbacks__print_log__sink = resolved
        try:
            yield
        finally:
            if vars(self).get("callbacks__print_log__sink") is resolved:
                self.callbacks__print_log__sink = "auto"

    def __setstate__(self, state):
        # skorch's unpickling replaces device=None by the device the tensors
        # were mapped to (with a warning), after which AccelerateMixin would
        # refuse to train the copy ("set device=None").
        device = state.get("device")
        if device is not None:
            return super().__setstate__(state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeviceWarning)
            super().__setstate__(state)
        self.device = None
        return None

    def _check_accelerator_process(self):
        # accelerate keeps its process state (devices, process group) in
        # class-level shared dicts that pickling does not carry: an
        # Accelerator unpickled in another process (a joblib or Dask worker)
        # has settings but no state, and accelerate fails deep inside.
        accelerator_cls = getattr(sys.modules.get("accelerate"),
                                  "Accelerator", None)
        if (accelerator_cls is None
                or not isinstance(self.accelerator, accelerator_cls)):
            return
        if not getattr(self.accelerator.state, "initialized", True):
            raise RuntimeError(
                f"{type(self).__name__}: the accelerator was created in "
                "another process and reached this one by pickling (e.g. "
                "GridSearchCV with n_jobs > 1, or a Dask worker); accelerate's "
                "process state does not travel with it. Train accelerated "
                "estimators in the process that created the Accelerator "
                "(n_jobs=1), and let accelerate launch parallel processes.")

    def _validate_device(self):
        # None (the accelerator places everything) is the usual value here.
        if self.device is not None:
            super()._validate_device()

    def _accelerator_device(self):
        return torch.device(getattr(self.accelerator, "device", "cpu"))

    def _seed_device(self):
        # Every process seeds its generators alike on the accelerator's
        # device, so that they initialise the same weights and draw the
        # same regulariser noise.
        return self._accelerator_device()

    def train_step_single(self, batch, **fit_params):
        """One training step with the regulariser, in the accelerator's
        autocast context; backpropagated by ``accelerator.backward``.

        Parameters
        ----------
        batch : tuple
            ``(X, y)`` as the prepared data loader gives it.
        **fit_params : dict
            Passed on to the module.

        Returns
        -------
        dict
            ``loss``, ``y_pred``, ``penalty``, ``data_loss`` and ``y_true``.
        """
        with self.accelerator.autocast():
            # LipschitzNet's step (penalty included), not AccelerateMixin's.
            return LipschitzNet.train_step_single(self, batch, **fit_params)

    def _backward(self, loss):
        self.accelerator.backward(loss)

    def _score_sums(self, y_pred, y, sample_weight=None):
        # Under mixed precision the outputs are half floats, which count
        # correct predictions exactly only up to 2048 (fp16) or 256 (bf16).
        sums = super()._score_sums(y_pred.float(), y, sample_weight)
        if getattr(self.accelerator, "num_processes", 1) > 1:
            # The warm-up and the discrepancy rule compare the score of all
            # processes' batches with α, so that λ stays the same everywhere.
            sums = self.accelerator.reduce(sums, reduction="sum")
        return sums


class _PlacedLoss:
    """A loss module without trainable parameters, held as a plain callable
    so that the accelerator does not prepare it (see
    ``initialize_criterion``)."""

    def __init__(self, loss):
        self.loss = loss

    # A weighted fit switches the loss to per-sample values through its
    # ``reduction``, so the wrapper passes that attribute through.
    @property
    def reduction(self):
        return self.loss.reduction

    @reduction.setter
    def reduction(self, value):
        self.loss.reduction = value

    def __call__(self, *args, **kwargs):
        return self.loss(*args, **kwargs)


class AcceleratedLipschitzClassifier(_AcceleratedLipschitzNet,
                                     LipschitzClassifier):
    __doc__ = f"""A :class:`~sklip.LipschitzClassifier` trained through
    Hugging Face Accelerate.

    Everything of :class:`~sklip.LipschitzClassifier` applies; the
    accelerator decides where and how the training step runs (device,
    mixed precision, gradient accumulation, data-parallel processes).

    Parameters
    ----------
{_ACCELERATE_PARAMETERS.format(base="LipschitzClassifier")}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    module_ : torch.nn.Module
        The trained network (unwrapped after training unless
        ``unwrap_after_train=False``).
    regularizer_ : Regularizer
        The regulariser of this process, with its state.
    history_ : skorch.History
        As for :class:`~sklip.LipschitzClassifier`.

{_NOTES}
    Examples
    --------
    >>> from accelerate import Accelerator
    >>> from sklip.accelerate import AcceleratedLipschitzClassifier
    >>> from sklip.datasets import load_digits_scaled
    >>> X, y = load_digits_scaled()
    >>> clf = AcceleratedLipschitzClassifier(
    ...     accelerator=Accelerator(cpu=True), regularizer="tv",
    ...     max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """


class AcceleratedLipschitzRegressor(_AcceleratedLipschitzNet,
                                    LipschitzRegressor):
    __doc__ = f"""A :class:`~sklip.LipschitzRegressor` trained through
    Hugging Face Accelerate.

    Everything of :class:`~sklip.LipschitzRegressor` applies; the
    accelerator decides where and how the training step runs.

    Parameters
    ----------
{_ACCELERATE_PARAMETERS.format(base="LipschitzRegressor")}
    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network (unwrapped after training unless
        ``unwrap_after_train=False``).
    regularizer_ : Regularizer
        The regulariser of this process, with its state.
    history_ : skorch.History
        As for :class:`~sklip.LipschitzRegressor`.

{_NOTES}
    Examples
    --------
    >>> import numpy as np
    >>> from accelerate import Accelerator
    >>> from sklip.accelerate import AcceleratedLipschitzRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> reg = AcceleratedLipschitzRegressor(
    ...     accelerator=Accelerator(cpu=True), max_epochs=2,
    ...     random_state=0).fit(X, X[:, 0])
    >>> reg.predict(X[:2]).shape
    (2,)
    """
