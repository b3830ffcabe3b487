"""Training every method of the benchmark, timed, with one progress bar."""

import time

from skorch.callbacks import Callback

__all__ = ["EpochProgress", "fit_all"]


class EpochProgress(Callback):
    """Advance a tqdm bar by one after every epoch.

    The bar is display state, not the model's: it is left out when the
    estimator is pickled (the benchmark sends its fitted estimators to
    worker processes, where a bar wrapping the parent's stderr cannot be
    rebuilt), and an unpickled copy trains without one.
    """

    def __init__(self, bar):
        self.bar = bar

    def on_epoch_end(self, net, **kwargs):
        if self.bar is not None:
            self.bar.update(1)

    def __getstate__(self):
        return {**vars(self), "bar": None}


def fit_all(methods, make, X, y, epochs, progress):
    """Fit ``make(method)`` for every method; the estimators and their
    training times in seconds, both keyed by method."""
    from tqdm.auto import tqdm

    # One throwaway epoch first: the first fit of a process pays for
    # torch's lazy initialisation, which would inflate the first method's
    # time and every ratio computed from it.
    make(methods[0]).set_params(max_epochs=1, callbacks__collapse=None).fit(
        X[:256], y[:256])
    estimators, seconds = {}, {}
    with tqdm(total=epochs * len(methods), desc="training", unit="epoch",
              disable=not progress, leave=False) as bar:
        for method in methods:
            bar.set_postfix_str(method)
            est = make(method).set_params(callbacks=[("progress",
                                                      EpochProgress(bar))])
            start = time.perf_counter()
            est.fit(X, y)
            seconds[method] = time.perf_counter() - start
            estimators[method] = est
    return estimators, seconds
