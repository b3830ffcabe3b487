"""Data sets of the experiments: digits, MNIST from IDX files, the polynomial.

- :func:`load_digits_scaled`: scikit-learn's bundled 8×8 handwritten digits
  (no download), pixels scaled to [0, 1]; the embedded default.
- :func:`load_mnist`: MNIST (LeCun, Cortes, Burges) read from IDX files,
  gzip-compressed or not, pixels scaled to [0, 1]; :func:`fetch_mnist`
  downloads the files first for a user with internet.
- :func:`make_polynomial`: the slides' 1-D task
  ``P(x) = s·(0.5 + 0.01x + x⁶)`` with ``x`` uniform on [−3, −2] ∪ [2, 3].
"""

import gzip
import os
import struct
import urllib.request
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

__all__ = ["load_digits_scaled", "load_mnist", "fetch_mnist", "read_idx",
           "make_polynomial", "polynomial", "MNIST_FILES"]

#: IDX file stems of the MNIST splits.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4",
               0x0D: ">f4", 0x0E: ">f8"}

_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"


def load_digits_scaled(return_X_y=True):
    """scikit-learn's handwritten digits with pixels scaled to [0, 1].

    Parameters
    ----------
    return_X_y : bool, default=True
        Kept for symmetry with scikit-learn loaders; only ``(X, y)`` is
        returned.

    Returns
    -------
    X : ndarray of shape (1797, 64), float32
    y : ndarray of shape (1797,), int64

    Examples
    --------
    >>> from sklip.datasets import load_digits_scaled
    >>> X, y = load_digits_scaled()
    >>> X.shape, float(X.max())
    ((1797, 64), 1.0)
    """
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y.astype(np.int64)


def read_idx(path):
    """Read one IDX file (optionally gzip-compressed) into an array.

    Parameters
    ----------
    path : str or Path
        File to read; ``.gz`` files are decompressed.

    Returns
    -------
    ndarray
        With the shape and dtype the header declares.

    Raises
    ------
    ValueError
        If the file is not a valid IDX file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 \
            or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{path}: header declares shape {shape} ({expected} bytes) but "
            f"the file holds {len(data) - header} bytes of data.")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def _find_idx(folder, stem):
    for name in (stem, stem + ".gz"):
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    return None


def load_mnist(path, split="test", flatten=True):
    """MNIST from IDX files in a folder, pixels scaled to [0, 1].

    Parameters
    ----------
    path : str or Path
        Folder with ``t10k-images-idx3-ubyte[.gz]`` and
        ``t10k-labels-idx1-ubyte[.gz]`` (``split="test"``) or the ``train-``
        files (``split="train"``).
    split : {"test", "train"}, default="test"
        Which files to read.
    flatten : bool, default=True
        Return ``X`` as (n, 784); otherwise (n, 1, 28, 28) for a
        convolutional network.

    Returns
    -------
    X : ndarray of float32
    y : ndarray of int64

    Raises
    ------
    FileNotFoundError
        If the folder lacks the IDX files (the message names them).

    Examples
    --------
    >>> from sklip.datasets import load_mnist
    >>> X, y = load_mnist("../shared/data/mnist")  # doctest: +SKIP
    >>> X.shape
    (10000, 784)
    """
    if split not in MNIST_FILES:
        raise ValueError(
            f"split must be one of {sorted(MNIST_FILES)}, got {split!r}.")
    if not Path(path).is_dir():
        raise FileNotFoundError(f"MNIST folder {str(path)!r} does not exist.")
    stems = MNIST_FILES[split]
    files = [_find_idx(path, stem) for stem in stems]
    if None in files:
        raise FileNotFoundError(
            f"{str(path)!r} does not hold the MNIST {split} files "
            f"{stems[0]}[.gz] and {stems[1]}[.gz].")
    images, labels = (read_idx(f) for f in files)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"MNIST files in {str(path)!r} have inconsistent shapes "
            f"{images.shape} and {labels.shape}.")
    X = images.astype(np.float32) / 255.0
    X = X.reshape(len(X), -1) if flatten else X[:, None, :, :]
    return X, labels.astype(np.int64)


def fetch_mnist(path, split="test", url=_MNIST_URL):
    """Download the MNIST IDX files of a split into ``path`` if missing.

    Parameters
    ----------
    path : str or Path
        Folder to download into (created if needed).
    split : {"test", "train"}, default="test"
        Which files to fetch.
    url : str
        Base address of the ``.gz`` files.

    Returns
    -------
    path : Path
        The folder, ready for :func:`load_mnist`.
    """
    path = Path(path)
    os.makedirs(path, exist_ok=True)
    for stem in MNIST_FILES[split]:
        if _find_idx(path, stem) is None:
            urllib.request.urlretrieve(url + stem + ".gz", path / (stem + ".gz"))
    return path


def polynomial(x, scale=1.0):
    """The slides' polynomial ``P(x) = scale·(0.5 + 0.01x + x⁶)``."""
    x = np.asarray(x, dtype=np.float64)
    return scale * (0.5 + 0.01 * x + x ** 6)


def make_polynomial(n_samples=100, scale=None, noise=0.0, random_state=None):
    """The slides' 1-D regression task.

    ``x`` is uniform on [−3, −2] ∪ [2, 3] and ``y = P(x)`` plus optional
    Gaussian noise. The gap in the middle is where an unregularised network
    is free to oscillate (the slides' Figure 7).

    Parameters
    ----------
    n_samples : int, default=100
        Number of points.
    scale : float or None, default=None
        Scaling ``s`` of the polynomial; ``None`` picks ``1 / P(3)`` so that
        targets lie in [0, 1].
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to ``y``.
    random_state : int, RandomState or None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 1), float32
    y : ndarray of shape (n_samples,), float32

    Examples
    --------
    >>> from sklip.datasets import make_polynomial
    >>> X, y = make_polynomial(10, random_state=0)
    >>> bool((abs(X) >= 2).all() and (abs(X) <= 3).all())
    True
    """
    rng = check_random_state(random_state)
    if scale is None:
        scale = 1.0 / float(polynomial(3.0))
    magnitude = rng.uniform(2.0, 3.0, size=n_samples)
    sign = rng.choice([-1.0, 1.0], size=n_samples)
    x = sign * magnitude
    y = polynomial(x, scale) + noise * rng.standard_normal(n_samples)
    return x.reshape(-1, 1).astype(np.float32), y.astype(np.float32)
