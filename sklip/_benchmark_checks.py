"""Checks of the benchmark's options, run before the first method trains.

:func:`sklip.benchmark.check_options` puts these together; it is the one
place both :func:`~sklip.benchmark.run_benchmark` (and the timing mode) and
the command line validate, so a bad value is refused with the same words
whether it came from Python or from ``sklip benchmark``. Every error is an
:class:`OptionError` that knows the parameter it is about; the command line
writes the option's name (``--pgd-eps``) where Python writes the
parameter's (``pgd_eps``).
"""

import numbers
import os
import zlib
from pathlib import Path

import numpy as np

from ._benchmark_data import load_data

__all__ = ["OptionError", "OptionTypeError", "check_int", "check_real",
           "check_device", "check_output_dir", "load_checked_data",
           "check_tile_memory", "check_radii", "check_eps_values",
           "check_methods", "check_attack_options", "check_path_options"]

#: Classes digits and MNIST promise: the digits 0-9.
N_CLASSES = 10

#: Features of each image data set (8x8 and 28x28 pixels).
N_FEATURES = {"digits": 64, "mnist": 784}

#: The benchmark's split of MNIST's test set (see ``_benchmark_data``).
MNIST_SPLIT = (8000, 2000)

#: Largest seed: numpy's seeds end at 2**32 - 1, and the polynomial task
#: seeds its test points with ``seed + 1``.
MAX_SEED = 2 ** 32 - 2


class OptionError(ValueError):
    """A bad option: ``parameter`` names it, ``problem`` says what is wrong.

    ``problem`` may refer to other parameters as ``{}`` fields, listed in
    ``refs``; :meth:`message` writes every name with ``name``.
    """

    def __init__(self, parameter, problem, *refs):
        self.parameter, self.problem, self.refs = parameter, problem, refs
        super().__init__(self.message())

    def message(self, name=str):
        """The error with each parameter written as ``name(parameter)``."""
        problem = self.problem.format(*map(name, self.refs)) if self.refs \
            else self.problem
        return f"{name(self.parameter)} {problem}"


class OptionTypeError(OptionError, TypeError):
    """An option of the wrong type."""


def _range_text(kind, low, high, low_open):
    """``"a positive integer"``, ``"a finite number > 0"``, ``"an integer in
    [0, 9]"``..."""
    article = "an" if kind == "integer" else "a finite"
    if high is None:
        if kind == "integer" and low == 1:
            return "a positive integer"
        return f"{article} {kind} {'>' if low_open else '>='} {low:g}"
    return (f"{article} {kind} in {'(' if low_open else '['}{low:g}, "
            f"{high:.10g}]")


def check_int(value, name, low=1, high=None):
    """``value`` as an int in ``[low, high]`` (``bool`` refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise OptionTypeError(name, f"must be an integer, got {value!r}.")
    if value < low or (high is not None and value > high):
        raise OptionError(name, f"must be "
                          f"{_range_text('integer', low, high, False)}, "
                          f"got {value!r}.")
    return int(value)


def check_real(value, name, low=0.0, high=None, low_open=True):
    """``value`` as a finite float in ``(low, high]`` (``[low, high]`` when
    not ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OptionTypeError(name, f"must be a number, got {value!r}.")
    value = float(value)
    too_low = value <= low if low_open else value < low
    if not np.isfinite(value) or too_low or (high is not None
                                             and value > high):
        raise OptionError(name, f"must be "
                          f"{_range_text('number', low, high, low_open)}, "
                          f"got {value!r}.")
    return value


def check_device(device, name="device"):
    """``device`` if torch knows it and this machine has it."""
    import torch

    if not isinstance(device, (str, torch.device)):
        raise OptionTypeError(name, f"must be a device name such as 'cpu' "
                              f"or 'cuda', got {device!r}.")
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise OptionError(name, f"must be cpu, cuda, cuda:N or mps, got "
                          f"{device!r}.") from None
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (parsed.index or 0) >= count:
            raise OptionError(name, f"{str(device)!r} is not available: this "
                              f"machine has {count} CUDA device(s).")
    elif parsed.type == "mps":
        if not torch.backends.mps.is_available():
            raise OptionError(name, f"{str(device)!r} is not available on "
                              f"this machine.")
    elif parsed.type != "cpu":
        raise OptionError(name, f"must be cpu, cuda, cuda:N or mps, got "
                          f"{device!r}.")
    return device


def _check_path(value, name):
    if not isinstance(value, (str, os.PathLike)) or str(value) == "":
        raise OptionTypeError(name, f"must be a folder path, got {value!r}.")
    return Path(value)


def check_output_dir(output_dir, name="output_dir"):
    """The folder as a Path, created, once a probe file could be written
    to it and removed; ``None`` stays ``None``."""
    if output_dir is None:
        return None
    folder = _check_path(output_dir, name)
    probe = folder / f".sklip-write-probe-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OptionError(name, f"{str(folder)!r} is not a writable folder: "
                          f"{exc.strerror or exc}.") from None
    return folder


