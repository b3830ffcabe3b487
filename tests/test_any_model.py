"""Robustness tools on whatever model the user has: pipelines, skorch nets,
scikit-learn estimators and bare torch modules."""

import warnings

import numpy as np
import pytest
import sklearn
import torch
from sklearn.datasets import load_digits, make_regression
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (FunctionTransformer, MaxAbsScaler,
                                   MinMaxScaler, Normalizer,
                                   PolynomialFeatures, RobustScaler,
                                   StandardScaler)
from torch import nn

from sklip import (LipschitzClassifier, PretrainedClassifier,
                   PretrainedRegressor)
from sklip.attacks import PGDAttack
from sklip.lipschitz import (certify, lipschitz_exact_1d,
                             lipschitz_lower_bound, lipschitz_upper_bound)
from sklip.metrics import (adversarial_neg_mse_scorer,
                           fgsm_accuracy_scorer,
                           lipschitz_scorer, make_robustness_scorer,
                           noise_accuracy_scorer, pgd_accuracy_scorer,
                           worst_case_accuracy_scorer)
from sklip.preprocessing import transformer_to_torch


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    # Raw pixel counts 0..16: the scaler in the pipeline matters.
    return X[:400].astype(np.float32), y[:400]


@pytest.fixture(scope="module")
def pipeline(digits):
    X, y = digits
    return make_pipeline(
        StandardScaler(),
        LipschitzClassifier(regularizer="none", max_epochs=8,
                            random_state=0)).fit(X, y)


def _scorers():
    return {
        "fgsm": fgsm_accuracy_scorer(0.5, norm=2),
        "pgd": pgd_accuracy_scorer(1.0, n_iter=5),
        "worst": worst_case_accuracy_scorer(1.0, n_iter=3, n_queries=10),
        "noise": noise_accuracy_scorer(1.0),
        "square": make_robustness_scorer("square", eps=1.0, n_queries=20),
        "lipschitz": lipschitz_scorer(n_pairs=50, n_iter=2),
    }


class _FoldedScaler(nn.Module):
    """The network with the scaler written in by hand."""

    def __init__(self, scaler, network):
        super().__init__()
        self.mean = torch.as_tensor(scaler.mean_, dtype=torch.float32)
        self.scale = torch.as_tensor(scaler.scale_, dtype=torch.float32)
        self.network = network

    def forward(self, X):
        return self.network((X - self.mean) / self.scale)


def test_pipeline_scores_equal_the_model_with_the_scaler_folded_in(
        pipeline, digits):
    X, y = digits
    scaler, net = pipeline[0], pipeline[-1]
    folded = PretrainedClassifier(_FoldedScaler(scaler, net.module_),
                                  classes=net.classes_).fit(X, y)
    for name, scorer in _scorers().items():
        on_pipeline, by_hand = scorer(pipeline, X, y), scorer(folded, X, y)
        assert np.isfinite(on_pipeline), name
        # The scaler's layer computes (x - mean) / scale as sklearn does.
        assert on_pipeline == by_hand, name
    # The attack works in the raw units: its perturbations have raw norm
    # at most eps, and they fool the pipeline's own predict.
    X_adv = PGDAttack(1.0, n_iter=5, random_state=0).generate(pipeline, X, y)
    norms = np.linalg.norm(X_adv - X, axis=1)
    assert norms.max() <= 1.0 + 1e-4 and norms.max() > 0.9
    assert np.mean(pipeline.predict(X_adv) == y) < np.mean(
        pipeline.predict(X) == y)


