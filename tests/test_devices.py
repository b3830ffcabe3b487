"""Everything runs end to end on the estimator's device: training with
every regulariser and a regressor, attacks, scorers, Lipschitz estimates
and certified accuracy.

The same checks run on the CPU in every test run and on ``cuda`` wherever
an NVIDIA GPU is present (CI has none; ``pytest tests/test_devices.py`` on a
GPU machine is the check of ``device="cuda"``).
"""

import numpy as np
import pytest
import torch

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.benchmark import method_params
from sklip.attacks import (APGDAttack, FGSMAttack, NoiseAttack, PGDAttack,
                           SquareAttack, WorstCaseAttack)
from sklip.lipschitz import (certified_accuracy, lipschitz_lower_bound,
                             lipschitz_upper_bound)
from sklip.metrics import (adversarial_accuracy, lipschitz_scorer,
                           pgd_accuracy_scorer)
from sklip.regularizers import regularizer_names

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device here"))]


def _classifier(device, method="none", epochs=8):
    # The benchmark's setting of each method on digits.
    return LipschitzClassifier(device=device, hidden_layer_sizes=(64,),
                               max_epochs=epochs, lr=0.003, random_state=0,
                               **method_params(method, 1.0, "digits"))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("regularizer", regularizer_names())
def test_every_regularizer_trains_on_the_device(digits, device, regularizer):
    X_train, X_test, y_train, y_test = digits
    clf = _classifier(device, regularizer).fit(X_train, y_train)
    assert all(p.device.type == device for p in clf.module_.parameters())
    # Learned (chance is 0.1; TV's λ = 0.5 slows the first epochs most).
    assert clf.score(X_test, y_test) > 0.5
    assert np.isfinite(clf.history[-1, "penalty"])


@pytest.mark.parametrize("device", DEVICES)
def test_attacks_scorers_and_bounds_on_the_device(digits, device):
    X_train, X_test, y_train, y_test = digits
    clf = _classifier(device).fit(X_train, y_train)
    clean = clf.score(X_test, y_test)
    for attack in (FGSMAttack(0.1, clamp=(0, 1)),
                   PGDAttack(1.0, n_iter=10, clamp=(0, 1), random_state=0),
                   APGDAttack(1.0, loss="dlr", targeted=True, n_iter=10,
                              clamp=(0, 1), random_state=0),
                   SquareAttack(1.0, n_queries=50, clamp=(0, 1),
                                random_state=0),
                   WorstCaseAttack(1.0, n_iter=5, n_queries=50, clamp=(0, 1),
                                   random_state=0),
                   NoiseAttack(0.3, clamp=(0, 1), random_state=0)):
        accuracy = adversarial_accuracy(clf, X_test, y_test, attack)
        assert 0.0 <= accuracy <= clean
    X_adv = PGDAttack(1.0, n_iter=10, random_state=0).generate(
        clf, X_test, y_test)
    assert isinstance(X_adv, np.ndarray) and X_adv.shape == X_test.shape
    assert pgd_accuracy_scorer(1.0, n_iter=10)(clf, X_test, y_test) <= clean
    lower = lipschitz_lower_bound(clf, X_test, n_pairs=32, n_iter=20,
                                  random_state=0)
    upper = lipschitz_upper_bound(clf)
    assert 0 < lower <= upper
    assert lipschitz_scorer()(clf, X_test, y_test) == pytest.approx(
        -lipschitz_lower_bound(clf, X_test, random_state=0), rel=1e-4)
    assert 0.0 <= certified_accuracy(clf, X_test, y_test, 0.1) <= clean


@pytest.mark.parametrize("device", DEVICES)
def test_regressor_trains_on_the_device(polynomial_data, device):
    X, y = polynomial_data
    reg = LipschitzRegressor(regularizer="clip", reg_lambda=0.01,
                             device=device, hidden_layer_sizes=(32, 32),
                             lr=0.01, max_epochs=100, batch_size=-1,
                             random_state=0).fit(X, y)
    assert next(reg.module_.parameters()).device.type == device
    assert reg.score(X, y) > 0.8
