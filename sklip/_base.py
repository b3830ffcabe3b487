"""The estimator base shared by :class:`~sklip.LipschitzClassifier` and
:class:`~sklip.LipschitzRegressor`.

It is a :class:`skorch.NeuralNet` whose training step adds ``reg_lambda *
R(f)`` for a regulariser ``R`` chosen by name or object. Data flows one way:
the estimator owns the λ and ε schedules (:mod:`sklip._schedules`) and its
random generators (:mod:`sklip._random`), steps them from its own ``on_*``
hooks, hands the regulariser the module, the batch and a
:class:`~sklip.regularizers.TrainingContext`, and records what happened in
the history; callbacks only observe. Hyperparameters are validated in
``fit`` with messages that name them (:mod:`sklip._hyperparameters`), data
in :mod:`sklip._input`, the rest of a ``fit`` call's arguments and its
outcome in :mod:`sklip._fit_checks`; the components ``initialize`` builds
are in :mod:`sklip._components`, the data loaders in
:mod:`sklip._iteration`, the training step in :mod:`sklip._training_loop`.

A ``sample_weight`` given to ``fit`` travels with its rows in a
:class:`~sklip._dataset.WeightedDataset` and weights the data loss of every
batch (:mod:`sklip._training_loop`). The network's sizes come from the data
in ``fit``; ``initialize`` without data builds it from ``module__n_features``
and ``classes`` (or ``module__n_outputs``), so that skorch's
``initialize(); load_params(f_params=...)`` works on a new estimator.
"""

import warnings
from contextlib import nullcontext

from sklearn.base import BaseEstimator, is_classifier
from skorch import NeuralNet
from skorch.dataset import Dataset
from torch.utils.data import DataLoader

from ._diagnosis import DataScales
from ._fit_checks import FitChecks, reject_fit_params
from ._hyperparameters import HyperparameterChecks
from ._input import InputChecks
from ._iteration import BatchIteration
from ._components import Components, private_attribute
from ._probe import probe_module
from ._random import global_rng_seeded, uses_global_rng
from ._threads import uses_torch_threads
from ._training_loop import TrainingLoop

__all__ = ["LipschitzNet"]


