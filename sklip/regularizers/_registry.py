"""Look up regularisers by name."""

from sklearn.base import clone

from ._adversarial import AdversarialRegularizer
from ._base import NoRegularizer, Regularizer
from ._clip import CLIPRegularizer, SumLipRegularizer
from ._margin import MarginRegularizer
from ._ptv import PTVRegularizer
from ._tv import TVRegularizer

__all__ = ["REGULARIZERS", "get_regularizer", "regularizer_names"]

#: Registry name -> regulariser class.
REGULARIZERS = {
    cls.name: cls
    for cls in (NoRegularizer, CLIPRegularizer, SumLipRegularizer,
                TVRegularizer, PTVRegularizer, AdversarialRegularizer,
                MarginRegularizer)
}


def regularizer_names():
    """Names accepted by ``regularizer=`` (sorted)."""
    return sorted(REGULARIZERS)


def get_regularizer(regularizer, **params):
    """A fresh regulariser from a name, a class or an instance.

    Parameters
    ----------
    regularizer : str, Regularizer subclass or Regularizer instance
        ``"none"``, ``"clip"``, ``"sumlip"``, ...; an instance is cloned, so
        the caller's object is never changed by training.
    **params
        Hyperparameters set on the new regulariser.

    Returns
    -------
    Regularizer

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones).
    TypeError
        For any other kind of object.

    Examples
    --------
    >>> from sklip.regularizers import get_regularizer
    >>> get_regularizer("clip", n_iter=3).n_iter
    3
    """
    if isinstance(regularizer, str):
        if regularizer not in REGULARIZERS:
            raise ValueError(
                f"regularizer must be one of {regularizer_names()} or a "
                f"Regularizer instance, got {regularizer!r}.")
        reg = REGULARIZERS[regularizer]()
    elif isinstance(regularizer, type) and issubclass(regularizer, Regularizer):
        reg = regularizer()
    elif isinstance(regularizer, Regularizer):
        reg = clone(regularizer)
    else:
        raise TypeError(
            f"regularizer must be one of {regularizer_names()} or a "
            f"Regularizer instance, got {type(regularizer).__name__}.")
    unknown = sorted(set(params) - set(reg.get_params()))
    if unknown:
        raise ValueError(
            f"{unknown[0]} is not a parameter of "
            f"{type(reg).__name__}; valid ones: "
            f"{sorted(reg.get_params())}.")
    return reg.set_params(**params)
