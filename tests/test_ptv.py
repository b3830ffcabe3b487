"""pTV (sklip.regularizers._ptv): pairs on the ε-spheres of the batch, read
back from the network's inputs, and the schedules of the slides' algorithm."""

import pytest
import torch
from skorch.callbacks import Callback
from torch import nn

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.functional import difference_quotients
from sklip.modules import MLP
from sklip.regularizers import PTVRegularizer, TrainingContext


def _value(tensor):
    return tensor.detach().item()


def _mlp(n_in, n_out, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, 16), nn.Tanh(), nn.Linear(16, n_out))

def _distances(points, anchors):
    return (points - anchors).flatten(1).norm(dim=1)



class _LastPass:
    """Records the input of a module's last forward pass: for pTV the fused
    pass ``[X; x1; x2]`` of the batch and both ends of the pairs."""

    def __init__(self, module):
        self.input = None
        self.handle = module.register_forward_pre_hook(self._record)

    def _record(self, module, args):
        self.input = args[0].detach().clone()

    def pairs(self, n):
        """``(x1, x2)`` of the last pass of a batch of ``n`` points."""
        rest = self.input[n:]
        k = rest.shape[0] // 2
        return rest[:k], rest[k:]



@pytest.mark.parametrize("n_iter", [0, 1, 2, 5])
def test_ptv_pairs_stay_on_the_sphere_and_ascent_raises_q(n_iter):
    """The same random start for every ``n_iter`` (same seed), so the pairs
    after 0, 1, 2, 5 ascent steps are the states after each step: on the
    ε-sphere every time, with a quotient that never falls."""
    net = _mlp(5, 3)
    X = torch.randn(32, 5)
    radius = 0.5
    quotients = {}
    for steps in sorted({0, n_iter}):
        reg = PTVRegularizer(n_iter=steps, n_anchors=None)
        reg.reset()
        context = TrainingContext(epsilon=radius,
                                  generator=torch.Generator().manual_seed(1))
        last = _LastPass(net)
        y_pred, penalty = reg.terms(net, X, None, context)
        last.handle.remove()
        x1, x2 = last.pairs(32)
        for points in (x1, x2):
            torch.testing.assert_close(
                _distances(points, X), torch.full((32,), radius),
                rtol=1e-5, atol=1e-6)
        # The penalty is the mean quotient of those pairs, and y_pred the
        # clean outputs, both from the fused forward pass.
        q = difference_quotients(net, x1, x2)
        assert _value(penalty) == pytest.approx(q.mean().item(), rel=1e-5)
        torch.testing.assert_close(y_pred, net(X))
        quotients[steps] = q.detach()
    assert torch.all(quotients[n_iter] >= quotients[0] * (1 - 1e-5))
    if n_iter > 0:
        assert float(quotients[n_iter].mean()) > float(quotients[0].mean())



@pytest.mark.parametrize("step_rule", ["fixed", "accept"])
def test_ptv_step_rules_keep_pairs_on_the_sphere(step_rule):
    net = _mlp(5, 3)
    X = torch.randn(16, 5)
    context = TrainingContext(epsilon=0.5,
                              generator=torch.Generator().manual_seed(1))
    last = _LastPass(net)
    _, penalty = PTVRegularizer(n_iter=3, n_anchors=None,
                                step_rule=step_rule).terms(net, X, None,
                                                           context)
    for points in last.pairs(16):
        torch.testing.assert_close(_distances(points, X),
                                   torch.full((16,), 0.5), rtol=1e-5,
                                   atol=1e-6)
    assert _value(penalty) > 0
    with pytest.raises(ValueError, match="^step_rule"):
        PTVRegularizer(step_rule="sign").validate()