def load_checked_data(dataset, data_dir, seed):
    """:func:`~sklip.benchmark.load_data` once the data are what the data
    set promises: enough images for the split, pixels in [0, 1] and the
    labels 0-9 (every one of them among the training images)."""
    if dataset != "mnist":
        if data_dir is not None:
            raise OptionError("data_dir", "only applies to {} mnist.",
                              "dataset")
        data = load_data(dataset, None, seed)
    else:
        data = _load_mnist(data_dir, seed)
    if dataset in N_FEATURES:
        _check_images(dataset, data, "data_dir" if dataset == "mnist"
                      else "dataset")
    return data


def _load_mnist(data_dir, seed):
    if data_dir is None:
        raise OptionError("data_dir", "is required with {} mnist: a folder "
                          "with the MNIST IDX files (t10k-*).", "dataset")
    folder = _check_path(data_dir, "data_dir")
    if not folder.is_dir():
        raise OptionError("data_dir", f"{str(folder)!r} is not a folder "
                          f"with the MNIST IDX files.")
    try:
        data = load_data("mnist", folder, seed)
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise OptionError("data_dir", f"does not hold a readable MNIST "
                          f"test split: {exc}") from None
    n_images = len(data[0]) + len(data[1])
    if n_images < sum(MNIST_SPLIT):
        raise OptionError("data_dir", f"{str(folder)!r} holds {n_images} "
                          f"MNIST images; the benchmark's split needs "
                          f"{sum(MNIST_SPLIT)} ({MNIST_SPLIT[0]} training, "
                          f"{MNIST_SPLIT[1]} test).")
    return data


def _check_images(dataset, data, name):
    X_train, X_test, y_train, y_test = data
    d = N_FEATURES[dataset]
    for X in (X_train, X_test):
        if X.ndim != 2 or X.shape[1] != d:
            raise OptionError(name, f"holds images of shape {X.shape[1:]}; "
                              f"{dataset} has {d} pixels per image.")
        if not (np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1):
            raise OptionError(name, f"holds pixels outside [0, 1] (from "
                              f"{X.min():g} to {X.max():g}).")
    labels = np.concatenate([y_train, y_test])
    if labels.dtype.kind not in "iu":
        raise OptionError(name, f"holds labels of type {labels.dtype}; "
                          f"{dataset} has integer classes 0-9.")
    bad = np.unique(labels[(labels < 0) | (labels >= N_CLASSES)])
    if bad.size:
        raise OptionError(name, f"holds labels {bad[:5].tolist()}"
                          f"{'...' if bad.size > 5 else ''} outside 0-9: "
                          f"{dataset} has the {N_CLASSES} classes 0-9.")
    missing = sorted(set(range(N_CLASSES)) - set(np.unique(y_train)))
    if missing:
        raise OptionError(name, f"has no training image of class(es) "
                          f"{missing}: {dataset} has the {N_CLASSES} "
                          f"classes 0-9.")


