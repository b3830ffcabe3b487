"""sklip estimators through Hugging Face Accelerate (skorch's AccelerateMixin).

On the CPU: every regulariser trains through the accelerator's code path
(prepared module, optimizer and data loader, ``accelerator.backward``) and
gives the network of the unaccelerated estimator; the fitted estimator
clones and pickles. A slow test launches two processes with
``torch.distributed.run`` (the gloo backend on 127.0.0.1) and checks that
data-parallel training with each regulariser ends with identical weights
on both.
"""

import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.metrics import pgd_accuracy_scorer

accelerate = pytest.importorskip("accelerate")
from sklip.accelerate import (AcceleratedLipschitzClassifier,  # noqa: E402
                              AcceleratedLipschitzRegressor)

REGULARIZERS = ["none", "clip", "sumlip", "tv", "ptv", "adversarial"]
FAST = dict(max_epochs=4, hidden_layer_sizes=(32,), batch_size=64, lr=0.01,
            reg_lambda=0.1,
            random_state=0)


@pytest.fixture(scope="module")
def accelerator():
    return accelerate.Accelerator(cpu=True)


@pytest.fixture(scope="module")
def small(digits):
    X, X_test, y, y_test = digits
    return X[:500], X_test[:200], y[:500], y_test[:200]


@pytest.mark.parametrize("regularizer", REGULARIZERS)
def test_classifier_trains_every_regularizer(regularizer, accelerator, small):
    X, X_test, y, y_test = small
    clf = AcceleratedLipschitzClassifier(
        accelerator=accelerator, regularizer=regularizer, **FAST).fit(X, y)
    assert clf.device is None  # the accelerator places everything
    assert not clf._wrapped_with_accelerator
    assert type(clf.module_).__name__ == "MLP"  # unwrapped after training
    assert clf.score(X_test, y_test) > 0.6  # chance: 0.1
    if regularizer != "none":
        assert all(p > 0 for p in clf.history[:, "penalty"])
    # One CPU process: the accelerator's path computes what the plain
    # estimator computes, from the same batches.
    plain = LipschitzClassifier(regularizer=regularizer, **FAST).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X_test),
                                  plain.predict_proba(X_test))


@pytest.mark.parametrize("regularizer", ["clip", "tv"])
def test_regressor(regularizer, accelerator, small):
    X, X_test, y, y_test = small
    reg = AcceleratedLipschitzRegressor(
        accelerator=accelerator, regularizer=regularizer, **FAST).fit(X, y / 9)
    assert reg.score(X_test, y_test / 9) > 0.3
    plain = LipschitzRegressor(regularizer=regularizer, **FAST).fit(X, y / 9)
    np.testing.assert_array_equal(reg.predict(X_test), plain.predict(X_test))


