"""Tests of sklip.attacks: FGSM and PGD against ART, norm balls, noise,
validation, and the sklearn-style object protocol."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.attacks import (ATTACKS, Attack, FGSMAttack, NoiseAttack,
                           PGDAttack, attack_names, get_attack)

art_classification = pytest.importorskip(
    "art.estimators.classification")
art_evasion = pytest.importorskip("art.attacks.evasion")




def _art_classifier(clf):
    n_features = clf.input_shape_
    return art_classification.PyTorchClassifier(
        clf.module_, loss=torch.nn.CrossEntropyLoss(),
        input_shape=n_features, nb_classes=len(clf.classes_),
        clip_values=(0.0, 1.0), device_type="cpu")


def _norms(delta, norm):
    flat = delta.reshape(len(delta), -1)
    return np.abs(flat).max(1) if norm == "inf" else np.linalg.norm(flat,
                                                                    axis=1)


# ----------------------------------------------------------------------
# Against ART
# ----------------------------------------------------------------------
@pytest.mark.parametrize("norm, eps", [("inf", 0.1), (2, 1.0)])
def test_fgsm_matches_art(digits, digits_clf, norm, eps):
    _, X_test, _, y_test = digits
    ours = FGSMAttack(eps, norm=norm, clamp=(0, 1)).generate(
        digits_clf, X_test, y_test)
    art = art_evasion.FastGradientMethod(
        _art_classifier(digits_clf), norm=np.inf if norm == "inf" else 2,
        eps=eps, batch_size=len(X_test)).generate(X_test, y=y_test)
    np.testing.assert_allclose(ours, art, atol=1e-5)


@pytest.mark.parametrize("norm, eps", [("inf", 0.1), (2, 1.0)])
def test_pgd_at_least_as_strong_as_art(digits, digits_clf, norm, eps):
    _, X_test, _, y_test = digits
    n_iter, step = 10, eps / 4
    art_attack = art_evasion.ProjectedGradientDescent(
        _art_classifier(digits_clf), norm=np.inf if norm == "inf" else 2,
        eps=eps, eps_step=step, max_iter=n_iter, num_random_init=0,
        batch_size=len(X_test), verbose=False)
    art_acc = digits_clf.score(art_attack.generate(X_test, y=y_test), y_test)
    for early_stop in (True, False):
        attack = PGDAttack(eps, norm=norm, n_iter=n_iter, step_size=step,
                           random_start=False, early_stop=early_stop,
                           clamp=(0, 1))
        ours = digits_clf.score(attack.generate(digits_clf, X_test, y_test),
                                y_test)
        assert ours <= art_acc + 0.005, (early_stop, ours, art_acc)
    assert art_acc < digits_clf.score(X_test, y_test) - 0.2  # a real attack


def test_pgd_l2_mnist_at_least_as_strong_as_art(mnist, mnist_clf):
    """The SPEC's evaluation setting (MLP 784-200-80-10, PGD-L2, ε = 2) on
    real MNIST images, with random starts on both sides."""
    _, X_test, _, y_test = mnist
    clf = mnist_clf
    X_test, y_test = X_test[:300], y_test[:300]
    art_attack = art_evasion.ProjectedGradientDescent(
        _art_classifier(clf), norm=2, eps=2.0, eps_step=0.25, max_iter=20,
        num_random_init=1, batch_size=len(X_test), verbose=False)
    art_acc = clf.score(art_attack.generate(X_test, y=y_test), y_test)
    attack = PGDAttack(2.0, norm=2, n_iter=20, step_size=0.25, clamp=(0, 1),
                       random_state=0)
    ours = clf.score(attack.generate(clf, X_test, y_test), y_test)
    assert ours <= art_acc + 0.02
    assert ours < clf.score(X_test, y_test) - 0.3


# ----------------------------------------------------------------------
# Geometry of the perturbations
# ----------------------------------------------------------------------
@pytest.mark.parametrize("attack", [
    FGSMAttack(0.1, norm="inf", clamp=(0, 1)),
    FGSMAttack(0.8, norm=2, clamp=(0, 1)),
    PGDAttack(0.1, norm="inf", n_iter=5, clamp=(0, 1), random_state=0),
    PGDAttack(0.8, norm=2, n_iter=5, clamp=(0, 1), random_state=0),
    PGDAttack(0.8, norm=2, n_iter=5, n_restarts=3, early_stop=False,
              clamp=(0, 1), random_state=0),
])
def test_perturbations_respect_ball_and_clamp(digits, digits_clf, attack):
    _, X_test, _, y_test = digits
    X_adv = attack.generate(digits_clf, X_test, y_test, batch_size=100)
    assert X_adv.shape == X_test.shape and X_adv.dtype == np.float32
    assert X_adv.min() >= 0 and X_adv.max() <= 1
    norms = _norms(X_adv - X_test, attack.norm)
    assert norms.max() <= attack.eps * (1 + 1e-5)
    assert norms.mean() > 0.3 * attack.eps  # the inputs did move


def test_pgd_without_clamp_leaves_the_data_range(digits, digits_clf):
    _, X_test, _, y_test = digits
    X_adv = PGDAttack(0.2, norm="inf", n_iter=3, random_state=0).generate(
        digits_clf, X_test, y_test)
    assert X_adv.min() < 0 or X_adv.max() > 1
    assert np.abs(X_adv - X_test).max() <= 0.2 + 1e-6


def test_pgd_restarts_and_early_stop_only_help(digits, digits_clf):
    _, X_test, _, y_test = digits
    base = PGDAttack(1.0, norm=2, n_iter=5, clamp=(0, 1), random_state=0,
                     early_stop=False)

    def accuracy(attack):
        return digits_clf.score(attack.generate(digits_clf, X_test, y_test),
                                y_test)

    single = accuracy(base)
    # The first run draws the same random start as the single run, and
    # every later run can only replace a sample by a better point.
    assert accuracy(clone(base).set_params(n_restarts=3)) <= single
    assert accuracy(clone(base).set_params(early_stop=True)) <= single


def test_random_state_makes_pgd_reproducible(digits, digits_clf):
    _, X_test, _, y_test = digits
    attack = PGDAttack(1.0, n_iter=3, random_state=3)
    first = attack.generate(digits_clf, X_test, y_test)
    np.testing.assert_array_equal(first,
                                  attack.generate(digits_clf, X_test, y_test))
    other = attack.set_params(random_state=4).generate(digits_clf, X_test,
                                                       y_test)
    assert not np.array_equal(first, other)


def test_zero_radius_returns_the_inputs(digits, digits_clf):
    _, X_test, _, y_test = digits
    for attack in (FGSMAttack(0.0), PGDAttack(0.0), NoiseAttack(0.0)):
        np.testing.assert_array_equal(
            attack.generate(digits_clf, X_test, y_test), X_test)


# ----------------------------------------------------------------------
# Noise
# ----------------------------------------------------------------------
def test_noise_has_the_right_sigma():
    X = torch.zeros(4000, 50)
    X_noisy = NoiseAttack(sigma=0.3, random_state=0).perturb(None, X)
    assert abs(float(X_noisy.std()) - 0.3) < 0.005
    assert abs(float(X_noisy.mean())) < 0.005
    again = NoiseAttack(sigma=0.3, random_state=0).perturb(None, X)
    torch.testing.assert_close(X_noisy, again)
    clamped = NoiseAttack(sigma=0.3, clamp=(0, 1), random_state=0).perturb(
        None, X)
    assert float(clamped.min()) == 0.0 and float(clamped.max()) <= 1.0


def test_noise_batches_draw_different_noise(digits, digits_clf):
    _, X_test, _, _ = digits
    X = np.tile(X_test[:10], (3, 1))
    noise = NoiseAttack(0.5, random_state=0).generate(
        digits_clf, X, batch_size=10) - X
    assert not np.allclose(noise[:10], noise[10:20])


# ----------------------------------------------------------------------
# Tensors, modules, regressors
# ----------------------------------------------------------------------
def test_perturb_on_tensors_with_a_bare_module(digits, digits_clf):
    _, X_test, _, y_test = digits
    module = digits_clf.module_
    X = torch.as_tensor(X_test[:50])
    y = torch.as_tensor(y_test[:50])
    X_adv = FGSMAttack(0.1).perturb(module, X, y)
    assert isinstance(X_adv, torch.Tensor) and not X_adv.requires_grad
    assert torch.allclose((X_adv - X).abs(), torch.full_like(X, 0.1))
    # y=None attacks the predicted class; a custom per-sample loss is used.
    assert FGSMAttack(0.1).perturb(module, X).shape == X.shape
    custom = FGSMAttack(0.1).perturb(
        module, X, y, lambda out, t: -torch.nn.functional.cross_entropy(
            out, t, reduction="none"))
    torch.testing.assert_close(custom - X, -(X_adv - X))
    # A bare module through generate: integer y means class indices.
    np.testing.assert_allclose(
        FGSMAttack(0.1).generate(module, X_test[:50], y_test[:50]),
        X_adv.numpy(), atol=1e-6)


def test_weights_get_no_gradient_and_mode_is_restored(digits, digits_clf):
    _, X_test, _, y_test = digits
    clf = clone(digits_clf).set_params(max_epochs=1).fit(X_test, y_test)
    clf.module_.zero_grad(set_to_none=True)
    clf.module_.train()
    PGDAttack(0.5, n_iter=2).generate(clf, X_test, y_test)
    assert clf.module_.training
    assert all(p.grad is None for p in clf.module_.parameters())
    clf.module_.eval()
    FGSMAttack(0.1).generate(clf, X_test, y_test)
    assert not clf.module_.training


def test_attacks_on_a_regressor(polynomial_data):
    X, y = polynomial_data
    reg = LipschitzRegressor(regularizer="none", hidden_layer_sizes=(16,),
                             max_epochs=30, lr=0.01, random_state=0).fit(X, y)
    clean = np.mean((reg.predict(X) - y) ** 2)
    for attack in (FGSMAttack(0.05), PGDAttack(0.05, n_iter=5,
                                               random_state=0)):
        X_adv = attack.generate(reg, X, y)
        assert np.abs(X_adv - X).max() <= 0.05 + 1e-6
        assert np.mean((reg.predict(X_adv) - y) ** 2) > clean
    with pytest.raises(ValueError, match="y is required for a regressor"):
        FGSMAttack(0.05).generate(reg, X)


# ----------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------
@pytest.mark.parametrize("attack, error, match", [
    (FGSMAttack(-0.1), ValueError, "eps"),
    (FGSMAttack(True), TypeError, "eps"),
    (FGSMAttack(0.1, norm=1), ValueError, "norm must be 2"),
    (FGSMAttack(0.1, norm="l1"), ValueError, "norm"),
    (FGSMAttack(0.1, clamp=(1, 0)), ValueError, "clamp"),
    (FGSMAttack(0.1, clamp="0-1"), TypeError, "clamp"),
    (PGDAttack(np.nan), ValueError, "eps"),
    (PGDAttack(1.0, n_iter=0), ValueError, "n_iter"),
    (PGDAttack(1.0, n_iter=2.5), TypeError, "n_iter"),
    (PGDAttack(1.0, step_size=0), ValueError, "step_size"),
    (PGDAttack(1.0, n_restarts=0), ValueError, "n_restarts"),
    (PGDAttack(1.0, random_start="yes"), TypeError, "random_start"),
    (PGDAttack(1.0, early_stop=1), TypeError, "early_stop"),
    (PGDAttack(1.0, random_state="seed"), ValueError, "random_state"),
    (NoiseAttack(-1.0), ValueError, "sigma"),
])
def test_bad_parameters_raise_clear_errors(digits, digits_clf, attack, error,
                                           match):
    _, X_test, _, y_test = digits
    with pytest.raises(error, match=match):
        attack.generate(digits_clf, X_test, y_test)
    with pytest.raises(error, match=match):
        attack.perturb(digits_clf.module_, torch.as_tensor(X_test),
                       torch.as_tensor(y_test))


def test_constructor_only_stores(digits):
    attack = PGDAttack(-5, norm="bogus", n_iter=-1)  # no error yet
    assert attack.get_params()["norm"] == "bogus"
    with pytest.raises(ValueError):
        attack.validate()


def test_unfitted_estimator_raises_not_fitted(digits):
    _, X_test, _, y_test = digits
    with pytest.raises(NotFittedError):
        PGDAttack(1.0).generate(LipschitzClassifier(), X_test, y_test)


def test_one_dimensional_X_raises(digits, digits_clf):
    _, X_test, _, y_test = digits
    with pytest.raises(ValueError):
        FGSMAttack(0.1).generate(digits_clf, X_test[0], y_test[:1])
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        FGSMAttack(0.1).perturb(digits_clf.module_,
                                torch.as_tensor(X_test[0]))


def test_inconsistent_lengths_and_bad_batch_size(digits, digits_clf):
    _, X_test, _, y_test = digits
    with pytest.raises(ValueError, match="different numbers of samples"):
        FGSMAttack(0.1).generate(digits_clf, X_test, y_test[:-1])
    with pytest.raises(ValueError, match="batch_size"):
        FGSMAttack(0.1).generate(digits_clf, X_test, y_test, batch_size=0)


def test_unknown_labels_raise(digits, digits_clf):
    _, X_test, _, y_test = digits
    with pytest.raises(ValueError, match="not seen"):
        FGSMAttack(0.1).generate(digits_clf, X_test, y_test + 100)


# ----------------------------------------------------------------------
# Registry and the scikit-learn object protocol
# ----------------------------------------------------------------------
def test_registry():
    assert attack_names() == ["apgd", "fgsm", "noise", "pgd", "square",
                              "worst_case"]
    assert set(ATTACKS) == set(attack_names())
    pgd = get_attack("pgd", eps=2.0, n_iter=50)
    assert isinstance(pgd, PGDAttack) and pgd.n_iter == 50
    assert get_attack(NoiseAttack, sigma=0.5).sigma == 0.5
    original = FGSMAttack(0.1)
    copy = get_attack(original, eps=0.3)
    assert copy is not original and original.eps == 0.1 and copy.eps == 0.3
    with pytest.raises(ValueError, match=r"\['apgd', 'fgsm', 'noise'"):
        get_attack("cw")
    with pytest.raises(ValueError, match="needs eps"):
        get_attack("pgd")
    with pytest.raises(ValueError, match="n_steps is not a parameter"):
        get_attack("pgd", eps=1.0, n_steps=3)
    with pytest.raises(TypeError):
        get_attack(3)


def test_attacks_clone_and_pickle():
    attack = PGDAttack(2.0, norm="inf", n_iter=7, clamp=(0, 1),
                       random_state=0)
    for other in (clone(attack), pickle.loads(pickle.dumps(attack))):
        assert other is not attack
        assert other.get_params() == attack.get_params()
    assert attack.set_params(eps=1.0).radius == 1.0
    assert isinstance(attack, Attack) and NoiseAttack(0.2).radius == 0.2


@pytest.mark.parametrize("attack", [FGSMAttack(0.1),
                                    NoiseAttack(0.1, random_state=0)])
def test_read_only_inputs_are_attacked_without_warnings(digits, digits_clf,
                                                        attack):
    # joblib hands its workers large arrays as read-only memory maps (a
    # robustness scorer in a parallel search); torch warns about tensors
    # sharing such memory, so the inputs are copied instead.
    X, y = digits[1].copy(), digits[3].copy()
    expected = attack.generate(digits_clf, X, y)
    X.setflags(write=False)
    y.setflags(write=False)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X_adv = attack.generate(digits_clf, X, y)
    np.testing.assert_array_equal(X_adv, expected)
