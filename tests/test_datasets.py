"""Data loaders: digits, MNIST IDX files (and their download), polynomial."""

import gzip

import numpy as np
import pytest

from sklip.datasets import (fetch_mnist, load_digits_scaled, load_mnist,
                            make_polynomial, polynomial, read_idx)

from .conftest import MNIST_DIR


def test_digits_scaled_to_unit_interval():
    X, y = load_digits_scaled()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def test_real_mnist_test_split():
    X, y = load_mnist(MNIST_DIR)
    assert X.shape == (10000, 784) and X.dtype == np.float32
    assert 0.0 <= X.min() and X.max() == 1.0
    assert np.bincount(y).min() > 800  # every digit is well represented
    images, _ = load_mnist(MNIST_DIR, flatten=False)
    assert images.shape == (10000, 1, 28, 28)


def test_fetch_mnist_downloads_then_loads(tmp_path):
    # The download code, pointed at the local copy instead of the internet.
    url = MNIST_DIR.resolve().as_uri() + "/"
    folder = fetch_mnist(tmp_path / "mnist", url=url)
    X, y = load_mnist(folder)
    X_ref, y_ref = load_mnist(MNIST_DIR)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_uncompressed_idx_and_bad_files(tmp_path):
    with gzip.open(MNIST_DIR / "t10k-labels-idx1-ubyte.gz") as f:
        raw = f.read()
    (tmp_path / "labels").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "labels"),
                                  read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz"))
    (tmp_path / "broken").write_bytes(b"not an idx file")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "broken")
    (tmp_path / "short").write_bytes(raw[:100])
    with pytest.raises(ValueError, match="header declares"):
        read_idx(tmp_path / "short")
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        load_mnist(tmp_path)


def test_polynomial_task():
    X, y = make_polynomial(500, random_state=0)
    assert X.shape == (500, 1)
    assert np.all((np.abs(X) >= 2) & (np.abs(X) <= 3))
    np.testing.assert_allclose(y, polynomial(X[:, 0], 1 / polynomial(3.0)),
                               rtol=1e-5)
    assert y.max() <= 1.0 + 1e-6
    X2, _ = make_polynomial(500, random_state=0)
    np.testing.assert_array_equal(X, X2)
