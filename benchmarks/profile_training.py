"""Where a training epoch's time goes, per method (cProfile).

Trains every method of ``sklip benchmark --timing`` on the MNIST benchmark
split (8,000 images, MLP 784-200-80-10, batch 128) for one untimed epoch,
then profiles ``--epochs`` more with cProfile and splits their time into:

- ``forward + penalty``: the regulariser's ``terms`` (the training forward
  pass and everything the penalty adds: pairs, ascent steps, input
  gradients, anchors); for standard training the forward pass alone;
- ``data loss``: the criterion on the predictions;
- ``backward``: the training step's backward pass (through the penalty's
  graph too);
- ``optimizer``: Adam's step;
- ``batching``: drawing the batches;
- ``other``: skorch's loop, callbacks and the history.

Each row also names the three functions under ``terms`` with the most time
of their own. cProfile adds a constant cost per Python call, so the Python
parts (``other``, ``batching``) read larger than in an unprofiled epoch.
Run it alone on the machine::

    OMP_NUM_THREADS=1 python benchmarks/profile_training.py \\
        [--data-dir ../shared/data/mnist] [--epochs 3]
"""

import argparse
import cProfile
import pstats
from pathlib import Path

import torch

from sklip import LipschitzClassifier
from sklip.benchmark import METHODS, load_data, method_params

MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" \
    / "mnist"

# (part, file fragment, function name): the first match of a profiled
# function names its part; "terms" covers every regulariser's entry point.
PARTS = [
    ("forward + penalty", "sklip/regularizers/", "terms"),
    ("forward + penalty", "skorch/net.py", "infer"),
    ("data loss", "sklip/_training_loop.py", "_data_loss"),
    ("backward", "sklip/_training_loop.py", "_backward"),
    ("batching", "sklip/_batches.py", "__iter__"),
]
COLUMNS = ["forward + penalty", "data loss", "backward", "optimizer",
           "batching", "other"]


def _cumulative(stats, fragment, name):
    return sum(entry[3] for (path, _, func), entry in stats.stats.items()
               if func == name and fragment in path.replace("\\", "/"))


def _inside_terms(stats, count=3):
    """The functions with the most own time among those called, directly
    or not, from a regulariser's ``terms``."""
    callees, frontier = set(), [key for key in stats.stats
                                if key[2] == "terms"
                                and "sklip/regularizers/" in key[0]]
    while frontier:
        key = frontier.pop()
        for callee, entry in stats.stats.items():
            if key in entry[4] and callee not in callees:
                callees.add(callee)
                frontier.append(callee)
    own = sorted(((stats.stats[key][2], key) for key in callees),
                 reverse=True)[:count]
    return ", ".join(f"{_short(key)} {seconds:.2f}s"
                     for seconds, key in own)


def _short(key):
    """``torch._C._nn.linear`` for ``<built-in method ...linear>``, the
    autograd engine's run as ``autograd``, and a Python function with its
    module (``modules.forward``: several classes have a ``forward``)."""
    path, _, name = key
    if "run_backward" in name:
        return "autograd"
    if path != "~":  # a Python function, not a built-in
        return f"{Path(path).stem}.{name}"
    return name.removeprefix("<built-in method ").removeprefix(
        "<method '").split("'")[0].rstrip(">")


def profile(method, X, y, epochs):
    """Seconds per part of ``epochs`` profiled epochs of one method."""
    est = LipschitzClassifier(hidden_layer_sizes=(200, 80), max_epochs=1,
                              random_state=0, callbacks__lipschitz=None,
                              callbacks__collapse=None, **method_params(method, 2.0))
    est.fit(X, y)  # initialisation, untimed
    est.set_params(max_epochs=epochs)
    profiler = cProfile.Profile()
    profiler.runcall(est.partial_fit, X, y)
    stats = pstats.Stats(profiler)
    total = _cumulative(stats, "skorch/net.py", "fit_loop")
    parts = dict.fromkeys(COLUMNS, 0.0)
    for part, fragment, name in PARTS:
        parts[part] += _cumulative(stats, fragment, name)
    # skorch runs the training step as the closure of the optimiser's
    # step: Adam's own work is its step less that closure.
    parts["optimizer"] = (_cumulative(stats, "torch/optim/adam.py", "step")
                          - _cumulative(stats, "sklip/_training_loop.py",
                                        "train_step_single"))
    parts["other"] = total - sum(parts.values())
    return total / epochs, parts, _inside_terms(stats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(MNIST_DIR))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, _, y, _ = load_data("mnist", args.data_dir)
    header = "".join(f"{c:>18}" for c in COLUMNS)
    print(f"{'method':<18}{'s/epoch':>8}{header}  most own time under terms")
    for method in args.methods:
        per_epoch, parts, inside = profile(method, X, y, args.epochs)
        total = sum(parts.values())
        shares = "".join(f"{100 * parts[c] / total:17.0f}%" for c in COLUMNS)
        print(f"{method:<18}{per_epoch:8.3f}{shares}  {inside}", flush=True)


if __name__ == "__main__":
    main()
