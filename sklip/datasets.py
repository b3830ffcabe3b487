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

import gzip
import hashlib
import math
import os
import struct
import urllib.parse
import urllib.request
import zlib
from functools import partial
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

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4",
               0x0D: ">f4", 0x0E: ">f8"}

# The default cap on the data an IDX header may declare. MNIST's largest
# file holds 47 MB and EMNIST ByClass 547 MB; a header asking for more is
# far more likely corrupt or hostile than real.
_MAX_IDX_BYTES = 2 ** 30

# The header's ndim is a byte, so up to 255; real IDX files have 1 to 4
# dimensions and numpy cannot build arrays of more than 32 (64 in 2.x).
_MAX_IDX_NDIM = 16

# Deflate cannot expand data more than 1032:1 (zlib's technical notes), so a
# header declaring more than that times the .gz file's size is refused as
# truncated without decompressing anything.
_DEFLATE_MAX_RATIO = 1032

_GZIP_MAGIC = b"\x1f\x8b"

# Reads go in chunks of this size, so that memory follows the data actually
# present in the file rather than what its header claims.
_CHUNK = 1 << 20

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


def read_idx(path, *, max_bytes=_MAX_IDX_BYTES):
    """Read one IDX file (optionally gzip-compressed) into an array.

    The file is streamed: the magic number and the dimensions are checked
    from its first bytes, and only then exactly the declared amount of data
    is read, so a malformed file is refused without decompressing it.

    Parameters
    ----------
    path : str or Path
        File to read. A file starting with the gzip magic bytes is
        decompressed on the fly; one named ``*.gz`` must be gzip.
    max_bytes : int, default=2**30
        Largest amount of data (after decompression, header excluded) the
        header may declare; 1 GiB leaves room for every MNIST-like data set
        (MNIST's largest file holds 47 MB).

    Returns
    -------
    ndarray
        With the shape and (big-endian) dtype the header declares.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a valid IDX file; the message names the file and
        the fault: not gzip or corrupt gzip data, bad magic number, bad dtype
        code, bad ndim, too large (more than ``max_bytes``), truncated, or
        trailing data. Bytes after the declared data are an error: the IDX
        format has no footer, so they mean a wrong header or a damaged file.

    Examples
    --------
    >>> from sklip.datasets import read_idx
    >>> path = "../shared/data/mnist/t10k-labels-idx1-ubyte.gz"
    >>> labels = read_idx(path)  # doctest: +SKIP
    >>> labels.shape, labels.dtype  # doctest: +SKIP
    ((10000,), dtype('uint8'))
    """
    return _read_idx(Path(path), max_bytes)


def _read_idx(path, max_bytes, check_header=None):
    """:func:`read_idx`, with ``check_header(dtype, shape)`` run on the header
    before any data is read."""
    if path.is_dir():
        raise ValueError(f"{path} is a folder, expected an IDX file.")
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if path.suffix == ".gz" and not compressed:
            raise ValueError(f"{path}: not a gzip file (the name ends in .gz "
                             "but the file lacks the gzip magic bytes).")
        size = os.fstat(raw.fileno()).st_size
        if not compressed:
            return _read_idx_stream(raw, path, max_bytes, check_header,
                                    size, compressed)
        try:
            with gzip.GzipFile(fileobj=raw) as f:
                return _read_idx_stream(f, path, max_bytes, check_header,
                                        size, compressed)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip data "
                             f"({exc}).") from exc


def _read_idx_stream(f, path, max_bytes, check_header, size, compressed):
    magic = _read_header_bytes(f, 4, path, 0)
    if magic[0] or magic[1]:
        raise ValueError(f"{path} is not an IDX file (bad magic number "
                         f"0x{magic.hex()}: IDX starts with two zero bytes).")
    code, ndim = magic[2], magic[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02x}" for c in _IDX_DTYPES)
        raise ValueError(f"{path} is not an IDX file (bad dtype code "
                         f"0x{code:02x}; known codes are {known}).")
    if not 1 <= ndim <= _MAX_IDX_NDIM:
        raise ValueError(f"{path} is not an IDX file (bad ndim {ndim}; "
                         f"expected 1 to {_MAX_IDX_NDIM}).")
    dims = _read_header_bytes(f, 4 * ndim, path, 4)
    shape = struct.unpack(f">{ndim}I", dims)
    dtype = np.dtype(_IDX_DTYPES[code])
    if check_header is not None:
        check_header(dtype, shape)
    # Python integers: numpy's int64 product wraps around, letting a header
    # whose product is 2**64 pass as empty.
    n_bytes = math.prod(shape) * dtype.itemsize
    declares = f"the header declares shape {shape} ({n_bytes} bytes of data)"
    if n_bytes > max_bytes:
        raise ValueError(f"{path}: too large: {declares}, more than "
                         f"max_bytes={max_bytes}.")
    if compressed and n_bytes > size * _DEFLATE_MAX_RATIO:
        raise ValueError(f"{path}: truncated: {declares}, more than a gzip "
                         f"file of {size} bytes can hold.")
    stored = size - 4 - 4 * ndim  # an uncompressed file's data, known now
    if not compressed and n_bytes != stored:
        fault = "truncated" if n_bytes > stored else "trailing data"
        raise ValueError(f"{path}: {fault}: {declares} but the file holds "
                         f"{stored}.")
    data = _read_data(f, n_bytes, path, declares)
    # For gzip this read also reaches the end of the stream, where the CRC
    # and length recorded in the file are checked.
    if f.read(1):
        raise ValueError(f"{path}: trailing data: {declares} but more bytes "
                         "follow them.")
    return data.view(dtype).reshape(shape)


def _read_data(f, n_bytes, path, declares):
    data = np.empty(n_bytes, dtype=np.uint8)
    view, done = memoryview(data), 0
    while done < n_bytes:
        got = f.readinto(view[done:done + _CHUNK])
        if not got:
            raise ValueError(f"{path}: truncated: {declares} but the data "
                             f"ends after {done}.")
        done += got
    return data


def _read_header_bytes(f, n, path, offset):
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            raise ValueError(f"{path}: truncated: the file ends inside the "
                             f"IDX header, after {offset + len(data)} bytes.")
        data += chunk
    return data


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
