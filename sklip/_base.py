"""The estimator base shared by :class:`~sklip.LipschitzClassifier` and
:class:`~sklip.LipschitzRegressor`.

It is a :class:`skorch.NeuralNet` whose training step adds ``reg_lambda *
R(f)`` for a regulariser ``R`` chosen by name or object, with the λ and ε
schedules of the CLIP reference and of the slides as default callbacks.
Everything scikit-learn expects is handled here: hyperparameters validated in
``fit`` with messages that name them, data validated and converted to
float32, reproducible training from ``random_state`` without touching the
global torch random state, and ``regularizer__<name>`` routing that also
works on a fitted estimator.
"""

import copy
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog
from skorch.dataset import unpack_data
from skorch.utils import is_dataset, to_device

from ._batches import fast_batches
from ._dataset import CheckedDataset
from ._validation import check_choice, check_int, check_real
from .callbacks import EpsilonSchedule, LambdaSchedule, LipschitzMonitor
from .modules import ACTIVATIONS, MLP
from .optim import resolve_optimizer
from .regularizers import NoRegularizer, get_regularizer

__all__ = ["LipschitzNet"]

_REG_PREFIX = "regularizer__"


class LipschitzNet(NeuralNet):
    """skorch net trained with a Lipschitz regulariser (abstract base).

    Use :class:`~sklip.LipschitzClassifier` or
    :class:`~sklip.LipschitzRegressor`; their docstrings list the
    parameters.
    """

    prefixes_ = NeuralNet.prefixes_ + ["regularizer"]
    cuda_dependent_attributes_ = (NeuralNet.cuda_dependent_attributes_
                                  + ["regularizer_"])

    def __init__(
            self,
            module=None,
            *,
            regularizer="clip",
            reg_lambda="auto",
            target_accuracy=None,
            warm_up=False,
            reg_lambda_step=0.0,
            reg_lambda_update="epoch",
            epsilon=None,
            epsilon_decay="auto",
            hidden_layer_sizes=(100,),
            activation="relu",
            criterion=None,
            optimizer="adam",
            lr=0.001,
            max_epochs=50,
            batch_size=128,
            train_split=None,
            callbacks=None,
            device="cpu",
            random_state=None,
            verbose=0,
            warm_start=False,
            **kwargs):
        super().__init__(
            module=module, criterion=criterion, optimizer=optimizer, lr=lr,
            max_epochs=max_epochs, batch_size=batch_size,
            train_split=train_split, callbacks=callbacks, device=device,
            verbose=verbose, warm_start=warm_start, **kwargs)
        self.regularizer = regularizer
        self.reg_lambda = reg_lambda
        self.target_accuracy = target_accuracy
        self.warm_up = warm_up
        self.reg_lambda_step = reg_lambda_step
        self.reg_lambda_update = reg_lambda_update
        self.epsilon = epsilon
        self.epsilon_decay = epsilon_decay
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.random_state = random_state

    def _get_param_names(self):
        # skorch lists every instance attribute not ending in "_", including
        # its private bookkeeping set; parameters never start with "_".
        return [name for name in super()._get_param_names()
                if not name.startswith("_")]

    # ------------------------------------------------------------------
    # What subclasses provide
    # ------------------------------------------------------------------
    def _default_criterion(self):
        raise NotImplementedError

    def _validate_targets(self, y, reset):
        """Validated targets as a numpy array ready for the loss."""
        raise NotImplementedError

    def _score_sums(self, y_pred, y):
        """Additive statistics of a batch from which the training score of
        the epoch is computed (see :meth:`_score_from_sums`)."""
        raise NotImplementedError

    def _score_from_sums(self, sums):
        raise NotImplementedError

    # ------------------------------------------------------------------
    # Hyperparameter validation
    # ------------------------------------------------------------------
    def _validate_hyperparameters(self):
        """Check every sklip hyperparameter before anything is trained."""
        if not (isinstance(self.reg_lambda, str) and self.reg_lambda == "auto"):
            check_real(self.reg_lambda, "reg_lambda", min_val=0)
        check_real(self.target_accuracy, "target_accuracy", max_val=1,
                   allow_none=True)
        if not isinstance(self.warm_up, (bool, np.bool_)):
            raise TypeError(f"warm_up must be a bool, got {self.warm_up!r}.")
        if self.warm_up and self.target_accuracy is None:
            raise ValueError(
                "warm_up=True needs target_accuracy (the threshold α at "
                "which the regulariser is switched on).")
        check_real(self.reg_lambda_step, "reg_lambda_step", min_val=0)
        if self.reg_lambda_step > 0 and self.target_accuracy is None:
            raise ValueError(
                "reg_lambda_step > 0 needs target_accuracy (the threshold α "
                "of the discrepancy rule).")
        check_choice(self.reg_lambda_update, "reg_lambda_update",
                     ["batch", "epoch"])
        check_real(self.epsilon, "epsilon", min_val=0,
                   include_boundaries="neither", allow_none=True)
        if not (isinstance(self.epsilon_decay, str)
                and self.epsilon_decay == "auto"):
            check_real(self.epsilon_decay, "epsilon_decay", min_val=0,
                       max_val=1, include_boundaries="right")
        sizes = self.hidden_layer_sizes
        if not isinstance(sizes, (tuple, list)) or not all(
                isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                and s > 0 for s in sizes):
            raise ValueError(
                "hidden_layer_sizes must be a tuple of positive ints, got "
                f"{sizes!r}.")
        check_choice(self.activation, "activation", sorted(ACTIVATIONS))
        resolve_optimizer(self.optimizer)
        check_real(self.lr, "lr", min_val=0, include_boundaries="neither")
        check_int(self.max_epochs, "max_epochs", min_val=0)
        check_int(self.batch_size, "batch_size", min_val=-1)
        if self.batch_size == 0:
            raise ValueError("batch_size must be positive or -1 (whole data "
                             "set), got 0.")
        self._check_module_param()
        self._validate_device()
        self._build_regularizer()  # unknown names and bad values fail here

    def _check_module_param(self):
        module = self.module
        ok = (module is None or isinstance(module, torch.nn.Module)
              or (isinstance(module, type)
                  and issubclass(module, torch.nn.Module)))
        if not ok:
            raise TypeError(
                "module must be None (a multilayer perceptron sized from the "
                "data), a torch.nn.Module subclass or instance, got "
                f"{module!r}.")

    def _validate_device(self):
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must name a torch device such as 'cpu' or 'cuda', "
                f"got {self.device!r}.") from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} but CUDA is not available here; "
                "use device='cpu'.")

    def _build_regularizer(self):
        params = {key[len(_REG_PREFIX):]: value
                  for key, value in vars(self).items()
                  if key.startswith(_REG_PREFIX)}
        regularizer = get_regularizer(self.regularizer, **params)
        regularizer.validate()
        return regularizer

    def _resolved_reg_lambda(self):
        if isinstance(self.reg_lambda, str):  # "auto"
            return float(self.regularizer_.default_lambda)
        return float(self.reg_lambda)

    def _resolved_epsilon(self):
        if self.epsilon is not None:
            return float(self.epsilon)
        return float(getattr(self.regularizer_, "default_epsilon", 1.0))

    def _resolved_epsilon_decay(self):
        if isinstance(self.epsilon_decay, str):  # "auto"
            return float(getattr(self.regularizer_, "default_epsilon_decay",
                                 1.0))
        return float(self.epsilon_decay)

    # ------------------------------------------------------------------
    # Components
    # ------------------------------------------------------------------
    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss",
                                              on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("lambda_schedule", LambdaSchedule()),
            ("epsilon_schedule", EpsilonSchedule()),
            ("lipschitz", LipschitzMonitor()),
            ("print_log", PrintLog()),
        ]

    def initialize(self):
        self._validate_hyperparameters()
        self.initialize_regularizer()
        return super().initialize()

    def initialize_regularizer(self):
        """Build ``regularizer_`` from ``regularizer`` and its parameters."""
        self.regularizer_ = self._build_regularizer()
        self.regularizer_.reset()
        return self

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        module = self.module
        if module is None:
            module = MLP(self.n_inputs_, self.n_outputs_,
                         hidden_layer_sizes=self.hidden_layer_sizes,
                         activation=self.activation, **kwargs)
        elif isinstance(module, torch.nn.Module):
            # Never train the caller's object: a copy keeps fit idempotent
            # and the hyperparameter unchanged, as scikit-learn requires.
            module = (type(module)(**kwargs) if kwargs
                      else copy.deepcopy(module))
        else:
            module = module(**kwargs)
        self.module_ = module
        return self

    def initialize_criterion(self):
        criterion = self.criterion
        if criterion is None:
            criterion = self._default_criterion()
        self.criterion_ = self.initialized_instance(
            criterion, self.get_params_for("criterion"))
        return self

    def initialize_optimizer(self, triggered_directly=None):
        cls, defaults = resolve_optimizer(self.optimizer)
        args, kwargs = self.get_params_for_optimizer(
            "optimizer", self.get_all_learnable_params())
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        self.optimizer_ = cls(*args, **kwargs)
        return self

    def _iterator_args(self, dataset, training):
        """The iterator class and its arguments for ``dataset``."""
        # Training batches are shuffled by default, as in scikit-learn's
        # MLP; skorch's DataLoader default would not shuffle.
        if training:
            iterator = self.iterator_train
            kwargs = {"shuffle": True, **self.get_params_for("iterator_train")}
        else:
            iterator = self.iterator_valid
            kwargs = self.get_params_for("iterator_valid")
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        return iterator, kwargs

    def get_iterator(self, dataset, training=False):
        iterator, kwargs = self._iterator_args(dataset, training)
        # In-memory arrays are sliced in whole batches rather than indexed
        # sample by sample (the same batches; see sklip._batches).
        batches = fast_batches(dataset, iterator, kwargs)
        return batches if batches is not None else iterator(dataset, **kwargs)

    def set_params(self, **kwargs):
        """Set parameters; ``regularizer__<name>`` also works when fitted.

        Returns
        -------
        self
        """
        # "regularizer" is also a skorch prefix, which skorch's set_params
        # would route to component re-initialisation: handle it here.
        reg_params = {key: kwargs.pop(key) for key in list(kwargs)
                      if key.split("__")[0] == "regularizer"}
        stored = dict(reg_params)
        if not self.initialized_:
            # skorch builds callbacks as soon as they are set; scikit-learn
            # expects set_params to store values and fit to check them.
            stored.update({key: kwargs.pop(key) for key in list(kwargs)
                           if key.split("__")[0] == "callbacks"})
        super().set_params(**kwargs)
        missing = object()
        previous = {key: vars(self).get(key, missing) for key in stored}
        for key, value in stored.items():
            setattr(self, key, value)
            if "__" in key:
                self._params_to_validate.add(key)
        if self.initialized_ and reg_params:
            try:
                self.initialize_regularizer()
            except (TypeError, ValueError):
                # Leave a fitted estimator as it was when the new values
                # are rejected.
                for key, value in previous.items():
                    if value is missing:
                        delattr(self, key)
                    else:
                        setattr(self, key, value)
                raise
        return self

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------
    def train_step_single(self, batch, **fit_params):
        """One forward/backward pass with the regulariser's penalty.

        The penalty is computed here rather than in ``get_loss`` because
        ``get_loss`` also runs during validation under ``no_grad``, where
        the input gradients that some penalties need do not exist.
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        Xi, yi = to_device(Xi, self.device), to_device(yi, self.device)
        regularizer = self.regularizer_
        active = self.reg_lambda_ > 0 and not isinstance(regularizer,
                                                         NoRegularizer)
        penalty = None
        if active:
            y_pred, penalty = regularizer.terms(self, Xi, yi)
        else:
            y_pred = self.infer(Xi, **fit_params)
        data_loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        loss = data_loss if penalty is None else regularizer.combine(
            data_loss, penalty, self.reg_lambda_)
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred, "penalty": penalty,
                "data_loss": data_loss.detach()}

    def _backward(self, loss):
        """Backpropagate the training objective of one step.

        The single place where training calls ``backward``, so that a
        wrapper such as :class:`~sklip.accelerate.AcceleratedLipschitzClassifier`
        can route it through its ``Accelerator`` (loss scaling, gradient
        accumulation, distributed gradient reduction).
        """
        loss.backward()

    def run_single_epoch(self, iterator, training, prefix, step_fn,
                         **fit_params):
        super().run_single_epoch(iterator, training, prefix, step_fn,
                                 **fit_params)
        if training and iterator is not None:
            self._check_not_diverged()

    def _check_not_diverged(self):
        # skorch has already turned every batch loss into a float, so this
        # costs no extra synchronisation. A NaN loss means NaN weights: stop
        # rather than hand back a network that predicts garbage.
        losses = [batch["train_loss"] for batch in self.history[-1, "batches"]
                  if "train_loss" in batch]
        if losses and not np.all(np.isfinite(losses)):
            raise FloatingPointError(
                f"training diverged in epoch {len(self.history)}: the "
                f"training loss became {losses[-1]}. Lower lr (now "
                f"{self.lr}) or reg_lambda (now {self.reg_lambda_}).")

    def _seed_device(self):
        """The device whose random state :meth:`_seeded` forks."""
        return torch.device(self.device)

    @contextmanager
    def _seeded(self):
        """Seed torch from ``random_state`` without touching the caller's
        global random state."""
        if self.random_state is None:
            yield
            return
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        device = self._seed_device()
        devices = ([device.index or 0] if device.type == "cuda" else [])
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    def fit(self, X, y=None, **fit_params):
        """Validate the data and train from scratch.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or torch Dataset
            Training inputs: 2-D tabular data, or arrays of any rank for a
            module that takes images. A map-style
            :class:`torch.utils.data.Dataset` yielding ``(X_i, y_i)`` pairs
            is read item by item, so data larger than memory can stream;
            every item is checked and converted as it is read (float32
            input of the first item's shape, finite values, targets as for
            arrays), and a classifier needs its ``classes``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets. ``None`` when ``X`` is a Dataset yielding them (a ``y``
            given with a Dataset is only passed to ``train_split``, as in
            skorch).
        **fit_params : dict
            Not supported: the regularisers call the module with the input
            alone, so extra arguments (e.g. ``sample_weight``) raise a
            ``TypeError`` instead of being silently ignored.

        Returns
        -------
        self
        """
        _reject_fit_params(fit_params)
        self._validate_hyperparameters()
        X, y = self._validate_fit_data(X, y, reset=True)
        with self._seeded():
            return super().fit(X, y)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Continue training for ``max_epochs`` epochs without re-initialising.

        Parameters
        ----------
        X, y : see :meth:`fit`
        classes : array-like of shape (n_classes,) or None
            Classifiers only: every label of the problem, as in
            scikit-learn's ``partial_fit``. On the first call it takes
            precedence over the ``classes`` hyperparameter (``None``: that
            hyperparameter, else the labels of ``y``); later calls must
            give the same classes or ``None``. Ignored by regressors.
        **fit_params : dict
            Not supported (see :meth:`fit`).

        Returns
        -------
        self
        """
        if fit_params.get("_routing_method") == "fit":
            return super().partial_fit(X, y, **fit_params)
        _reject_fit_params(fit_params)
        self._validate_hyperparameters()
        X, y = self._validate_fit_data(X, y, reset=not self.initialized_,
                                       classes=classes)
        with self._seeded():
            return super().partial_fit(X, y)

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------
    def _validate_fit_data(self, X, y, reset, classes=None):
        if is_dataset(X):
            X = _map_style(X)
            if reset:
                self._set_dims_from_dataset(X, classes=classes)
            return CheckedDataset(X, self.input_shape_,
                                  self._dataset_targets(classes)), y
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the "
                "target y is None.")
        X, y = validate_data(self, X, y, reset=reset, **self._x_check_args(),
                             **self._y_check_args())
        y = self._validate_targets(y, reset=reset, classes=classes)
        if reset:
            self.input_shape_ = tuple(X.shape[1:])
            self.n_inputs_ = int(np.prod(self.input_shape_))
        else:
            self._check_input_shape(X)
        return X, y

    def _x_check_args(self):
        return {"dtype": np.float32, "allow_nd": True,
                "ensure_all_finite": True, "ensure_min_samples": 1}

    def _y_check_args(self):
        return {}

    def _validate_predict_data(self, X):
        self.check_is_fitted()
        if is_dataset(X):
            # Checked item by item as it is read; the targets are ignored.
            return CheckedDataset(_map_style(X), self.input_shape_)
        X = validate_data(self, X, reset=False, **self._x_check_args())
        self._check_input_shape(X)
        return X

    def _check_input_shape(self, X):
        expected = getattr(self, "input_shape_", None)
        if expected is not None and tuple(X.shape[1:]) != expected:
            raise ValueError(
                f"X has shape {X.shape} but {type(self).__name__} was fitted "
                f"on inputs of shape (n_samples, "
                f"{', '.join(map(str, expected))}).")

    def _set_dims_from_dataset(self, dataset, classes=None):
        if len(dataset) == 0:
            raise ValueError(
                "Found an empty Dataset (0 samples) while a minimum of 1 is "
                f"required by {type(self).__name__}.")
        Xi, yi = unpack_data(dataset[0])
        Xi = torch.as_tensor(Xi)
        self.input_shape_ = tuple(Xi.shape)
        self.n_inputs_ = int(np.prod(self.input_shape_))
        self.n_features_in_ = self.input_shape_[0] if self.input_shape_ else 1
        # Column names come from a DataFrame; a Dataset has none, and names
        # left from an earlier fit would be checked against the next X.
        vars(self).pop("feature_names_in_", None)
        self._set_output_dims_from_target(yi, classes=classes)

    def _set_output_dims_from_target(self, yi, classes=None):
        raise NotImplementedError

    def _dataset_targets(self, classes=None):
        """``targets(y_i, index)`` converting a Dataset item's target."""
        raise NotImplementedError

    def _input_sample(self, X, n_samples):
        """Up to ``n_samples`` training inputs as a tensor on the device."""
        if X is None:
            return None
        if is_dataset(X):
            n = min(n_samples, len(X))
            rows = [torch.as_tensor(unpack_data(X[i])[0]) for i in range(n)]
            sample = torch.stack(rows) if rows else None
        else:
            sample = torch.as_tensor(np.asarray(X[:n_samples]))
        if sample is None:
            return None
        return sample.to(device=self.device, dtype=torch.float32)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


def _map_style(dataset):
    """The Dataset a ``CheckedDataset`` wraps, checked to be map-style."""
    if isinstance(dataset, CheckedDataset):
        dataset = dataset.dataset
    if isinstance(dataset, torch.utils.data.IterableDataset) or not (
            hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(
            f"X is a {type(dataset).__name__}, but sklip estimators need a "
            "map-style torch Dataset (with __len__ and __getitem__ returning "
            "(X_i, y_i)): training batches are shuffled by index.")
    return dataset


def _reject_fit_params(fit_params):
    if fit_params:
        raise TypeError(
            f"fit got unexpected keyword argument(s) {sorted(fit_params)}: "
            "sklip estimators take only X and y (sample_weight and forward "
            "arguments are not supported).")
