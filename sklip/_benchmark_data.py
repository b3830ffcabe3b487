"""The benchmark's data sets, as train/test splits.

Used by :func:`sklip.benchmark.run_benchmark` and the timing mode; public
as :func:`sklip.benchmark.load_data`.
"""

from .datasets import load_digits_scaled, load_mnist, make_polynomial

__all__ = ["load_data"]


def load_data(dataset, data_dir=None, seed=0):
    """Train/test split of a benchmark data set.

    Parameters
    ----------
    dataset : {"digits", "mnist", "polynomial"}
    data_dir : str or Path or None
        Folder of the MNIST IDX files.
    seed : int, default=0
        Seed of the digits split and of the polynomial samples.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
    """
    if dataset == "digits":
        from sklearn.model_selection import train_test_split

        X, y = load_digits_scaled()
        return train_test_split(X, y, test_size=0.25, random_state=seed,
                                stratify=y)
    if dataset == "mnist":
        if data_dir is None:
            raise ValueError("dataset 'mnist' needs data_dir: a folder with "
                             "the MNIST IDX files (t10k-*).")
        X, y = load_mnist(data_dir)
        # The SPEC's split of the 10,000 real test images.
        return X[:8000], X[8000:], y[:8000], y[8000:]
    X, y = make_polynomial(60, random_state=seed)
    X_test, y_test = make_polynomial(200, random_state=seed + 1)
    return X, X_test, y, y_test
