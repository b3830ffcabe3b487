"""The benchmark's λ sweep: every method at several λ, trained from scratch.

The slides' Figure 10 ("λ must be chosen carefully") follows one method at
several values of λ: the Lipschitz estimate normalised by its largest value,
the data loss and the training accuracy per epoch. ``sklip benchmark
--lambdas 0.03 0.3 3`` trains each chosen method at each λ from scratch (a
run labelled ``"clip λ=0.3"``); the runs go through the benchmark as
methods do, so the table has one row per run and ``training_history.png``
one line per run. Standard training (``"none"``) has no λ and runs once.
(``--path`` instead warm-starts a λ path for the accuracy–robustness
frontier.)
"""

import numbers

import numpy as np

from ._benchmark_checks import OptionError, OptionTypeError

__all__ = ["check_lambdas", "sweep_runs", "sweep_factory"]


def check_lambdas(lambdas):
    """``lambdas`` as a tuple of distinct finite floats ≥ 0, or ``None``."""
    if lambdas is None:
        return None
    if isinstance(lambdas, (str, bytes)) or not np.iterable(lambdas):
        raise OptionTypeError("lambdas", f"must be a sequence of numbers, "
                              f"got {lambdas!r}.")
    values = tuple(lambdas)
    bad = [v for v in values if isinstance(v, bool)
           or not isinstance(v, numbers.Real) or not np.isfinite(v) or v < 0]
    if bad or not values:
        raise OptionError("lambdas", f"must be one or more finite numbers "
                          f">= 0, got {list(values)!r}.")
    values = tuple(float(v) for v in values)
    if len(set(values)) < len(values):
        raise OptionError("lambdas", f"names a value more than once: "
                          f"{list(values)!r}.")
    return values


def sweep_runs(methods, lambdas):
    """The runs of a sweep: ``{label: (method, reg_lambda)}``, in order.

    Without ``lambdas`` every method is one run under its own name at its
    own λ (``reg_lambda`` ``None``).

    Examples
    --------
    >>> from sklip._benchmark_sweep import sweep_runs
    >>> sweep_runs(("none", "clip"), (0.1, 1.0))
    {'none': ('none', None), 'clip λ=0.1': ('clip', 0.1), 'clip λ=1': ('clip', 1.0)}
    """
    if lambdas is None:
        return {method: (method, None) for method in methods}
    runs = {}
    for method in methods:
        if method == "none":
            runs[method] = (method, None)
            continue
        for value in lambdas:
            runs[f"{method} λ={value:g}"] = (method, value)
    return runs


def sweep_factory(make, runs):
    """``make_run(label)``: ``make(method)`` with the run's λ set."""
    def make_run(label):
        method, reg_lambda = runs[label]
        estimator = make(method)
        if reg_lambda is not None:
            estimator.set_params(reg_lambda=reg_lambda)
        return estimator

    return make_run
