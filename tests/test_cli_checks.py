"""``sklip benchmark`` refuses every bad option in one line, before training.

The training is replaced by a function that fails the test if it is ever
called: a refused option must be found before the first method trains.
"""

import gzip
import struct

import numpy as np
import pytest

from sklip.__main__ import main
from sklip.benchmark import check_options, run_benchmark
from sklip.timing import run_timing, time_methods

from .conftest import MNIST_DIR


def _write_idx(path, array):
    """An IDX file (gzip-compressed) of a uint8 array."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _mnist_folder(folder, n_images, labels):
    folder.mkdir()
    _write_idx(folder / "t10k-images-idx3-ubyte.gz",
               np.zeros((n_images, 28, 28), dtype=np.uint8))
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz",
               np.resize(labels, n_images))
    return folder


@pytest.fixture(scope="module")
def bad_data(tmp_path_factory):
    """Folders of wrong data: too few images, labels 10-19, one class,
    a file in place of the output folder."""
    root = tmp_path_factory.mktemp("bad")
    (root / "a_file").write_text("not a folder")
    (root / "empty").mkdir()
    _mnist_folder(root / "few", 100, np.arange(10))
    _mnist_folder(root / "labels_10_19", 10000, np.arange(10, 20))
    _mnist_folder(root / "one_class", 10000, np.zeros(1))
    return root


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    """Fail on any training: every case here must stop before it."""
    def train(*args, **kwargs):
        raise AssertionError("trained before the options were checked")

    monkeypatch.setattr("sklip.benchmark.fit_all", train)
    monkeypatch.setattr("sklip.timing.time_methods", train)


MNIST = ["--dataset", "mnist", "--data-dir"]

BAD_OPTIONS = [
    # option named in the message, arguments ({root}: the bad data folder)
    ("--pgd-eps", ["--pgd-eps", "-1"]),
    ("--pgd-eps", ["--pgd-eps", "0"]),
    ("--pgd-eps", ["--pgd-eps", "inf"]),
    ("--pgd-eps", ["--pgd-eps", "nan"]),
    ("--pgd-eps", ["--pgd-eps", "9"]),  # beyond digits' diagonal, 8
    ("--fgsm-eps", ["--fgsm-eps", "-1"]),
    ("--fgsm-eps", ["--fgsm-eps", "1.5"]),
    ("--fgsm-eps", ["--fgsm-eps", "-inf"]),
    ("--noise-sigma", ["--noise-sigma", "-1"]),
    ("--noise-sigma", ["--noise-sigma", "0"]),
    ("--noise-sigma", ["--noise-sigma", "1e400"]),
    ("--pgd-n-iter", ["--pgd-n-iter", "0"]),
    ("--pgd-n-iter", ["--pgd-n-iter", "2.5"]),
    ("--square-queries", ["--square-queries", "-5"]),
    ("--certify-eps", ["--certify-eps", "-0.1"]),
    ("--certify-eps", ["--certify-eps", "0.1", "nan"]),
    ("--certify-eps", ["--certify-eps", "0.1", "0.1"]),
    ("--epochs", ["--epochs", "0"]),
    ("--epochs", ["--epochs", "ten"]),
    ("--seed", ["--seed", "-1"]),
    ("--seed", ["--seed", str(2 ** 32)]),
    ("--methods", ["--methods", "none,lasso"]),
    ("--methods", ["--methods", ","]),
    ("--methods", ["--methods", "clip", "clip"]),
    ("--methods", ["--dataset", "polynomial", "--methods", "margin"]),
    ("--dataset", ["--dataset", "cifar"]),
    ("--device", ["--device", "toaster"]),
    ("--device", ["--device", "cuda:99"]),
    ("--pgd-eps", ["--dataset", "polynomial", "--pgd-eps", "1"]),
    ("--output", ["--output", "{root}/a_file"]),
    ("--output", ["--output", "{root}/a_file/results"]),
    ("--data-dir", ["--data-dir", "{root}/few"]),  # digits needs none
    ("--data-dir", ["--dataset", "mnist"]),
    ("--data-dir", MNIST + ["{root}/missing"]),
    ("--data-dir", MNIST + ["{root}/empty"]),
    ("--data-dir", MNIST + ["{root}/a_file"]),
    ("--data-dir", MNIST + ["{root}/few"]),
    ("--data-dir", MNIST + ["{root}/labels_10_19"]),
    ("--data-dir", MNIST + ["{root}/one_class"]),
    ("--tile", ["--tile", "2"]),  # without --timing
    ("--tile", ["--timing", "--tile", "0"]),
    ("--tile", ["--timing", "--tile", "1000000"]),
    ("--timing", ["--timing", "--dataset", "polynomial"]),
    ("--epochs", ["--timing", "--epochs", "-2"]),
    ("--seed", ["--timing", "--seed", "-3"]),
    ("--device", ["--timing", "--device", "cuda:99"]),
    ("--methods", ["--timing", "--methods", "lasso"]),
    ("--data-dir", ["--timing"] + MNIST + ["{root}/labels_10_19"]),
]


@pytest.mark.parametrize("option, argv", BAD_OPTIONS,
                         ids=[" ".join(a) for _, a in BAD_OPTIONS])
def test_bad_option_is_one_line_before_training(option, argv, bad_data,
                                                tmp_path, monkeypatch,
                                                capsys):
    monkeypatch.chdir(tmp_path)  # the default --output lands here
    argv = [a.format(root=bad_data) for a in argv]
    with pytest.raises(SystemExit) as info:
        main(["benchmark", "--no-progress", *argv])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sklip benchmark: error: ")
    assert option in lines[0]


def test_wrong_mnist_data_are_named(bad_data, capsys):
    with pytest.raises(SystemExit):
        main(["benchmark", *MNIST, str(bad_data / "labels_10_19")])
    assert "0-9" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["benchmark", *MNIST, str(bad_data / "few")])
    assert "holds 100 MNIST images" in capsys.readouterr().err


@pytest.mark.parametrize("change, message", [
    (lambda X, y: (X, y + 10), "labels [10, 11, 12, 13, 14]... outside 0-9"),
    (lambda X, y: (X, y.astype(float)), "integer classes"),
    (lambda X, y: (X * 2, y), "pixels outside [0, 1]"),
    (lambda X, y: (X[:, :10], y), "64 pixels per image"),
])
def test_benchmark_checks_the_data_itself(change, message, monkeypatch):
    # Whatever the reader lets through, the benchmark refuses data that
    # are not what the data set promises.
    from sklip._benchmark_data import load_data

    def wrong(*args):
        X_train, X_test, y_train, y_test = load_data(*args)
        return (*change(X_train, y_train), *change(X_test, y_test))

    def reorder(X_train, y_train, X_test, y_test):
        return X_train, X_test, y_train, y_test

    monkeypatch.setattr("sklip._benchmark_checks.load_data",
                        lambda *args: reorder(*wrong(*args)))
    with pytest.raises(ValueError, match="dataset") as info:
        run_benchmark("digits", ["none"], progress=False)
    assert message in str(info.value)


class _Trained(Exception):
    """Raised by the stub training: the checks were passed."""


def test_good_options_reach_the_training(tmp_path, monkeypatch):
    calls = []

    def train(methods, *args):
        calls.append(methods)
        raise _Trained

    monkeypatch.setattr("sklip.benchmark.fit_all", train)
    with pytest.raises(_Trained):
        main(["benchmark", *MNIST, str(MNIST_DIR), "--methods", "none,tv",
              "--pgd-eps", "28", "--fgsm-eps", "1", "--certify-eps", "0",
              "--seed", str(2 ** 32 - 2), "--output",
              str(tmp_path / "new" / "folder"), "--no-progress"])
    assert calls == [("none", "tv")]
    # The output folder was created and the probe file removed.
    assert list((tmp_path / "new" / "folder").iterdir()) == []


@pytest.mark.parametrize("kwargs, error, parameter", [
    ({"pgd_eps": -1}, ValueError, "pgd_eps"),
    ({"fgsm_eps": float("inf")}, ValueError, "fgsm_eps"),
    ({"noise_sigma": "1"}, TypeError, "noise_sigma"),
    ({"seed": 1.5}, TypeError, "seed"),
    ({"epochs": True}, TypeError, "epochs"),
    ({"curve_points": 0}, ValueError, "curve_points"),
    ({"certify_eps": []}, ValueError, "certify_eps"),
    ({"eps_values": {"pgdd": [0, 1]}}, ValueError, "eps_values"),
    ({"eps_values": {"pgd": [0, -1]}}, ValueError, "eps_values"),
    ({"methods": "clip"}, TypeError, "methods"),
    ({"progress": "yes"}, TypeError, "progress"),
    ({"output_dir": 3}, TypeError, "output_dir"),
])
def test_api_names_the_parameter(kwargs, error, parameter):
    kwargs = {"dataset": "digits", "progress": False, **kwargs}
    with pytest.raises(error, match=parameter) as info:
        run_benchmark(**kwargs)
    assert info.value.parameter == parameter


def test_timing_api_checks_like_the_cli(monkeypatch):
    with pytest.raises(ValueError, match="tile"):
        run_timing("digits", ["none"], tile=10 ** 7)
    with pytest.raises(ValueError, match="dataset must be digits or mnist"):
        run_timing("polynomial")
    with pytest.raises(TypeError, match="unexpected option"):
        check_options("digits", timing=True, pgd_eps=1.0)
    monkeypatch.undo()  # the real time_methods, which checks its own
    X, y = np.zeros((4, 2), np.float32), np.zeros(4, np.int64)
    params = {"none": {"regularizer": "none"}}
    for kwargs, parameter in [({"epochs": 0}, "epochs"),
                              ({"lr": float("nan")}, "lr"),
                              ({"batch_size": -1}, "batch_size"),
                              ({"hidden": ()}, "hidden")]:
        with pytest.raises((ValueError, TypeError), match=parameter):
            time_methods(X, y, ["none"], params, **kwargs)
    with pytest.raises(ValueError, match="method_params"):
        time_methods(X, y, ["clip"], params)
