"""The components :class:`~sklip._base.LipschitzNet` builds in
``initialize``: its random generators, the regulariser, the λ and ε
schedules, the default callbacks, the network, the criterion and the
optimiser.

The network comes from the ``module`` hyperparameter, sized from the data. A
module instance is copied (never the caller's object trained); ``None``
builds sklip's :class:`~sklip.modules.MLP` from ``hidden_layer_sizes``
(refused before allocating when its buffers would exceed the memory cap); a
class is called with ``n_features`` / ``n_outputs`` when it takes them. The
weights are drawn from the estimator's own generator
(:func:`sklip._random.build_module`).
"""

import copy
import functools
import inspect

import torch
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog

from ._collapse import CollapseCheck
from ._random import RandomSource, build_module
from ._schedules import EpsilonSchedule, LambdaSchedule
from ._validation import check_buffer_size
from .callbacks import LipschitzMonitor
from .modules import MLP
from .optim import resolve_optimizer

__all__ = ["Components", "private_attribute"]


def private_attribute(private):
    """A property stored in the instance attribute ``private``."""
    def get(self):
        try:
            return vars(self)[private]
        except KeyError:
            raise AttributeError(private.lstrip("_") + "_") from None

    def set_(self, value):
        vars(self)[private] = value

    return property(get, set_)


class Components:
    """The ``initialize_*`` steps of :class:`~sklip._base.LipschitzNet` (a
    mixin)."""

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        module = self.module
        if isinstance(module, torch.nn.Module):
            # Never train the caller's object: a copy keeps fit idempotent
            # and the hyperparameter unchanged, as scikit-learn requires.
            self.module_ = (build_module(
                functools.partial(type(module), **kwargs), self.random_)
                if kwargs else copy.deepcopy(module))
            return self
        if module is None:
            sizes = self._data_sizes(MLP)
            widths = [sizes.get("n_features", kwargs.get("n_features", 1)),
                      *self.hidden_layer_sizes,
                      sizes.get("n_outputs", kwargs.get("n_outputs", 1))]
            # Weights, gradients and two Adam moments, in float32: refused
            # before the allocation fails deep inside torch.
            check_buffer_size(16 * sum(int(a) * int(b) for a, b in zip(
                widths[:-1], widths[1:])), "hidden_layer_sizes",
                self.hidden_layer_sizes)
            factory = functools.partial(
                MLP, **sizes, hidden_layer_sizes=self.hidden_layer_sizes,
                activation=self.activation, **kwargs)
        else:
            factory = functools.partial(module, **self._data_sizes(module),
                                        **kwargs)
        self.module_ = build_module(factory, self.random_)
        return self

    def _data_sizes(self, module_class):
        """``n_features`` and ``n_outputs`` for a module class that takes
        them (as sklip's networks do) and is not given them as
        ``module__*``: the sizes of the training data."""
        try:
            accepted = inspect.signature(module_class).parameters
        except (TypeError, ValueError):  # a builtin or C-level callable
            return {}
        given = self.get_params_for("module")
        sizes = {}
        for name, attribute, hint in [
                ("n_features", "n_inputs_",
                 "module__n_features=<number of input values>"),
                ("n_outputs", "n_outputs_", self._outputs_hint)]:
            if name not in accepted or name in given:
                continue
            if not hasattr(self, attribute):
                raise ValueError(
                    f"{type(self).__name__} cannot build its network: its "
                    f"{name} is only known from data, and none has been "
                    "seen. Call fit, or, to initialize without data (e.g. "
                    f"before load_params), pass {hint} (or a module "
                    "instance).")
            sizes[name] = getattr(self, attribute)
        return sizes

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss",
                                              on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("lipschitz", LipschitzMonitor()),
            ("collapse", CollapseCheck()),
            ("print_log", PrintLog()),
        ]

    def initialize_random(self):
        """Build ``random_``, the generators of this fit, from
        ``random_state``."""
        self.random_ = RandomSource(self.random_state, self._seed_device())
        return self

    def initialize_regularizer(self):
        """Build ``regularizer_`` from ``regularizer`` and its parameters."""
        checked = vars(self).pop("_checked_regularizer", None)
        self.regularizer_ = (checked if checked is not None
                             else self._build_regularizer())
        self.regularizer_.reset()
        return self

    def initialize_schedules(self):
        """Build the λ and ε schedules from the hyperparameters."""
        self.lambda_schedule_ = LambdaSchedule(
            self._resolved_reg_lambda(), self.target_accuracy,
            bool(self.warm_up), self.reg_lambda_step)
        self.epsilon_schedule_ = EpsilonSchedule(
            self._resolved_epsilon(), self._resolved_epsilon_decay())
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

    def _seed_device(self):
        """The device of the generator for the regularisers' draws."""
        return torch.device(self.device)