def test_backward_goes_through_the_accelerator(accelerator, small,
                                               monkeypatch):
    X, _, y, _ = small
    calls = []
    original = type(accelerator).backward

    def backward(self, loss, **kwargs):
        calls.append(float(loss.detach()))
        return original(self, loss, **kwargs)

    monkeypatch.setattr(type(accelerator), "backward", backward)
    clf = AcceleratedLipschitzClassifier(
        accelerator=accelerator, regularizer="tv", **FAST).fit(X, y)
    n_batches = -(-len(X) // FAST["batch_size"])
    assert len(calls) == FAST["max_epochs"] * n_batches
    # The objective backpropagated is loss + λ·penalty, not the loss alone.
    assert calls[-1] == pytest.approx(clf.history[-1, "batches"][-1]
                                      ["train_loss"])


def test_clone_and_pickle_round_trip(accelerator, small):
    X, X_test, y, _ = small
    clf = AcceleratedLipschitzClassifier(
        accelerator=accelerator, regularizer="clip", **FAST).fit(X, y)
    params = clf.get_params(deep=False)
    assert params["accelerator"] is accelerator
    assert params["callbacks__print_log__sink"] == "auto"  # left as given
    restored = pickle.loads(pickle.dumps(clf))
    assert restored.device is None
    np.testing.assert_array_equal(restored.predict_proba(X_test),
                                  clf.predict_proba(X_test))
    twin = clone(clf)
    assert not hasattr(twin, "module_")
    np.testing.assert_array_equal(twin.fit(X, y).predict_proba(X_test),
                                  clf.predict_proba(X_test))
    # An unfitted copy that travelled through pickle (a joblib worker)
    # still trains: skorch's unpickling would have set device="cpu".
    unfitted = pickle.loads(pickle.dumps(clone(clf)))
    assert unfitted.device is None
    np.testing.assert_array_equal(unfitted.fit(X, y).predict_proba(X_test),
                                  clf.predict_proba(X_test))


def test_grid_search(accelerator, small):
    X, _, y, _ = small
    search = GridSearchCV(
        AcceleratedLipschitzClassifier(accelerator=accelerator, **FAST),
        {"regularizer": ["clip", "tv"]}, cv=2).fit(X, y)
    assert search.best_score_ > 0.6


def test_in_a_fresh_process(accelerator, small):
    """``import sklip`` needs no accelerate, and an accelerator pickled to
    another process (as joblib or Dask would) is refused with a clear
    error. One subprocess for both: starting one costs seconds."""
    X, _, y, _ = small
    clf = AcceleratedLipschitzClassifier(accelerator=accelerator, **FAST)
    code = textwrap.dedent("""
        import pickle, sys
        import sklip, sklip.metrics, sklip.lipschitz
        print("accelerate imported:", "accelerate" in sys.modules)
        clf, X, y = pickle.loads(sys.stdin.buffer.read())
        try:
            clf.fit(X, y)
        except RuntimeError as exc:
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", code],
                         input=pickle.dumps((clf, X[:50], y[:50])),
                         capture_output=True, check=True).stdout.decode()
    assert "accelerate imported: False" in out
    assert "the accelerator was created in another process" in out


def test_robustness_scorer_on_accelerated_estimator(accelerator, small):
    X, X_test, y, y_test = small
    clf = AcceleratedLipschitzClassifier(accelerator=accelerator,
                                         **FAST).fit(X, y)
    plain = LipschitzClassifier(**FAST).fit(X, y)
    scorer = pgd_accuracy_scorer(eps=1.0, n_iter=3)
    assert scorer(clf, X_test, y_test) == scorer(plain, X_test, y_test)


def test_silent_unless_verbose(accelerator, small, capsys):
    X, _, y, _ = small
    AcceleratedLipschitzClassifier(accelerator=accelerator, **FAST).fit(X, y)
    assert capsys.readouterr().out == ""
    AcceleratedLipschitzClassifier(accelerator=accelerator, verbose=1,
                                   **FAST).fit(X, y)
    assert "train_loss" in capsys.readouterr().out


def test_callback_parameters_keep_the_sink_auto(accelerator, small, capsys):
    # Setting a callback parameter rebuilds the callbacks; AccelerateMixin
    # would then replace the sink "auto" for good (and print whatever
    # verbose says).
    X, _, y, _ = small
    clf = AcceleratedLipschitzClassifier(accelerator=accelerator, **FAST)
    clf.fit(X, y)
    clf.set_params(callbacks__print_log__keys_ignored=["dur"])
    assert clf.get_params(deep=False)["callbacks__print_log__sink"] == "auto"
    clf.partial_fit(X, y)
    assert capsys.readouterr().out == ""
    clf.set_params(verbose=1, callbacks__print_log__keys_ignored=None)
    clf.partial_fit(X, y)
    assert "train_loss" in capsys.readouterr().out
    assert clf.get_params(deep=False)["callbacks__print_log__sink"] == "auto"
    # A sink set by the user is kept.
    lines = []
    clf.set_params(callbacks__print_log__sink=lines.append)
    clf.partial_fit(X, y)
    assert clf.get_params(deep=False)["callbacks__print_log__sink"] == lines.append
    assert lines and "train_loss" in lines[0]


def test_dataset_input(accelerator, small):
    X, X_test, y, _ = small

    class Pairs(torch.utils.data.Dataset):
        def __len__(self):
            return len(X)

        def __getitem__(self, index):
            return X[index].astype(np.float64), y[index]

    clf = AcceleratedLipschitzClassifier(
        accelerator=accelerator, regularizer="sumlip", classes=range(10),
        **FAST).fit(Pairs())
    plain = LipschitzClassifier(regularizer="sumlip", **FAST).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X_test),
                                  plain.predict_proba(X_test))


# ----------------------------------------------------------------------
# Two processes, data parallel
# ----------------------------------------------------------------------
_DDP_SCRIPT = textwrap.dedent('''
    import json, sys
    import numpy as np
    import torch
    from accelerate import Accelerator
    from sklip.accelerate import AcceleratedLipschitzClassifier
    from sklip.datasets import load_digits_scaled

    torch.set_num_threads(1)
    out = sys.argv[1]
    accelerator = Accelerator(cpu=True)
    X, y = load_digits_scaled()
    X, y = X[:400], y[:400]
    result = {"num_processes": accelerator.num_processes,
              "distributed_type": str(accelerator.distributed_type)}
    for regularizer in sys.argv[2:]:
        clf = AcceleratedLipschitzClassifier(
            accelerator=accelerator, regularizer=regularizer,
            # the discrepancy rule: λ must move the same way everywhere
            reg_lambda=0.1, target_accuracy=0.5, reg_lambda_step=0.02,
            reg_lambda_update="batch", max_epochs=3,
            hidden_layer_sizes=(16,), batch_size=32, lr=0.01,
            random_state=0).fit(X, y)
        weights = torch.cat([p.detach().flatten()
                             for p in clf.module_.parameters()])
        result[regularizer] = {
            "weights": weights.tolist(),
            "reg_lambda": clf.history[-1, "batches", :, "reg_lambda"],
            "batches": len(clf.history[-1, "batches"]),
            "n_predictions": len(clf.predict(X)),
            "score": clf.score(X, y)}
    with open(f"{out}/rank{accelerator.process_index}.json", "w") as f:
        json.dump(result, f)
''')


@pytest.mark.slow
def test_two_process_data_parallel_training(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(_DDP_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone",
         "--nproc_per_node", "2", str(script), str(tmp_path),
         *REGULARIZERS],
        capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rank0, rank1 = (json.loads((tmp_path / f"rank{i}.json").read_text())
                    for i in (0, 1))
    assert rank0["num_processes"] == 2
    assert rank0["distributed_type"] == "DistributedType.MULTI_CPU"
    for regularizer in REGULARIZERS:
        a, b = rank0[regularizer], rank1[regularizer]
        # Gradients (TV's double backpropagation included) were averaged:
        # the two processes, which saw different halves of every epoch,
        # end with the same network.
        assert a["weights"] == b["weights"], regularizer
        assert a["reg_lambda"] == b["reg_lambda"], regularizer
        # Each process ran half of the 13 batches of 32 (7, padded).
        assert a["batches"] == 7, regularizer
        # Predictions are gathered from both processes, once each.
        assert a["n_predictions"] == b["n_predictions"] == 400
        assert a["score"] == b["score"] > 0.3, regularizer


@pytest.mark.parametrize("Accelerated, Plain", [
    (AcceleratedLipschitzClassifier, LipschitzClassifier),
    (AcceleratedLipschitzRegressor, LipschitzRegressor)])
def test_weighted_fit_matches_the_unaccelerated_one(Accelerated, Plain,
                                                    accelerator, small):
    X, _, y, _ = small
    weights = np.where(y < 5, 1.0, 0.25)
    if Plain is LipschitzRegressor:
        y = (y / 9).astype(np.float32)
    accelerated = Accelerated(accelerator=accelerator, **FAST).fit(
        X, y, sample_weight=weights)
    plain = Plain(**FAST).fit(X, y, sample_weight=weights)
    unweighted = Plain(**FAST).fit(X, y)
    np.testing.assert_allclose(accelerated.predict(X), plain.predict(X),
                               rtol=1e-4, atol=1e-4)
    assert not np.allclose(plain.predict(X), unweighted.predict(X))
