"""Docstring sections shared by the classifier and the regressor.

The two estimators take the same parameters; the text is written once here
and filled in (score, criterion, the classifier's ``classes``, the λ
defaults read from the regularisers) by :func:`parameters`.
"""

from .regularizers import REGULARIZERS

__all__ = ["parameters", "ATTRIBUTES", "CLASSES_PARAMETER"]

_SHARED_PARAMETERS = """\
    module : None, torch.nn.Module subclass or instance, default=None
        The network. ``None`` builds a multilayer perceptron sized from the
        data (:class:`sklip.modules.MLP`); a class is instantiated with the
        ``module__<name>`` parameters, and with ``n_features`` and
        ``n_outputs`` from the data when it takes them and they are not
        given (as :class:`~sklip.modules.OneLipschitzMLP` does); an instance
        is copied before training so that the object passed in is never
        changed. ``module__n_features`` (and ``module__n_outputs``) also
        size the default perceptron, which lets ``initialize`` build the
        network before any data (see :meth:`initialize`).
{classes}    regularizer : str or Regularizer, default="clip"
        ``"none"``, ``"clip"``, ``"sumlip"``, ``"tv"``, ``"ptv"``,
        ``"adversarial"``, ``"margin"`` (classifiers only) or a
        :class:`~sklip.regularizers.Regularizer` object. Its own parameters
        are reachable as ``regularizer__<name>``.
    reg_lambda : float, "auto" or "path", default="auto"
        Initial regularisation weight λ (≥ 0). ``"auto"`` takes the
        regulariser's ``default_lambda``, chosen on MNIST by
        ``benchmarks/search_defaults.py`` (the most robust under the worst
        case of strong attacks at 95 % clean accuracy or more; for margin
        training the most certified at 96 % or more):
        {auto_lambdas} (adversarial training's λ only switches it on),
        scaled down to the data. ``"path"`` chooses λ on the training data
        before training: a 3-fold cross-validated, warm-started path of 6 λ
        around the ``"auto"`` value, scored clean and robust and picked by
        the one-standard-error rule (:class:`~sklip.LipschitzClassifierCV`
        with its defaults; about 27 times the cost of the fit itself on the
        digits MLP, most of it robust scoring; scores in ``lambda_path_``).
    target_accuracy : float or None, default=None
        Threshold α of the warm-up and of the discrepancy rule, compared with
        the running training {score}. ``None`` keeps λ fixed.
    warm_up : bool, default=False
        Keep λ = 0 until the training {score} reaches ``target_accuracy``,
        then switch the regulariser on with λ = ``reg_lambda``.
    reg_lambda_step : float, default=0.0
        dλ of the discrepancy rule: λ += dλ when the training {score} exceeds
        α, λ = max(0, λ − dλ) otherwise. 0 disables the rule.
    reg_lambda_update : {{"epoch", "batch"}}, default="epoch"
        When the warm-up check and the discrepancy rule are applied.
    epsilon : float or None, default=None
        Initial radius ε of the regularisers that use one; ``None`` takes the
        regulariser's default (margin training's scaled down to the data by
        ``min(1, ℓ / 10)``, see :mod:`sklip._auto_lambda`); the fitted
        value is ``epsilon_``.
    epsilon_decay : float or "auto", default="auto"
        ε is multiplied by this factor in (0, 1] after every epoch; "auto"
        takes the regulariser's default (1.0 unless it says otherwise).
    hidden_layer_sizes : tuple of int, default=(100,)
        Hidden layer widths of the default perceptron.
    activation : str, default="relu"
        Activation of the default perceptron (see
        :data:`sklip.modules.ACTIVATIONS`).
    criterion : torch loss class or instance, default=None
        ``None`` uses {criterion}.
    optimizer : str or torch.optim.Optimizer subclass, default="adam"
        ``"sgdm"`` (SGD, momentum 0.9), ``"nag"`` (Nesterov), ``"adam"``, or
        any optimiser class; its arguments as ``optimizer__<name>``.
    lr : float, default=0.001
        Learning rate (> 0).
    max_epochs : int, default=50
        Number of passes over the training data.
    batch_size : int, default=128
        Mini-batch size; -1 for the whole data set.
    train_split : callable or None, default=None
        skorch's internal validation split, e.g.
        ``skorch.dataset.ValidSplit(0.2)``: every epoch then records
        ``valid_loss`` and the validation {score} (``{valid_name}``), which
        callbacks such as skorch's ``EarlyStopping`` monitor. ``None``
        trains on all data; a callback monitoring a ``valid_*`` score is
        then refused before training.
    callbacks : list or None, default=None
        Extra skorch callbacks.
    device : str or torch.device, default="cpu"
        Where the network is trained and evaluated, e.g. ``"cuda"``.
    n_threads : int or None, default=None
        torch threads for this estimator's fits, predictions and attacks
        (restored afterwards). ``None`` keeps torch's setting, except in a
        worker of a parallel search that sets no thread limit (a worker
        thread of joblib's ``"threading"`` backend, a process of its
        ``"multiprocessing"`` backend), where it is 1, so that ``n_jobs``
        workers do not fight over the cores; loky (the default backend)
        and Dask's nanny start their worker processes with ``cores //
        n_jobs`` threads already. Negative counts from the cores as
        ``n_jobs`` does (-1: every core). The thread count can change the
        last bits of float sums.
    random_state : int, RandomState or None, default=None
        Seeds the estimator's own torch generators, which draw the weight
        initialisation, the shuffling and every regulariser draw; torch's
        global random state is neither read nor changed, so fits in
        threads give their sequential results. (Two things torch gives no
        generator, a module class's own ``__init__`` and dropout layers,
        run with the global generator forked, seeded and restored.)
    verbose : int, default=0
        Print a line per epoch when positive.
    warm_start : bool, default=False
        Keep training the fitted network on the next ``fit``.
    iterator_train, iterator_valid, dataset, predict_nonlinearity, \
compile, use_caching, torch_load_kwargs
        skorch's parameters of these names, with skorch's defaults (see
        :class:`skorch.NeuralNet`).
    **kwargs
        Prefixed parameters (``module__``, ``optimizer__``,
        ``regularizer__``, ``iterator_train__``, ``callbacks__`` ...).
"""

