"""Fitted scikit-learn preprocessing as torch layers.

A user's network usually sits at the end of a :class:`~sklearn.pipeline.Pipeline`
behind a scaler or a projection. To attack that pipeline in the units of
the data the user has (``eps`` and ``clamp`` in raw input units), the
attack must differentiate through the preprocessing, so each fitted
transformer becomes the torch operation it computes:

- :class:`~sklearn.preprocessing.StandardScaler`,
  :class:`~sklearn.preprocessing.MinMaxScaler`,
  :class:`~sklearn.preprocessing.MaxAbsScaler`,
  :class:`~sklearn.preprocessing.RobustScaler`: :class:`FeatureAffine`
  (``(x - center) / scale`` per feature; a ``MinMaxScaler`` with
  ``clip=True`` adds a :class:`torch.nn.Hardtanh` to its range);
- :class:`~sklearn.decomposition.PCA`: a :class:`torch.nn.Linear` (the
  components, whitened if asked);
- :class:`~sklearn.preprocessing.Normalizer`: :class:`RowNormalizer`;
- :class:`~sklearn.preprocessing.FunctionTransformer`: the identity, the
  torch twin of a numpy ufunc (``np.log1p`` -> ``torch.log1p``), or the
  function itself when it maps torch tensors to torch tensors;
- ``"passthrough"`` and nested pipelines of the above.

The layers are ordinary torch modules, so Lipschitz bounds and certified
accuracy multiply the preprocessing's own constant in (``FeatureAffine``:
the largest ``1 / |scale|``; PCA: the spectral norm of its matrix). A
``Normalizer`` or a function has no global constant; the bounds then say
so.
"""

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (FunctionTransformer, MaxAbsScaler,
                                   MinMaxScaler, Normalizer, RobustScaler,
                                   StandardScaler)
from sklearn.utils.validation import check_is_fitted
from torch import nn

__all__ = ["FeatureAffine", "RowNormalizer", "TorchFunction",
           "transformer_to_torch", "SUPPORTED_TRANSFORMERS"]

#: The transformers :func:`transformer_to_torch` converts.
SUPPORTED_TRANSFORMERS = ("StandardScaler", "MinMaxScaler", "MaxAbsScaler",
                          "RobustScaler", "Normalizer", "PCA",
                          "FunctionTransformer", "Pipeline", "'passthrough'")


class FeatureAffine(nn.Module):
    """``(x - center) / scale``, feature by feature, on inputs (n, n_features).

    The operation of scikit-learn's ``StandardScaler`` and ``RobustScaler``
    in the same order, so that it rounds as they do. A diagonal linear
    layer: :func:`sklip.lipschitz.linear_weight` reads it as
    ``diag(1 / scale)`` with :attr:`bias` ``-center / scale``, so every
    bound treats it as the linear map it is, without the ``n_features²``
    matrix in the forward pass.

    Parameters
    ----------
    center, scale : array-like of shape (n_features,)
        Stored as float32 buffers (they are not trained); ``scale`` must
        have no zero.
    """

    def __init__(self, center, scale):
        super().__init__()
        self.register_buffer("center", _buffer(center))
        self.register_buffer("scale", _buffer(scale))

    def forward(self, X):
        return (X - self.center) / self.scale

    @property
    def weight_diagonal(self):
        """``1 / scale``: the diagonal of the linear map."""
        return 1.0 / self.scale

    @property
    def bias(self):
        """``-center / scale``: the map's value at 0."""
        return -self.center / self.scale

    def extra_repr(self):
        return f"n_features={self.scale.numel()}"


class RowNormalizer(nn.Module):
    """Each sample divided by its norm, as :class:`~sklearn.preprocessing.Normalizer`.

    A zero sample stays zero, as in scikit-learn. The map has no global
    Lipschitz constant (it is steepest near 0).

    Parameters
    ----------
    norm : {"l1", "l2", "max"}, default="l2"
    """

    def __init__(self, norm="l2"):
        super().__init__()
        self.norm = norm

    def forward(self, X):
        if self.norm == "l1":
            norms = X.abs().sum(dim=1, keepdim=True)
        elif self.norm == "l2":
            norms = X.norm(dim=1, keepdim=True)
        else:
            norms = X.abs().amax(dim=1, keepdim=True)
        # sklearn divides by 1 where the norm is 0.
        return X / torch.where(norms == 0, torch.ones_like(norms), norms)

    def extra_repr(self):
        return f"norm={self.norm!r}"


class TorchFunction(nn.Module):
    """A function of torch tensors as a layer (a ``FunctionTransformer``).

    Parameters
    ----------
    func : callable
        Maps a tensor of shape (n, ...) to a tensor with n rows.
    kwargs : dict or None
        Keyword arguments of ``func``.
    """

    def __init__(self, func, kwargs=None):
        super().__init__()
        self.func = func
        self.kwargs = dict(kwargs or {})

    def forward(self, X):
        return self.func(X, **self.kwargs)

    def extra_repr(self):
        return getattr(self.func, "__name__", repr(self.func))


def _buffer(values):
    return torch.as_tensor(np.asarray(values, dtype=np.float32).reshape(-1))