def _available_memory():
    """Bytes of memory free for a new process (``MemAvailable``), the
    physical memory where that is unknown, ``None`` where both are."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def check_tile_memory(tile, X, device, name="tile"):
    """Refuse a ``tile`` whose tiled training set does not fit in memory.

    The timing mode holds the tiled images (float32) and labels (int64)
    once on the host, where every estimator shares them; on a GPU the two
    hand-written loops each hold a copy there.
    """
    per_tile = X.shape[0] * (X.shape[1] * 4 + 8)
    needs = [("memory", 1, _available_memory())]
    if str(device).startswith("cuda"):
        import torch

        needs.append(("GPU memory", 2, torch.cuda.mem_get_info(device)[0]))
    for where, copies, free in needs:
        total = tile * per_tile * copies
        if free is not None and total > free:
            most = free // (per_tile * copies)
            raise OptionError(name, f"{tile} repeats the {X.shape[0]} "
                              f"training images {tile} times: about "
                              f"{total / 2 ** 30:.3g} GiB, more than the "
                              f"{free / 2 ** 30:.3g} GiB of {where} free "
                              f"(at most {most} fits).")


def check_radii(values, name, distinct=False):
    """``values`` (a number or a sequence) as a non-empty tuple of finite
    radii >= 0."""
    if isinstance(values, (str, bytes, dict)) or np.ndim(values) > 1:
        raise OptionTypeError(name, f"must be a number or a sequence of "
                              f"numbers, got {values!r}.")
    values = (values,) if np.ndim(values) == 0 else tuple(values)
    if not values:
        raise OptionError(name, "must hold at least one radius.")
    radii = tuple(check_real(eps, name, low=0.0, low_open=False)
                  for eps in values)
    # Each radius names a column (certified@0.1): two equal ones would
    # overwrite each other.
    labels = [f"{eps:g}" for eps in radii]
    if distinct and len(set(labels)) < len(labels):
        twice = next(x for x in labels if labels.count(x) > 1)
        raise OptionError(name, f"holds the radius {twice} twice.")
    return radii


def check_eps_values(eps_values, attacks, name="eps_values"):
    """``eps_values`` (attack -> curve radii) with every attack known and
    every radius checked; ``None`` stays ``None``."""
    if eps_values is None:
        return None
    if not isinstance(eps_values, dict):
        raise OptionTypeError(name, f"must be a dict attack -> radii, got "
                              f"{eps_values!r}.")
    unknown = sorted(set(eps_values) - set(attacks), key=str)
    if unknown:
        raise OptionError(name, f"has unknown attack(s) {unknown}; choose "
                          f"from {list(attacks)}.")
    checked = {}
    for attack, radii in eps_values.items():
        try:
            checked[attack] = np.asarray(check_radii(radii, name))
        except OptionError as exc:
            raise type(exc)(name, f"of {attack!r} {exc.problem}") from None
    return checked


def check_methods(methods, known, regression=None, classification_only=()):
    """``methods`` as a tuple of ``known``, distinct names; ``None`` gives
    all of them, or all of ``regression`` (the methods of a regression
    task, which refuses ``classification_only``)."""
    if methods is None:
        return tuple(regression or known)
    if isinstance(methods, str) or not np.iterable(methods):
        raise OptionTypeError("methods", f"must be a sequence of method "
                              f"names, got {methods!r}.")
    methods = tuple(methods)
    unknown = [m for m in methods if m not in known]
    if unknown:
        raise OptionError("methods", f"holds unknown method(s) {unknown}; "
                          f"choose from {list(known)}.")
    if not methods:
        raise OptionError("methods", f"must name at least one of "
                          f"{list(known)}.")
    twice = sorted({m for m in methods if methods.count(m) > 1})
    if twice:
        raise OptionError("methods", f"names {twice} more than once.")
    classifiers = [m for m in methods if m in classification_only]
    if regression and classifiers:
        raise OptionError(
            "methods", f"holds {classifiers}, which need class labels; the "
            f"polynomial task is a regression. Choose from "
            f"{list(regression)}.")
    return methods


def check_attack_options(dataset, options, defaults):
    """The radii and budgets of the attacks, checked, with the data set's
    ``defaults`` filled in (none on the polynomial task, which has no
    attacks)."""
    radii = ("fgsm_eps", "pgd_eps", "noise_sigma", "certify_eps",
             "eps_values")
    checked = {
        "pgd_n_iter": check_int(options.get("pgd_n_iter", 100), "pgd_n_iter"),
        "square_queries": check_int(options.get("square_queries", 5000),
                                    "square_queries"),
        "curve_points": check_int(options.get("curve_points", 500),
                                  "curve_points")}
    if dataset == "polynomial":
        given = [k for k in radii if options.get(k) is not None]
        if given:
            raise OptionError(given[0], "only applies to classification: "
                              "{} digits or mnist.", "dataset")
        return {"eps_values": None, **checked}
    value = {k: options.get(k) if options.get(k) is not None
             else defaults.get(k) for k in radii}
    # L∞ radii beyond 1 and L2 radii beyond the diagonal of [0, 1]^d reach
    # every image: no attack is weaker than that.
    checked["fgsm_eps"] = check_real(value["fgsm_eps"], "fgsm_eps", high=1.0)
    checked["pgd_eps"] = check_real(value["pgd_eps"], "pgd_eps",
                                    high=float(np.sqrt(N_FEATURES[dataset])))
    checked["noise_sigma"] = check_real(value["noise_sigma"], "noise_sigma")
    checked["certify_eps"] = check_radii(value["certify_eps"], "certify_eps",
                                         distinct=True)
    checked["eps_values"] = check_eps_values(
        value["eps_values"], ("fgsm", "pgd", "worst_case", "noise"))
    return checked


def check_path_options(options, epochs):
    """``path_points`` (at least 2: one point is no path) and
    ``path_epochs`` of the path mode; ``path_epochs=None`` gives a third of
    ``epochs`` (at least 1), the epochs of each warm-started point."""
    points = options.get("path_points")
    continued = options.get("path_epochs")
    return {
        "path_points": check_int(6 if points is None else points,
                                 "path_points", low=2),
        "path_epochs": (max(1, epochs // 3) if continued is None
                        else check_int(continued, "path_epochs"))}


def check_n_jobs(n_jobs, device):
    """Processes measuring the trained methods: ``None`` is every core on
    the CPU and one process on an accelerator, which the processes would
    share."""
    if n_jobs is None:
        return -1 if str(device) == "cpu" else 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) \
            or n_jobs == 0:
        raise OptionError("n_jobs", f"must be a non-zero integer (-1: every "
                          f"core) or None, got {n_jobs!r}.")
    return int(n_jobs)
