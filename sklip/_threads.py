"""How many threads torch uses for an estimator's work.

torch runs each operation on every core by default. Inside a parallel
search, ``n_jobs`` workers doing that on the same cores fight over them and
run slower than one worker alone. joblib's loky backend (scikit-learn's
default) and Dask's nanny start their worker processes with
``OMP_NUM_THREADS`` set to ``cores // n_jobs``, which torch reads. Worker
threads (joblib's ``"threading"`` backend) share one process, and joblib's
``"multiprocessing"`` backend sets nothing: there sklip uses one torch
thread per worker. A user's ``n_threads`` overrides both.

With torch's OpenMP build the setting is per Python thread: changing it in
a worker thread leaves the caller's threads alone. It is restored after the
work, so an estimator never changes its caller's setting.
"""

import functools
import os
import threading
from contextlib import contextmanager

import joblib
import torch
from joblib.parallel import get_active_backend

from ._validation import check_int

__all__ = ["check_n_threads", "n_threads_of", "resolve_n_threads",
           "torch_threads", "uses_torch_threads"]

# The environment variables through which a process pool limits the
# threads of its workers (joblib's loky backend, Dask's nanny).
_LIMIT_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def check_n_threads(n_threads, name="n_threads"):
    """Refuse an ``n_threads`` that is not None or a non-zero int."""
    check_int(n_threads, name, allow_none=True)
    if n_threads == 0:
        raise ValueError(
            f"{name} must be None (automatic), a positive number of torch "
            "threads, or negative as in n_jobs (-1: every core); got 0.")


def resolve_n_threads(n_threads):
    """The number of torch threads to use, or None to keep torch's.

    Parameters
    ----------
    n_threads : int or None
        ``None``: torch's setting, except in a worker thread of a joblib
        parallel call (the ``"threading"`` backend) or in a worker process
        whose environment sets no thread limit (the ``"multiprocessing"``
        backend), where it is 1. A positive
        int: that many. A negative int counts from the number of cores as
        ``n_jobs`` does: -1 is every core, -2 every core but one.

    Returns
    -------
    int or None
    """
    if n_threads is None:
        return 1 if _in_unlimited_worker() else None
    if n_threads < 0:
        return max(1, joblib.cpu_count() + 1 + n_threads)
    return n_threads


def _in_unlimited_worker():
    backend, _ = get_active_backend()
    # joblib runs each task of a parallel call under a nested backend whose
    # nesting level is at least 1; a sequential call (n_jobs=1) runs at 0.
    if getattr(backend, "nesting_level", 0) < 1:
        return False
    # Worker threads share this process with their siblings, whatever its
    # environment says; a worker process is limited by its environment
    # when its pool set one.
    if threading.current_thread() is not threading.main_thread():
        return True
    return not any(name in os.environ for name in _LIMIT_VARIABLES)


def n_threads_of(model):
    """The ``n_threads`` of a model (a pipeline's final step), else None."""
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        model = steps[-1][1]
    n_threads = getattr(model, "n_threads", None)
    # A skorch net or a module has no such parameter; a bad value on an
    # sklip estimator was refused when it was fitted.
    try:
        check_n_threads(n_threads)
    except (TypeError, ValueError):
        return None
    return n_threads


@contextmanager
def torch_threads(n_threads):
    """Run the block with :func:`resolve_n_threads` torch threads.

    Parameters
    ----------
    n_threads : int or None
        See :func:`resolve_n_threads`.
    """
    wanted = resolve_n_threads(n_threads)
    previous = torch.get_num_threads()
    if wanted is None or wanted == previous:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def uses_torch_threads(method):
    """Decorate an estimator method to run under its ``n_threads``.

    The setting is validated first, so a bad one is refused before any
    work (and before ``fit``'s other checks need it).
    """
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        n_threads = getattr(self, "n_threads", None)
        check_n_threads(n_threads)
        with torch_threads(n_threads):
            return method(self, *args, **kwargs)
    return wrapper