def test_pipeline_in_cross_validate_and_grid_search(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), LipschitzClassifier(
        regularizer="none", max_epochs=3, random_state=0))
    scoring = {"accuracy": "accuracy", "pgd": pgd_accuracy_scorer(
        1.0, n_iter=3), "noise": noise_accuracy_scorer(1.0)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NaN score only warns
        # Three epochs are a short fit, which the collapse check may flag.
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        result = cross_validate(pipe, X, y, cv=2, scoring=scoring)
        search = GridSearchCV(
            pipe, {"lipschitzclassifier__lr": [1e-3, 1e-2]}, cv=2,
            scoring=scoring, refit="pgd").fit(X, y)
    for key in ("test_pgd", "test_noise"):
        assert np.all(np.isfinite(result[key])), key
    pgd = search.cv_results_["mean_test_pgd"]
    assert np.all(np.isfinite(pgd))
    assert search.best_index_ == int(np.argmax(pgd))


@pytest.mark.parametrize("transformer", [
    StandardScaler(), StandardScaler(with_mean=False),
    StandardScaler(with_std=False), MinMaxScaler(),
    MinMaxScaler((-1, 2), clip=True), MaxAbsScaler(), RobustScaler(),
    RobustScaler(with_centering=False), Normalizer(), Normalizer("l1"),
    Normalizer("max"), PCA(5), PCA(5, whiten=True),
    FunctionTransformer(np.log1p), FunctionTransformer(),
    FunctionTransformer(lambda X: torch.tanh(X / 8)),
    make_pipeline(MinMaxScaler(), PCA(4))], ids=repr)
def test_transformers_become_the_torch_operation_they_compute(transformer,
                                                              digits):
    X, _ = digits
    transformer = sklearn.clone(transformer).fit(X[:200])
    layer = transformer_to_torch(transformer)
    # Points outside the fitted range too (MinMaxScaler's clip).
    test = np.vstack([X[200:260], 20 * X[260:270]]).astype(np.float32)
    if isinstance(transformer, FunctionTransformer) and \
            transformer.func not in (None, np.log1p):
        expected = np.tanh(test / 8)  # the torch function takes no numpy
    else:
        expected = transformer.transform(test)
    got = layer(torch.as_tensor(test)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_steps_without_a_torch_form_are_named(digits):
    X, y = digits
    with pytest.raises(TypeError, match="'poly'.*PolynomialFeatures"):
        transformer_to_torch(PolynomialFeatures().fit(X), "poly")
    numpy_only = FunctionTransformer(lambda X: np.asarray(X) ** 2).fit(X)
    with pytest.raises(TypeError, match="does not map torch tensors"):
        transformer_to_torch(numpy_only, "square")
    pipe = make_pipeline(PolynomialFeatures(), LipschitzClassifier(
        regularizer="none", max_epochs=1, random_state=0)).fit(X[:100],
                                                               y[:100])
    # Gradient attacks are refused with the step named; noise still works.
    with pytest.raises(TypeError, match="polynomialfeatures.*'noise', "
                                        "'square'"):
        pgd_accuracy_scorer(1.0)(pipe, X[:50], y[:50])
    assert 0 <= noise_accuracy_scorer(1.0)(pipe, X[:50], y[:50]) <= 1
    with pytest.raises(TypeError, match="lipschitz_upper_bound needs"):
        lipschitz_upper_bound(pipe)


def test_pipeline_bounds_include_the_preprocessing(pipeline, digits):
    X, y = digits
    scaler, net = pipeline[0], pipeline[-1]
    upper = lipschitz_upper_bound(pipeline)
    # The scaler's constant is 1 / (smallest scale): it multiplies in.
    assert upper == pytest.approx(lipschitz_upper_bound(net)
                                  / scaler.scale_.min(), rel=1e-5)
    assert lipschitz_lower_bound(pipeline, X[:100]) <= upper
    radii = np.array([0.0, 0.02, 0.05])
    certificate = certify(pipeline, X, y, radii)
    assert certificate.bound == "local"  # the scaler folds into layer 1
    clean = np.mean(pipeline.predict(X) == y)
    assert certificate.accuracy[0] <= clean
    assert np.all(np.diff(certificate.accuracy) <= 0)
    # No certified point is broken by an attack in the raw units.
    for j, eps in enumerate(radii[1:], start=1):
        attack = PGDAttack(float(eps), n_iter=20, random_state=0)
        X_adv = attack.generate(pipeline, X, y)
        broken = pipeline.predict(X_adv) != y
        assert not np.any(broken & certificate.certified[:, j])


@pytest.mark.parametrize("model", [
    MLPClassifier((20,), max_iter=60, random_state=0),
    LogisticRegression(max_iter=300)], ids=lambda m: type(m).__name__)
def test_scikit_learn_models_are_scored_by_prediction_attacks(model, digits):
    X, y = digits
    X = X / 16
    scoring = {"accuracy": "accuracy", "noise": noise_accuracy_scorer(0.5),
               "square": make_robustness_scorer("square", eps=1.0,
                                                n_queries=30)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        result = cross_validate(model, X, y, cv=2, scoring=scoring,
                                error_score="raise")
    for key in ("test_noise", "test_square"):
        assert np.all((result[key] >= 0) & (result[key] <= 1)), key
    # Square searches for misclassified points: it finds some.
    assert np.all(result["test_square"] < result["test_accuracy"])
    fitted = sklearn.clone(model).set_params(max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sklearn.exceptions.ConvergenceWarning)
        fitted.fit(X, y)
    with pytest.raises(TypeError, match="not a torch network.*'noise', "
                                        "'square'"):
        pgd_accuracy_scorer(1.0)(fitted, X, y)


def test_skorch_net_is_attacked_through_its_log_probabilities(digits):
    skorch = pytest.importorskip("skorch")
    X, y = digits
    X = X / 16

    class SoftmaxNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(64, 10)

        def forward(self, X):
            return torch.softmax(self.linear(X), dim=-1)

    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(SoftmaxNet, max_epochs=10, lr=0.5,
                                     train_split=None, verbose=0)
    scoring = {"accuracy": "accuracy", "pgd": pgd_accuracy_scorer(
        0.5, n_iter=10), "fgsm": fgsm_accuracy_scorer(0.05)}
    result = cross_validate(net, X, y.astype(np.int64), cv=2,
                            scoring=scoring, error_score="raise")
    assert np.all(result["test_accuracy"] > 0.7)
    assert np.all(result["test_pgd"] < result["test_accuracy"])
    assert np.all(result["test_fgsm"] < result["test_accuracy"])


def test_bare_module_through_pretrained_classifier(digits):
    X, y = digits
    X = X / 16
    torch.manual_seed(0)
    sequential = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    scoring = {"pgd": pgd_accuracy_scorer(0.5, n_iter=5),
               "noise": noise_accuracy_scorer(0.5)}
    result = cross_validate(PretrainedClassifier(sequential), X, y, cv=2,
                            scoring=scoring, error_score="raise")
    assert np.all(np.isfinite(result["test_pgd"]))
    # A scorer called with the bare module reads it as a classifier of
    # class indices, the same as the wrapper.
    scorer = pgd_accuracy_scorer(0.5, n_iter=5)
    assert scorer(sequential, X, y) == scorer(
        PretrainedClassifier(sequential).fit(X, y), X, y)
    with pytest.raises(TypeError, match="PretrainedClassifier"):
        make_robustness_scorer("pgd", eps=0.5)(sequential, X, y)


def test_pretrained_classifier_checks_the_network_against_the_data(digits):
    X, y = digits
    net = nn.Linear(64, 10)
    clf = PretrainedClassifier(net, classes=list("abcdefghij"))
    labels = np.array(list("abcdefghij"))[y]
    clf.fit(X, labels)
    assert set(clf.predict(X)) <= set("abcdefghij")
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1)
    with pytest.raises(ValueError, match="classes must name each"):
        PretrainedClassifier(net, classes=[0, 1]).fit(X, y)
    with pytest.raises(ValueError, match="not among classes"):
        PretrainedClassifier(net).fit(X, y + 10)
    with pytest.raises(ValueError, match="does not take inputs"):
        PretrainedClassifier(nn.Linear(5, 10)).fit(X, y)
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        PretrainedClassifier("net").fit(X, y)


def test_scorers_route_sample_weight(digits):
    X, y = digits
    X = X / 16
    torch.manual_seed(0)
    clf = PretrainedClassifier(nn.Linear(64, 10))
    weights = np.where(y < 5, 1.0, 0.0)
    scorer = noise_accuracy_scorer(0.5)
    with pytest.raises(RuntimeError, match="enable_metadata_routing"):
        scorer.set_score_request(sample_weight=True)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer.set_score_request(sample_weight=True)
        result = cross_validate(clf, X, y, cv=KFold(2),
                                scoring={"noise": scorer},
                                params={"sample_weight": weights})
    fitted = sklearn.clone(clf).fit(X[200:], y[200:])
    expected = noise_accuracy_scorer(0.5)(
        fitted, X[:200], y[:200], sample_weight=weights[:200])
    unweighted = noise_accuracy_scorer(0.5)(fitted, X[:200], y[:200])
    assert result["test_noise"][0] == pytest.approx(expected)
    assert expected != pytest.approx(unweighted)


def test_regressor_scores_are_reproducible_for_every_model_kind():
    X, y = make_regression(160, 5, noise=1.0, random_state=0)
    X, y = X.astype(np.float32), (y / 100).astype(np.float32)
    torch.manual_seed(0)
    network = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1))
    scorers = {
        "pgd": adversarial_neg_mse_scorer("pgd", eps=0.5),
        "auto": make_robustness_scorer("pgd", eps=0.5),
        "worst": adversarial_neg_mse_scorer("worst_case", eps=0.5, n_iter=3,
                                            n_queries=10),
        "square": adversarial_neg_mse_scorer("square", eps=0.5,
                                             n_queries=20)}
    scoring = {"clean": "neg_mean_squared_error", **scorers}
    result = cross_validate(PretrainedRegressor(network), X, y, cv=2,
                            scoring=scoring, error_score="raise")
    again = cross_validate(PretrainedRegressor(network), X, y, cv=2,
                           scoring=scoring, error_score="raise")
    for name in scorers:
        np.testing.assert_array_equal(result[f"test_{name}"],
                                      again[f"test_{name}"])
        assert np.all(result[f"test_{name}"] < result["test_clean"]), name
    # A scikit-learn regressor, through its predictions only.
    ridge = Ridge().fit(X, y)
    square = scorers["square"]
    assert square(ridge, X, y) == square(ridge, X, y) < -mean_squared_error(
        y, ridge.predict(X))
    with pytest.raises(TypeError, match="'noise', 'square'"):
        scorers["pgd"](ridge, X, y)


