"""TV (sklip.regularizers._tv, sklip.functional's input_jacobian_norms):
the penalty checked against closed forms."""

import pytest
import torch
from torch import nn

from sklip.regularizers import TVRegularizer, TrainingContext


def _value(tensor):
    return tensor.detach().item()


def _mlp(n_in, n_out, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_in, 16), nn.Tanh(), nn.Linear(16, n_out))

def test_tv_of_a_linear_scalar_model_is_the_weight_norm():
    layer = nn.Linear(5, 1)
    X = torch.randn(16, 5)
    y_pred, penalty = TVRegularizer().terms(layer, X, None, TrainingContext())
    torch.testing.assert_close(y_pred, layer(X))
    assert _value(penalty) == pytest.approx(_value(layer.weight.norm()),
                                            rel=1e-5)



def test_tv_of_a_linear_model_with_k_outputs_is_the_frobenius_norm():
    layer = nn.Linear(6, 3)
    X = torch.randn(16, 6)
    # 3 outputs are below the default max_exact_outputs: exact.
    _, penalty = TVRegularizer().terms(layer, X, None, TrainingContext())
    assert _value(penalty) == pytest.approx(_value(layer.weight.norm()),
                                            rel=1e-5)



def test_tv_penalty_trains_the_weights():
    """d||W||_F / dW = W / ||W||_F; the bias does not enter the Jacobian."""
    layer = nn.Linear(6, 3)
    _, penalty = TVRegularizer().terms(layer, torch.randn(8, 6), None,
                                       TrainingContext())
    penalty.backward()
    expected = layer.weight.detach() / layer.weight.detach().norm()
    torch.testing.assert_close(layer.weight.grad, expected, rtol=1e-4,
                               atol=1e-6)
    assert layer.bias.grad is None or not layer.bias.grad.any()



def test_tv_projection_estimate_agrees_with_the_exact_norm():
    """Hoffman et al.: k E_v ||v^T J||^2 = ||J||_F^2 for v uniform on the
    unit sphere. 64 samples x 256 projections: the estimate is within 3 %
    (measured error below 0.5 % for seeds 0-4)."""
    layer = nn.Linear(6, 12)
    X = torch.randn(64, 6)
    exact = _value(layer.weight.norm())
    reg = TVRegularizer(max_exact_outputs=2, n_projections=256)
    torch.manual_seed(0)
    _, penalty = reg.terms(layer, X, None, TrainingContext())
    assert _value(penalty) == pytest.approx(exact, rel=0.03)
    penalty.backward()  # the estimate trains the weights too
    assert layer.weight.grad.abs().sum() > 0



def test_tv_of_a_nonlinear_model_matches_per_sample_jacobians():
    net = _mlp(4, 3)
    X = torch.randn(10, 4)
    _, penalty = TVRegularizer().terms(net, X, None, TrainingContext())
    jacobians = torch.func.vmap(torch.func.jacrev(net))(X)  # (10, 3, 4)
    expected = jacobians.flatten(1).norm(dim=1).mean()
    assert _value(penalty) == pytest.approx(expected.item(), rel=1e-5)



def test_tv_gradient_is_finite_where_the_network_is_flat():
    # A dead ReLU makes the Jacobian 0: the eps under the sqrt keeps the
    # weight gradient finite.
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    with torch.no_grad():
        net[0].bias.fill_(-100.0)
    _, penalty = TVRegularizer().terms(net, torch.randn(5, 3), None,
                                       TrainingContext())
    penalty.backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters()
               if p.grad is not None)