def test_ptv_pairs_of_one_dimensional_inputs_never_coincide():
    # The 1-D sphere is two points: coinciding draws are split to x ± ε.
    net = _mlp(1, 1)
    X = torch.linspace(-1, 1, 64).reshape(-1, 1)
    reg = PTVRegularizer(n_iter=2, n_anchors=None)
    reg.reset()
    last = _LastPass(net)
    _, penalty = reg.terms(net, X, None, TrainingContext(epsilon=0.1))
    x1, x2 = last.pairs(64)
    torch.testing.assert_close(_distances(x1, x2), torch.full((64,), 0.2),
                               rtol=1e-4, atol=1e-5)
    assert _value(penalty) > 0
    penalty.backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters())



class _RecordTraining(Callback):
    """Per training batch of a classifier: pTV's pairs and radius, the
    running accuracy of the epoch so far, and λ after the batch (this runs
    after the default callbacks, so after the λ rule)."""

    def initialize(self):
        self.pairs = []
        self.lambdas = []
        return super().initialize()

    def on_train_begin(self, net, **kwargs):
        self.last = _LastPass(net.module_)

    def on_epoch_begin(self, net, **kwargs):
        self.correct = self.seen = 0

    def on_batch_end(self, net, batch=None, training=False, y_pred=None,
                     **kwargs):
        if not training:
            return
        X, y = batch
        if net.reg_lambda_ > 0 and self.last.input is not None:
            x1, x2 = self.last.pairs(len(X))
            self.pairs.append((X[:len(x1)], x1, x2,
                               net.regularizer_.radius(net.epsilon_),
                               len(net.history)))
        self.last.input = None
        self.correct += int((y_pred.argmax(dim=1) == y).sum())
        self.seen += len(y)
        self.lambdas.append((self.correct / self.seen, net.reg_lambda_))



def _recorded(est):
    return dict(est.callbacks_)["record"]



def test_ptv_pairs_lie_on_the_decaying_sphere_after_every_step(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(
        regularizer="ptv", reg_lambda=0.1, epsilon=0.8, epsilon_decay=0.9,
        regularizer__n_iter=3, hidden_layer_sizes=(32,), lr=0.01,
        max_epochs=3, batch_size=256, random_state=0,
        callbacks=[("record", _RecordTraining())]).fit(X[:600], y[:600])
    epsilons = clf.history[:, "epsilon"]
    assert epsilons == pytest.approx([0.8, 0.72, 0.648])
    records = _recorded(clf).pairs
    assert len(records) == 3 * 3  # 3 epochs of 3 batches
    for anchors, x1, x2, radius, epoch in records:
        assert radius == pytest.approx(epsilons[epoch - 1])
        for points in (x1, x2):
            distances = _distances(points, anchors)
            torch.testing.assert_close(
                distances, torch.full_like(distances, radius),
                rtol=1e-5, atol=1e-6)



@pytest.mark.parametrize("epsilon, decay, expected", [
    (None, "auto", [3.0, 3.0, 3.0, 3.0]),   # the regulariser's defaults
    (1.0, 0.9, [1.0, 0.9, 0.81, 0.729]),    # the slides' schedule
    (0.5, 0.5, [0.5, 0.25, 0.125, 0.0625]),
    (0.3, 1.0, [0.3, 0.3, 0.3, 0.3]),
])
def test_ptv_epsilon_decays_by_the_factor_each_epoch(polynomial_data,
                                                     epsilon, decay,
                                                     expected):
    X, y = polynomial_data
    reg = LipschitzRegressor(
        regularizer="ptv", epsilon=epsilon, epsilon_decay=decay,
        hidden_layer_sizes=(8,), max_epochs=4, batch_size=-1,
        random_state=0).fit(X, y)
    assert reg.history[:, "epsilon"] == pytest.approx(expected)
    assert reg.epsilon_ == pytest.approx(expected[-1] * (expected[-1]
                                                         / expected[-2]))



def test_ptv_radius_is_floored_at_min_epsilon(polynomial_data):
    X, y = polynomial_data
    reg = LipschitzRegressor(
        regularizer="ptv", epsilon=1e-6, epsilon_decay=0.9,
        regularizer__min_epsilon=1e-3,
        hidden_layer_sizes=(8,), max_epochs=2, batch_size=-1,
        random_state=0).fit(X, y)
    assert reg.history[:, "epsilon"] == pytest.approx([1e-6, 9e-7])
    assert reg.regularizer_.radius(reg.history[-1, "epsilon"]) == 1e-3
    last = _LastPass(reg.module_)
    reg.regularizer_.terms(reg.module_, torch.as_tensor(X, dtype=torch.float32),
                           None, TrainingContext(epsilon=9e-7))
    x1, x2 = last.pairs(len(X))
    assert x1.shape[0] == 8  # an eighth of the 60-point batch anchors pairs
    torch.testing.assert_close(_distances(x1, x2),
                               torch.full((8,), 2e-3), rtol=1e-3, atol=0)



def test_ptv_lambda_follows_the_running_accuracy_per_batch(digits):
    """The slides' pTV loop: after every batch λ += dλ if the running
    training accuracy exceeds α, else λ -= dλ (never below 0)."""
    X, _, y, _ = digits
    alpha, step, start = 0.75, 0.01, 0.03
    clf = LipschitzClassifier(
        regularizer="ptv", reg_lambda=start, target_accuracy=alpha,
        reg_lambda_step=step, reg_lambda_update="batch", epsilon=1.0,
        hidden_layer_sizes=(32,), lr=0.01, max_epochs=4, batch_size=128,
        random_state=0,
        callbacks=[("record", _RecordTraining())]).fit(X, y)
    records = _recorded(clf).lambdas
    before = [start] + [lam for _, lam in records[:-1]]
    for lam_before, (score, lam_after) in zip(before, records):
        expected = (lam_before + step if score > alpha
                    else max(0.0, lam_before - step))
        assert lam_after == pytest.approx(expected)
    scores = [score for score, _ in records]
    assert min(scores) < alpha < max(scores), "both branches ran"
    # The history holds λ as each batch saw it, and λ at each epoch's end.
    batch_lambdas = [lam for epoch in clf.history[:, "batches"]
                     for lam in (b["reg_lambda"] for b in epoch)]
    assert batch_lambdas == pytest.approx(before)
    per_epoch = len(clf.history[0, "batches"])
    assert clf.history[:, "reg_lambda"] == pytest.approx(
        [lam for _, lam in records][per_epoch - 1::per_epoch])


@pytest.mark.parametrize("n_anchors, expected", [
    (None, 50), (20, 20), (200, 50), (0.5, 25), (1.0, 50)])
def test_ptv_anchors_a_sample_of_the_batch(n_anchors, expected):
    torch.manual_seed(0)
    module = MLP(5, 3, (8,))
    reg = PTVRegularizer(n_anchors=n_anchors)
    X = torch.rand(50, 5)
    inputs = []
    module.register_forward_pre_hook(
        lambda m, args: inputs.append(args[0].detach()))
    y_pred, penalty = reg.terms(module, X, torch.zeros(50, dtype=torch.long),
                                TrainingContext(epsilon=0.5))
    assert y_pred.shape == (50, 3)
    # The last pass is the fused one: the batch, then both ends of the pairs.
    fused = inputs[-1]
    x1, x2 = fused[50:50 + expected], fused[50 + expected:]
    assert x1.shape == x2.shape == (expected, 5)
    # Every pair lies on the ε-sphere around its anchor, a batch point.
    for x in (x1, x2):
        torch.testing.assert_close((x - X[:expected]).norm(dim=1),
                                   torch.full((expected,), 0.5))
    assert penalty.requires_grad and float(penalty.detach()) > 0



@pytest.mark.parametrize("bad", [0, -3, 1.5, 0.0, "half"])
def test_ptv_n_anchors_is_checked(bad, digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(regularizer="ptv", regularizer__n_anchors=bad)
    with pytest.raises((TypeError, ValueError), match="n_anchors"):
        clf.fit(X, y)