ATTRIBUTES = """\
    module_ : torch.nn.Module
        The trained network.
    regularizer_ : Regularizer
        The regulariser used for training, with its state (e.g. the pairs).
    reg_lambda_ : float
        λ at the end of training (after warm-up and discrepancy rule).
    lambda_path_ : dict
        With ``reg_lambda="path"`` only: the search's ``lambdas``, its
        per-fold ``scores`` and ``robust_scores`` and its ``rule``.
    epsilon_ : float or None
        The radius ε after the last epoch's decay (``None`` for a
        regulariser without one).
    warmed_up_ : bool
        Whether the regulariser has been switched on.
    history_ : skorch.History
        Per epoch: ``train_loss``, ``train_score``, ``reg_lambda`` and
        ``epsilon`` (the values the epoch trained with; ``epsilon`` only
        for the regularisers that use one), ``penalty``, ``warmed_up``,
        ``lipschitz`` (the pair-search lower bound of
        :func:`sklip.lipschitz.lipschitz_lower_bound`, from the
        ``lipschitz`` callback), ``dur``; with a ``train_split``,
        ``valid_loss`` and ``valid_acc`` (classifiers) or ``valid_r2``
        (regressors); per batch: ``train_loss`` and ``reg_lambda``.
    n_features_in_ : int
        Number of features (size of the second axis of ``X``).
    input_shape_ : tuple of int
        Shape of one input sample.
"""


CLASSES_PARAMETER = """\
    classes : array-like of shape (n_classes,) or None, default=None
        Every class label. ``None`` takes the labels of ``y`` (arrays). A
        Dataset needs it: its items' labels are mapped to these classes
        one item at a time, without a pass over the data first (for a
        Dataset yielding class indices ``0 .. k-1``, e.g. a torchvision
        one, ``classes=range(k)``). Also lets ``y`` lack some classes.
"""


def _auto_lambdas():
    # Read from the regularisers themselves: the one source of the defaults.
    return ", ".join(f"{name} {cls.default_lambda:g}"
                     for name, cls in REGULARIZERS.items())


def parameters(score, criterion, classes="", valid_name="valid_acc"):
    """The Parameters section of an estimator's docstring."""
    return _SHARED_PARAMETERS.format(score=score, criterion=criterion,
                                     classes=classes, valid_name=valid_name,
                                     auto_lambdas=_auto_lambdas())