def test_attacks_refuse_data_outside_their_clamp_range(digits):
    X, y = digits  # pixel counts 0..16
    net = PretrainedClassifier(nn.Linear(64, 10)).fit(X, y)
    for attack in ("fgsm", "pgd", "noise", "square", "apgd"):
        scorer = make_robustness_scorer(
            attack, **({"sigma": 0.0} if attack == "noise" else {"eps": 0.0}),
            clamp=(0, 1))
        with pytest.raises(ValueError, match=r"clamp=\(0, 1\).*0 to 16"):
            scorer(net, X, y)
    # Data inside the range pass, up to rounding.
    inside = np.nextafter(X / 16, 2, dtype=np.float32)
    assert 0 <= pgd_accuracy_scorer(0.1, clamp=(0, 1))(
        net, np.minimum(inside, 1), y) <= 1


def test_lipschitz_scorer_and_tools_check_their_parameters_first(digits):
    X, y = digits
    with pytest.raises(ValueError, match="method must be one of"):
        lipschitz_scorer(method="bogus")
    with pytest.raises(ValueError, match="n_pairs"):
        lipschitz_scorer(n_pairs=-1)
    with pytest.raises(ValueError, match="random_state"):
        lipschitz_scorer(random_state="x")
    net = nn.Linear(64, 10)
    with pytest.raises(ValueError, match=r"n_pairs=1000000000 needs about"):
        lipschitz_lower_bound(net, X, n_pairs=10**9)
    with pytest.raises(ValueError, match=r"n_points=.* needs about"):
        lipschitz_exact_1d(nn.Linear(1, 1), 0.0, 1.0, n_points=10**12)