def _scaler(scale, center, n_features):
    """``(x - center) / scale`` as a FeatureAffine; ``None`` parts skipped."""
    scale = np.ones(n_features) if scale is None else np.asarray(scale)
    center = np.zeros(n_features) if center is None else np.asarray(center)
    return FeatureAffine(center, scale)


def _min_max(transformer):
    # x * scale_ + min_ = (x - (-min_ / scale_)) / (1 / scale_).
    scale = np.asarray(transformer.scale_, dtype=np.float64)
    layer = FeatureAffine(-np.asarray(transformer.min_) / scale, 1.0 / scale)
    if not transformer.clip:
        return layer
    low, high = transformer.feature_range
    return nn.Sequential(layer, nn.Hardtanh(float(low), float(high)))


def _pca(transformer):
    components = np.asarray(transformer.components_, dtype=np.float64)
    if transformer.whiten:
        components = components / np.sqrt(
            transformer.explained_variance_)[:, None]
    layer = nn.Linear(components.shape[1], components.shape[0])
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(components))
        layer.bias.copy_(torch.as_tensor(
            -components @ np.asarray(transformer.mean_, dtype=np.float64)))
    return layer.requires_grad_(False)


def _function(transformer, name):
    func = transformer.func
    if func is None:
        return nn.Identity()
    kwargs = transformer.kw_args or {}
    if isinstance(func, np.ufunc):
        twin = getattr(torch, _UFUNC_NAMES.get(func.__name__, func.__name__),
                       None)
        if twin is None:
            raise TypeError(
                f"step {name!r}: the numpy ufunc {func.__name__} of its "
                "FunctionTransformer has no torch twin; pass a function of "
                "torch tensors (e.g. lambda X: torch.log1p(X))")
        return TorchFunction(twin, kwargs)
    # A function written with torch operations passes gradients; one that
    # goes through numpy returns an array (or a tensor cut from the graph).
    probe = torch.ones(2, transformer.n_features_in_, requires_grad=True)
    try:
        result = func(probe, **kwargs)
    except Exception as error:  # noqa: BLE001 - any failure means "not torch"
        result = error
    if not (torch.is_tensor(result) and result.requires_grad
            and result.shape[:1] == probe.shape[:1]):
        raise TypeError(
            f"step {name!r}: the function {getattr(func, '__name__', func)!r} "
            "of its FunctionTransformer does not map torch tensors to torch "
            "tensors with gradients, so an attack cannot differentiate "
            "through it; write it with torch operations")
    return TorchFunction(func, kwargs)


#: numpy ufunc names whose torch function has another name.
_UFUNC_NAMES = {"absolute": "abs", "arcsinh": "asinh", "arctan": "atan",
                "arcsin": "asin", "arccos": "acos", "power": "pow",
                "true_divide": "div", "divide": "div", "multiply": "mul",
                "subtract": "sub", "negative": "neg"}


def transformer_to_torch(transformer, name="transformer"):
    """The torch operation a fitted transformer computes.

    Parameters
    ----------
    transformer : fitted transformer or "passthrough" or None
        One of :data:`SUPPORTED_TRANSFORMERS`.
    name : str, default="transformer"
        The step's name, for error messages.

    Returns
    -------
    torch.nn.Module
        Maps float32 tensors of shape (n, n_features) like ``transform``.

    Raises
    ------
    TypeError
        For any other transformer, naming it and the supported ones.
    sklearn.exceptions.NotFittedError
        For an unfitted transformer.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklip.preprocessing import transformer_to_torch
    >>> X = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> layer = transformer_to_torch(StandardScaler().fit(X))
    >>> layer(torch.tensor(X, dtype=torch.float32))
    tensor([[-1., -1.],
            [ 1.,  1.]])
    """
    if transformer is None or (isinstance(transformer, str)
                               and transformer == "passthrough"):
        return nn.Identity()
    if isinstance(transformer, Pipeline):
        return nn.Sequential(*[transformer_to_torch(step, f"{name}.{sub}")
                               for sub, step in transformer.steps])
    kind = type(transformer)
    if kind not in _CONVERTERS:
        raise TypeError(
            f"step {name!r} ({kind.__name__}) has no torch form, so an "
            "attack cannot differentiate through it. sklip converts "
            f"{', '.join(SUPPORTED_TRANSFORMERS)}. Apply this step to X "
            "yourself and attack the rest of the pipeline "
            "(pipeline[1:]) with gradient attacks")
    check_is_fitted(transformer)
    return _CONVERTERS[kind](transformer, name)


_CONVERTERS = {
    # The fitted statistics exist even where the flags switch them off.
    StandardScaler: lambda t, name: _scaler(
        t.scale_ if t.with_std else None, t.mean_ if t.with_mean else None,
        t.n_features_in_),
    RobustScaler: lambda t, name: _scaler(
        t.scale_ if t.with_scaling else None,
        t.center_ if t.with_centering else None, t.n_features_in_),
    MaxAbsScaler: lambda t, name: _scaler(t.scale_, None, t.n_features_in_),
    MinMaxScaler: lambda t, name: _min_max(t),
    PCA: lambda t, name: _pca(t),
    Normalizer: lambda t, name: RowNormalizer(t.norm),
    FunctionTransformer: _function,
}