class LipschitzNet(TrainingLoop, FitChecks, HyperparameterChecks, InputChecks,
                   Components, BatchIteration, NeuralNet):
    """skorch net trained with a Lipschitz regulariser (abstract base).

    Use :class:`~sklip.LipschitzClassifier` or
    :class:`~sklip.LipschitzRegressor`; their docstrings list the
    parameters.
    """

    prefixes_ = NeuralNet.prefixes_ + ["regularizer"]
    cuda_dependent_attributes_ = (NeuralNet.cuda_dependent_attributes_
                                  + ["regularizer_"])

    # scikit-learn's repr, changed parameters only, for unfitted and fitted
    # estimators alike (skorch's lists the module instead, which stays
    # visible as module_). Being BaseEstimator.__repr__ itself also lets
    # scikit-learn's pretty printer lay it out inside GridSearchCV's repr.
    __repr__ = BaseEstimator.__repr__

    # skorch's own parameters are listed with skorch's defaults, not taken
    # through **kwargs: scikit-learn reads every parameter's default from
    # this signature (its repr prints only the changed ones).
    def __init__(self, module=None, *, regularizer="clip", reg_lambda="auto",
                 target_accuracy=None, warm_up=False, reg_lambda_step=0.0,
                 reg_lambda_update="epoch", epsilon=None,
                 epsilon_decay="auto", hidden_layer_sizes=(100,),
                 activation="relu", criterion=None, optimizer="adam",
                 lr=0.001, max_epochs=50, batch_size=128, train_split=None,
                 callbacks=None, device="cpu", n_threads=None,
                 random_state=None, verbose=0, warm_start=False,
                 iterator_train=DataLoader, iterator_valid=DataLoader,
                 dataset=Dataset,
                 predict_nonlinearity="auto", compile=False,
                 use_caching="auto", torch_load_kwargs=None, **kwargs):
        super().__init__(
            module=module, criterion=criterion, optimizer=optimizer, lr=lr,
            max_epochs=max_epochs, batch_size=batch_size,
            train_split=train_split, callbacks=callbacks, device=device,
            verbose=verbose, warm_start=warm_start,
            iterator_train=iterator_train, iterator_valid=iterator_valid,
            dataset=dataset, predict_nonlinearity=predict_nonlinearity,
            compile=compile, use_caching=use_caching,
            torch_load_kwargs=torch_load_kwargs, **kwargs)
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
        self.n_threads = n_threads
        self.random_state = random_state

    # skorch's __init__ sets history_, initialized_ and virtual_params_,
    # which it reads before the first fit; scikit-learn expects __init__ to
    # set parameters only. They live under private names instead (unset,
    # they raise AttributeError, which skorch's __setattr__ relies on).
    history_ = private_attribute("_history")
    initialized_ = private_attribute("_initialized")
    virtual_params_ = private_attribute("_virtual_params")

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

    def _validate_targets(self, y, reset, classes=None):
        """Validated targets as a numpy array ready for the loss."""
        raise NotImplementedError

    def _score_sums(self, y_pred, y, sample_weight=None):
        """Additive statistics of a batch (weighted by ``sample_weight``
        when given) from which the epoch's training or validation score is
        computed (see :meth:`_score_from_sums`)."""
        raise NotImplementedError

    def _describe_without_data(self):
        """Set the output attributes the hyperparameters determine, for
        ``initialize`` before any data has been seen."""
        raise NotImplementedError

    #: How the number of outputs is given without data (error messages).
    _outputs_hint = "module__n_outputs=<number of outputs>"

    def _score_from_sums(self, sums):
        raise NotImplementedError

    # ------------------------------------------------------------------
    # State of the fit, read from the schedules
    # ------------------------------------------------------------------
    reg_lambda_ = property(lambda self: self.lambda_schedule_.value,
                           doc="λ now (after warm-up and discrepancy rule).")
    warmed_up_ = property(lambda self: self.lambda_schedule_.warmed_up,
                          doc="Whether the regulariser is switched on.")
    epsilon_ = property(lambda self: self.epsilon_schedule_.value,
                        doc="The radius ε after the last epoch's decay.")

    # ------------------------------------------------------------------
    # Components
    # ------------------------------------------------------------------
    def initialize(self):
        """Build every component; the network is sized from the data seen
        by ``fit`` or, before any, from the hyperparameters.

        Without data, ``initialize`` needs the network's sizes: the default
        network takes ``module__n_features`` (the number of input values,
        ``prod(X.shape[1:])``) and, for a classifier, the ``classes``
        hyperparameter (for a regressor ``module__n_outputs``); a module
        instance or a class that takes no sizes needs neither. This is
        skorch's flow for loading saved parameters into a new estimator::

            clf.save_params(f_params="params.pt")      # a fitted clf
            new = LipschitzClassifier(classes=clf.classes_,
                                      module__n_features=64)
            new.initialize().load_params(f_params="params.pt")

        Returns
        -------
        self
        """
        self._initialize_lipschitz_parts()
        self._describe_without_data()
        return super().initialize()

    def _initialize_lipschitz_parts(self):
        """What sklip adds before skorch's components: checked
        hyperparameters, the generators and the regulariser."""
        if "_checked_regularizer" not in vars(self):
            self._validate_hyperparameters()
        self.initialize_random()
        self.initialize_regularizer()

    def _initialize_checked(self, regularizer):
        """``initialize()`` with the hyperparameters that ``fit`` has just
        checked, and the regulariser that check built: neither is done
        twice per fit."""
        self._checked_regularizer = regularizer
        try:
            return self.initialize()
        finally:
            vars(self).pop("_checked_regularizer", None)

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

    @uses_torch_threads
    def fit(self, X, y=None, sample_weight=None, **fit_params):
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
        sample_weight : array-like of shape (n_samples,) or None
            Non-negative, finite weights of the samples, not all zero
            (checked before anything else). Each batch's data loss is the
            weighted mean ``sum(w * l) / sum(w)`` of its per-sample losses
            ``l`` (the criterion's ``reduction`` set to ``"none"``), as in
            scikit-learn's ``MLPClassifier``: the loss keeps the scale of
            the unweighted one whatever the weights' scale, so ``lr`` and
            ``reg_lambda`` mean the same with and without weights, and it
            is the unweighted mean when all weights are equal (then the
            unweighted path is taken, with identical results). A batch of
            zero weights adds no data loss. The regulariser's penalty is
            not weighted: it is a property of the network, not of samples.
            The epoch's ``train_score`` and validation score are weighted
            (weighted accuracy or R²), and so is the validation loss.
            ``None`` weighs every sample equally.
        **fit_params : dict
            Not supported: the regularisers call the module with the input
            alone, so extra arguments raise a ``TypeError`` instead of being
            silently ignored.

        Returns
        -------
        self
        """
        reject_fit_params(fit_params)
        sample_weight = self._validate_sample_weight(sample_weight, X)
        regularizer = self._validate_hyperparameters()
        if self.max_epochs == 0:
            warnings.warn(
                "max_epochs=0: the network is initialised but not trained.",
                UserWarning, stacklevel=2)
        # As in scikit-learn's MLP, warm_start continues the fitted network,
        # so X and y must match what it was fitted on.
        continuing = (self.warm_start and self.initialized_
                      and hasattr(self, "input_shape_"))
        try:
            X, y = self._validate_fit_data(X, y, reset=not continuing)
        except ValueError as exc:
            if not continuing:
                raise
            raise ValueError(
                f"{exc} warm_start=True continues training the fitted "
                "network on data of the shape and classes it was fitted "
                "on; set warm_start=False to fit new data from scratch."
            ) from exc
        if not continuing:
            self._choose_lambda_by_path(X, y)
            self._initialize_checked(regularizer)
        return self._train(X, y, sample_weight)

    @uses_torch_threads
    def partial_fit(self, X, y=None, classes=None, sample_weight=None,
                    **fit_params):
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
        sample_weight : array-like of shape (n_samples,) or None
            Weights of this call's samples (see :meth:`fit`).
        **fit_params : dict
            Not supported (see :meth:`fit`).

        Returns
        -------
        self
        """
        reject_fit_params(fit_params)
        sample_weight = self._validate_sample_weight(sample_weight, X)
        regularizer = self._validate_hyperparameters()
        # An estimator initialised without data (to load_params) learns
        # the data's description from its first partial_fit.
        seen_data = self.initialized_ and hasattr(self, "input_shape_")
        X, y = self._validate_fit_data(X, y, reset=not seen_data,
                                       classes=classes)
        if not seen_data:
            self._choose_lambda_by_path(X, y)
        if not self.initialized_:
            self._initialize_checked(regularizer)
        return self._train(X, y, sample_weight)


    @uses_torch_threads
    def forward(self, X, training=False, device="cpu"):
        # Every prediction (predict, predict_proba, score) runs through
        # forward, under the estimator's n_threads as fit does.
        return super().forward(X, training=training, device=device)

    def _train(self, X, y, sample_weight=None):
        """skorch's training loop on validated data."""
        self._check_valid_monitors()
        if sample_weight is not None:
            self._check_weighted_criterion()
        # torch gives dropout no generator argument: a module with such
        # layers trains with the global generator forked and seeded from
        # this estimator's own (see sklip._random).
        stochastic = uses_global_rng(self.module_)
        self._check_regularizer_input(X)
        start_loss = probe_module(self, X, y)
        # The weights reach the datasets through get_split_datasets, the
        # data's scales the diagnosis of a failed fit; both are training
        # input, not fitted state.
        self._sample_weight = sample_weight
        self._data_scales = DataScales.measure(X, y, not is_classifier(self))
        self._interrupted = False
        try:
            with (global_rng_seeded(self.random_, self._seed_device())
                  if stochastic else nullcontext()):
                NeuralNet.partial_fit(self, X, y)
            if self._interrupted:
                self._warn_interrupted()
            else:
                self._check_converged(self._reference_loss(start_loss))
        finally:
            for name in ("_sample_weight", "_data_scales", "_interrupted"):
                vars(self).pop(name, None)
        return self


    def __getstate__(self):
        state = super().__getstate__()
        # Per-step training state (a generator, a bound method) is rebuilt
        # at the next epoch; it outlives training only when a fit was
        # stopped by an error, and must not break pickling then.
        for name in ("_context", "_epoch_totals", "_valid_totals",
                     "_sample_weight", "_data_scales", "_interrupted"):
            state.pop(name, None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags
