"""The Lipschitz monitor: the same bound as lipschitz_lower_bound, no
training data kept, and optional."""

import pickle

import numpy as np
import pytest

from sklip import LipschitzClassifier
from sklip.callbacks import LipschitzMonitor
from sklip.lipschitz import lipschitz_lower_bound


def test_history_bound_is_lipschitz_lower_bound(digits):
    X, _, y, _ = digits
    X, y = X[:400], y[:400]  # under n_samples: the monitor uses every row
    clf = LipschitzClassifier(regularizer="clip", max_epochs=2,
                              hidden_layer_sizes=(16,), random_state=0)
    clf.fit(X, y)
    expected = lipschitz_lower_bound(clf, X, n_pairs=32, n_iter=5,
                                     random_state=0)
    assert clf.history[-1, "lipschitz"] == pytest.approx(expected, rel=1e-12)


def test_monitor_settings_are_its_parameters(digits):
    X, _, y, _ = digits
    X, y = X[:300], y[:300]
    monitor = LipschitzMonitor(n_pairs=8, n_iter=2, random_state=3)
    clf = LipschitzClassifier(max_epochs=1, hidden_layer_sizes=(8,),
                              random_state=0,
                              callbacks__lipschitz=monitor).fit(X, y)
    expected = lipschitz_lower_bound(clf, X, n_pairs=8, n_iter=2,
                                     random_state=3)
    assert clf.history[-1, "lipschitz"] == pytest.approx(expected, rel=1e-12)


def test_monitor_keeps_no_sample_after_training(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(max_epochs=1, hidden_layer_sizes=(8,),
                              random_state=0).fit(X, y)
    monitor = dict(clf.callbacks_)["lipschitz"]
    assert monitor.sample_ is None
    assert "sample_" not in pickle.loads(pickle.dumps(monitor)).__dict__


def test_monitor_can_be_switched_off(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(max_epochs=2, hidden_layer_sizes=(8,),
                              random_state=0, callbacks__lipschitz=None)
    clf.fit(X[:200], y[:200])
    assert "lipschitz" not in clf.history[-1]
    assert np.isfinite(clf.history[-1, "train_loss"])
