"""Randomness per estimator: its own generators, never torch's global one,
and the same results whether estimators are fitted one after the other or
at once in threads."""

import functools
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from torch import nn

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip._random import RandomSource, build_module
from sklip.modules import MLP

SMALL = dict(hidden_layer_sizes=(16,), lr=0.01, max_epochs=2,
             batch_size=64)

CASES = [
    ("none", {}), ("clip", {}), ("clip", {"regularizer__step_rule": "accept",
                                          "regularizer__init": "noise"}),
    ("sumlip", {}), ("tv", {}), ("ptv", {}),
    ("adversarial", {"regularizer__attack": "pgd", "epsilon": 0.3}),
]


def _fit(args):
    (name, params), seed, data = args
    X, y = data
    return LipschitzClassifier(regularizer=name, random_state=seed,
                               **SMALL, **params).fit(X, y)


def test_fits_in_threads_give_the_sequential_results(digits):
    X, X_test, y, _ = digits
    data = (X[:600], y[:600])
    jobs = [(case, seed, data) for case in CASES for seed in (0, 1)]
    before = torch.get_rng_state()
    sequential = [_fit(job).predict_proba(X_test) for job in jobs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = [est.predict_proba(X_test) for est in pool.map(_fit, jobs)]
    assert torch.equal(torch.get_rng_state(), before)
    for job, a, b in zip(jobs, sequential, threaded):
        np.testing.assert_array_equal(a, b, err_msg=str(job[:2]))
    # The seed matters: different seeds, different networks.
    assert not np.allclose(sequential[0], sequential[1])


def test_default_network_gets_torchs_default_initialisation():
    # Built on the meta device and initialised from the estimator's
    # generator: the weights torch's own initialisation gives with the
    # global generator seeded alike, without touching that generator.
    source = RandomSource(7)
    seed = int(source.cpu.initial_seed())
    before = torch.get_rng_state()
    module = build_module(functools.partial(MLP, 5, 3, (8, 4)), source)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(seed)
    reference = MLP(5, 3, (8, 4))
    for a, b in zip(module.parameters(), reference.parameters()):
        assert torch.equal(a, b)


class _CustomInit(nn.Module):
    """A user module that initialises its own way in ``__init__``."""

    def __init__(self, n_outputs=10):
        super().__init__()
        self.hidden = nn.Linear(64, 16)
        self.out = nn.Linear(16, n_outputs)
        nn.init.zeros_(self.out.bias)
        nn.init.normal_(self.hidden.weight, std=0.01)
        self.register_buffer("scale", torch.full((1,), 2.0))

    def forward(self, X):
        return self.out(torch.tanh(self.hidden(X) * self.scale))


def test_user_module_class_keeps_its_own_initialisation(digits):
    X, _, y, _ = digits
    before = torch.get_rng_state()
    clf = LipschitzClassifier(module=_CustomInit, max_epochs=0,
                              random_state=0).fit(X, y)
    assert torch.equal(torch.get_rng_state(), before)
    assert float(clf.module_.hidden.weight.detach().std()) < 0.02
    assert torch.equal(clf.module_.scale, torch.full((1,), 2.0))
    again = LipschitzClassifier(module=_CustomInit, max_epochs=0,
                                random_state=0).fit(X, y)
    assert torch.equal(clf.module_.hidden.weight, again.module_.hidden.weight)


def test_dropout_network_is_reproducible_and_leaves_global_rng(digits):
    X, X_test, y, _ = digits

    module = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.3),
                           nn.Linear(32, 10))

    def fit():
        return LipschitzClassifier(module=module, regularizer="tv",
                                   random_state=3, **SMALL).fit(X, y)

    before = torch.get_rng_state()
    first, second = fit(), fit()
    assert torch.equal(torch.get_rng_state(), before)
    np.testing.assert_array_equal(first.predict_proba(X_test),
                                  second.predict_proba(X_test))


def test_random_source_pickles_with_its_state():
    source = RandomSource(0)
    source.seed()
    copy = pickle.loads(pickle.dumps(source))
    assert [source.seed() for _ in range(3)] == [copy.seed() for _ in range(3)]


def test_regressor_random_state_reproducible(polynomial_data):
    X, y = polynomial_data
    fits = [LipschitzRegressor(regularizer="ptv", hidden_layer_sizes=(8,),
                               max_epochs=5, random_state=2).fit(X, y)
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].predict(X), fits[1].predict(X))


@pytest.mark.parametrize("random_state", [0, np.random.RandomState(5)])
def test_random_state_forms_accepted(digits, random_state):
    X, _, y, _ = digits
    clf = LipschitzClassifier(random_state=random_state, max_epochs=1,
                              hidden_layer_sizes=(8,)).fit(X[:200], y[:200])
    assert clf.predict(X[:3]).shape == (3,)
