"""Data sets of the experiments: digits, MNIST from IDX files, the polynomial.

- :func:`load_digits_scaled`: scikit-learn's bundled 8×8 handwritten digits
  (no download), pixels scaled to [0, 1]; the embedded default.
- :func:`load_mnist`: MNIST (LeCun, Cortes, Burges) read from IDX files,
  gzip-compressed or not, pixels scaled to [0, 1]; :func:`fetch_mnist`
  downloads the files first for a user with internet, checking their
  published SHA-256. :func:`read_idx` streams a file and refuses a malformed
  one from its header, before reading (or decompressing) the rest.
- :func:`make_polynomial`: the slides' 1-D task
  ``P(x) = s·(0.5 + 0.01x + x⁶)`` with ``x`` uniform on [−3, −2] ∪ [2, 3].
"""

import hashlib
import os
import urllib.parse
import urllib.request
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

from ._idx import _CHUNK, _MAX_IDX_BYTES, _read_idx, read_idx

__all__ = ["load_digits_scaled", "load_mnist", "fetch_mnist", "read_idx",
           "make_polynomial", "polynomial", "MNIST_FILES"]

#: IDX file stems of the MNIST splits.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# SHA-256 of the published .gz files, whatever mirror serves them. The t10k
# sums were computed from shared/data/mnist, whose MD5s are the ones
# torchvision's datasets/mnist.py publishes; the train sums are those of
# torchvision's prototype/datasets/_builtin/mnist.py, which lists the same
# t10k sums.
_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"

# The largest MNIST file is 9.9 MB; a server sending more is not sending it.
_MAX_DOWNLOAD_BYTES = 64 << 20


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


def _check_mnist_header(path, ndim, dtype, shape):
    """Refuse an IDX file that cannot be MNIST before its data is read."""
    what = "images" if ndim == 3 else "labels"
    if dtype != np.uint8:
        raise ValueError(f"{path}: MNIST {what} must be unsigned bytes (IDX "
                         f"dtype code 0x08), the header declares {dtype}.")
    if len(shape) != ndim or shape[1:] != (28, 28)[:ndim - 1]:
        expected = "(n, 28, 28)" if ndim == 3 else "(n,)"
        raise ValueError(f"{path}: MNIST {what} must have shape {expected}, "
                         f"the header declares {shape}.")


def _find_idx(folder, stem):
    for name in (stem, stem + ".gz"):
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    return None


def _check_folder(path, split):
    stems = MNIST_FILES[split]
    holding = (f"the MNIST {split} files {stems[0]}[.gz] and "
               f"{stems[1]}[.gz]")
    if Path(path).is_file():
        raise ValueError(f"{str(path)!r} is a file, expected the folder "
                         f"holding {holding}.")
    return holding


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
        If the folder does not exist or lacks the IDX files (the message
        names them).
    ValueError
        If ``path`` is a file, or a file is not MNIST: any fault
        :func:`read_idx` reports, pixels or labels not unsigned bytes,
        images not 28×28, labels outside 0–9, or different numbers of
        images and labels.

    Examples
    --------
    >>> from sklip.datasets import load_mnist
    >>> X, y = load_mnist("../shared/data/mnist")  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (10000, 784)
    """
    if split not in MNIST_FILES:
        raise ValueError(
            f"split must be one of {sorted(MNIST_FILES)}, got {split!r}.")
    holding = _check_folder(path, split)
    if not Path(path).is_dir():
        raise FileNotFoundError(f"MNIST folder {str(path)!r} does not exist.")
    files = [_find_idx(path, stem) for stem in MNIST_FILES[split]]
    if None in files:
        raise FileNotFoundError(f"{str(path)!r} does not hold {holding}.")
    images = _read_idx(files[0], _MAX_IDX_BYTES,
                       partial(_check_mnist_header, files[0], 3))
    labels = _read_idx(files[1], _MAX_IDX_BYTES,
                       partial(_check_mnist_header, files[1], 1))
    if len(images) != len(labels):
        raise ValueError(f"{files[0]} holds {len(images)} images but "
                         f"{files[1]} holds {len(labels)} labels.")
    bad = np.flatnonzero(labels > 9)
    if len(bad):
        raise ValueError(f"{files[1]}: {len(bad)} labels are not digits 0-9, "
                         f"the first {labels[bad[0]]} at index {bad[0]}.")
    X = images.astype(np.float32) / 255.0
    X = X.reshape(len(X), -1) if flatten else X[:, None, :, :]
    return X, labels.astype(np.int64)


def fetch_mnist(path, split="test", url=_MNIST_URL):
    """Download the MNIST IDX files of a split into ``path`` if missing.

    Each download is checked against the SHA-256 of the published file
    before it is kept, so a mirror or a ``file://`` copy must serve exactly
    the original ``.gz`` files. Files already in ``path`` are kept as they
    are; :func:`load_mnist` still checks their structure.

    Parameters
    ----------
    path : str or Path
        Folder to download into (created if needed).
    split : {"test", "train"}, default="test"
        Which files to fetch.
    url : str
        Base address of the ``.gz`` files, ``https://`` or ``file://``.

    Returns
    -------
    path : Path
        The folder, ready for :func:`load_mnist`.

    Raises
    ------
    ValueError
        If ``url`` is neither ``https://`` nor ``file://``, ``path`` is a
        file, or a download's checksum differs from the published one (the
        file is then not kept).
    """
    scheme = urllib.parse.urlsplit(str(url)).scheme.lower()
    if scheme not in ("https", "file"):
        raise ValueError(f"url must start with https:// or file://, got "
                         f"{url!r}.")
    if split not in MNIST_FILES:
        raise ValueError(
            f"split must be one of {sorted(MNIST_FILES)}, got {split!r}.")
    _check_folder(path, split)
    path = Path(path)
    os.makedirs(path, exist_ok=True)
    for stem in MNIST_FILES[split]:
        if _find_idx(path, stem) is None:
            name = stem + ".gz"
            _download_checked(url + name, path / name, _MNIST_SHA256[name])
    return path


def _download_checked(url, target, sha256):
    # Written beside the target and renamed only once checked, so that an
    # interrupted or tampered download never looks like a present file.
    part = target.with_name(target.name + ".part")
    digest, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=60) as response, \
                open(part, "wb") as out:
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > _MAX_DOWNLOAD_BYTES:
                    raise ValueError(f"{url}: more than "
                                     f"{_MAX_DOWNLOAD_BYTES} bytes, not an "
                                     "MNIST file.")
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ValueError(f"{url}: SHA-256 {digest.hexdigest()} differs "
                             f"from the published {sha256}; not kept.")
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


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
