"""A bounded, streaming reader of IDX files (the format of MNIST).

The header (magic number, dtype, dimensions) is read and checked from the
first bytes of the (decompressed) stream before anything else; the size it
declares is computed in Python integers and capped; the data are read in
chunks up to that size, so that memory follows what the file holds, not what
its header claims. Every malformed file raises a ``ValueError`` that names
it.
"""

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["read_idx"]

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
