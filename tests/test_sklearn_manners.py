"""The estimators behave as scikit-learn users expect: sklearn's repr,
``sample_weight``, skorch's ``initialize(); load_params(...)`` and
validation scores with a validation split."""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils import estimator_html_repr
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit

from sklip import LipschitzClassifier, LipschitzRegressor

FAST = dict(hidden_layer_sizes=(8,), max_epochs=3, lr=0.01, batch_size=32,
            random_state=0)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32), y


# ----------------------------------------------------------------------
# repr
# ----------------------------------------------------------------------
def test_repr_lists_changed_parameters_only(iris):
    X, y = iris
    clf = LipschitzClassifier(reg_lambda=0.1)
    assert repr(clf) == "LipschitzClassifier(reg_lambda=0.1)"
    assert repr(LipschitzRegressor()) == "LipschitzRegressor()"
    # Prefixed parameters are shown; fitted estimators print the same.
    clf = LipschitzClassifier(module__n_features=4, **FAST).fit(X, y)
    # (the pretty printer wraps long reprs at 80 characters)
    assert " ".join(repr(clf).split()) == (
        "LipschitzClassifier(batch_size=32, hidden_layer_sizes=(8,), "
        "lr=0.01, max_epochs=3, module__n_features=4, random_state=0)")
    assert isinstance(clf.module_, torch.nn.Module)  # still visible
    with sklearn.config_context(print_changed_only=False):
        assert "warm_start=False" in repr(LipschitzClassifier())


def test_repr_inside_grid_search_and_html(iris):
    X, y = iris
    search = GridSearchCV(LipschitzClassifier(**FAST), {"reg_lambda": [0.0]},
                          cv=KFold(2))
    assert "estimator=LipschitzClassifier(batch_size=32" in repr(search)
    search.fit(X, y)
    assert repr(search.best_estimator_).startswith(
        "LipschitzClassifier(batch_size=32")
    html = estimator_html_repr(search)
    assert "LipschitzClassifier" in html and "reg_lambda" in html
    assert "LipschitzClassifier" in search.best_estimator_._repr_html_()


# ----------------------------------------------------------------------
# sample_weight
# ----------------------------------------------------------------------
@pytest.mark.parametrize("weights, match", [
    (np.ones(3), "sample_weight"),
    (-np.ones(150), "sample_weight"),
    (np.full(150, np.nan), "sample_weight"),
    (np.zeros(150), "weight"),
])
def test_bad_sample_weight_is_refused_before_training(weights, match, iris,
                                                      monkeypatch):
    X, y = iris
    clf = LipschitzClassifier(**FAST)
    monkeypatch.setattr(clf, "initialize", lambda: pytest.fail("trained"))
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y, sample_weight=weights)


def test_constant_weights_equal_no_weights(iris):
    X, y = iris
    plain = LipschitzClassifier(**FAST).fit(X, y)
    weighted = LipschitzClassifier(**FAST).fit(X, y, sample_weight=np.full(
        len(y), 3.0))
    np.testing.assert_array_equal(plain.predict_proba(X),
                                  weighted.predict_proba(X))


def _batch_loss(weights):
    """The first training step's loss with ``weights`` (one full batch)."""
    X, y = load_iris(return_X_y=True)
    clf = LipschitzClassifier(regularizer="none", max_epochs=1,
                              batch_size=-1, lr=1e-12, random_state=0)
    clf.fit(X, y, sample_weight=weights)
    logits = clf.forward(X.astype(np.float32))
    losses = torch.nn.functional.cross_entropy(
        logits, torch.as_tensor(y), reduction="none").numpy()
    return clf.history[0, "batches"][0]["train_loss"], losses


def test_loss_is_the_weighted_mean_of_the_sample_losses():
    weights = np.r_[np.zeros(50), np.ones(50), 4 * np.ones(50)]
    recorded, losses = _batch_loss(weights)
    # lr is ~0: the network after the step is the one that was scored.
    assert recorded == pytest.approx(np.average(losses, weights=weights),
                                     rel=1e-5)


def test_zero_weight_removes_a_class_and_weights_move_the_fit(iris):
    X, y = iris
    weights = (y != 0).astype(float)
    params = dict(FAST, max_epochs=30, regularizer="none")
    clf = LipschitzClassifier(**params).fit(X, y, sample_weight=weights)
    assert not np.any(clf.predict(X) == 0)
    assert set(LipschitzClassifier(**params).fit(X, y).predict(X)) == {0, 1, 2}


def test_weights_travel_with_rows_through_loader_and_split(iris):
    X, y = iris
    weights = np.random.default_rng(0).uniform(0.5, 2, len(y))
    params = dict(FAST, train_split=ValidSplit(5, stratified=True))
    fast = LipschitzClassifier(**params).fit(X, y, sample_weight=weights)
    # Any DataLoader argument keeps skorch's own DataLoader: same batches.
    loader = LipschitzClassifier(iterator_train__num_workers=0,
                                 iterator_valid__num_workers=0, **params)
    loader.fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(fast.predict_proba(X), loader.predict_proba(X),
                               rtol=1e-5, atol=1e-6)
    assert fast.history[-1, "valid_acc"] == loader.history[-1, "valid_acc"]


def test_partial_fit_and_regressor_take_weights(iris):
    X, y = iris
    weights = np.linspace(0, 1, len(y))
    clf = LipschitzClassifier(**FAST).partial_fit(X, y, classes=[0, 1, 2],
                                                  sample_weight=weights)
    clf.partial_fit(X, y, sample_weight=weights)
    assert len(clf.history) == 2 * FAST["max_epochs"]
    reg = LipschitzRegressor(**FAST).fit(X[:, :3], X[:, 3],
                                         sample_weight=weights)
    score = reg.history[-1, "train_score"]
    assert np.isfinite(score) and np.isfinite(reg.history[-1, "train_loss"])


def test_criterion_without_reduction_is_explained(iris):
    X, y = iris

    class Plain(torch.nn.Module):
        def forward(self, y_pred, y_true):
            return torch.nn.functional.cross_entropy(y_pred, y_true)

    clf = LipschitzClassifier(criterion=Plain, **FAST)
    with pytest.raises(TypeError, match="reduction"):
        clf.fit(X, y, sample_weight=np.linspace(1, 2, len(y)))


@pytest.mark.parametrize("routing", [False, True])
def test_grid_search_routes_sample_weight(routing, iris):
    X, y = iris
    # Weight zero on class 0: every fold's estimator must ignore it.
    weights = (y != 0).astype(float)
    with sklearn.config_context(enable_metadata_routing=routing):
        clf = LipschitzClassifier(**dict(FAST, regularizer="none",
                                         max_epochs=30))
        if routing:
            clf.set_fit_request(sample_weight=True)
            clf.set_score_request(sample_weight=True)
        search = GridSearchCV(clf, {"lr": [0.01]}, cv=KFold(2, shuffle=True,
                                                            random_state=0))
        search.fit(X, y, sample_weight=weights)
    assert not np.any(search.best_estimator_.predict(X) == 0)


# ----------------------------------------------------------------------
# initialize(); load_params(...)
# ----------------------------------------------------------------------
def test_initialize_without_data_says_what_is_missing():
    with pytest.raises(ValueError, match="module__n_features"):
        LipschitzClassifier(classes=[0, 1]).initialize()
    with pytest.raises(ValueError, match="classes="):
        LipschitzClassifier(module__n_features=4).initialize()
    with pytest.raises(ValueError, match="module__n_outputs"):
        LipschitzRegressor(module__n_features=4).initialize()


def test_load_params_into_a_new_classifier(iris, tmp_path):
    X, y = iris
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    fitted = LipschitzClassifier(**FAST).fit(X, labels)
    fitted.save_params(f_params=tmp_path / "params.pt")
    new = LipschitzClassifier(classes=fitted.classes_, module__n_features=4,
                              **FAST)
    new.initialize().load_params(f_params=tmp_path / "params.pt")
    np.testing.assert_array_equal(new.predict(X), fitted.predict(X))
    np.testing.assert_array_equal(new.predict_proba(X),
                                  fitted.predict_proba(X))
    # Training continues from the loaded weights, learning the data's shape.
    new.partial_fit(X, labels)
    assert new.n_features_in_ == 4


def test_load_params_into_a_module_instance_regressor(iris, tmp_path):
    from sklip.modules import MLP
    X, _ = iris
    fitted = LipschitzRegressor(module=MLP(3, 1, (8,)), **FAST).fit(
        X[:, :3], X[:, 3])
    fitted.save_params(f_params=tmp_path / "params.pt")
    new = LipschitzRegressor(module=MLP(3, 1, (8,)), **FAST).initialize()
    new.load_params(f_params=tmp_path / "params.pt")
    prediction = new.predict(X[:, :3])
    assert prediction.shape == (len(X),)
    np.testing.assert_array_equal(prediction, fitted.predict(X[:, :3]))


# ----------------------------------------------------------------------
# Validation scores and EarlyStopping
# ----------------------------------------------------------------------
def test_validation_scores_are_recorded(iris):
    X, y = iris
    split = ValidSplit(5, stratified=True)
    clf = LipschitzClassifier(train_split=split, **FAST).fit(X, y)
    valid_acc = clf.history[:, "valid_acc"]
    assert len(valid_acc) == FAST["max_epochs"]
    # The score of the validation rows, recomputed from the final network.
    _, valid = split(clf.get_dataset(X, y), y)
    rows = np.asarray(valid.indices)
    assert valid_acc[-1] == pytest.approx(clf.score(X[rows], y[rows]))
    reg = LipschitzRegressor(train_split=ValidSplit(5),
                             **FAST).fit(X[:, :3], X[:, 3])
    assert len(reg.history[:, "valid_r2"]) == FAST["max_epochs"]
    assert "valid_acc" not in LipschitzClassifier(**FAST).fit(
        X, y).history[-1]


def test_early_stopping_needs_a_validation_split(iris, monkeypatch):
    X, y = iris
    clf = LipschitzClassifier(callbacks=[EarlyStopping(patience=1)], **FAST)
    monkeypatch.setattr(type(clf), "train_step",
                        lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match=r"train_split=skorch\.dataset\."
                                         r"ValidSplit"):
        clf.fit(X, y)
    monkeypatch.undo()
    clf.set_params(train_split=ValidSplit(5, stratified=True),
                   callbacks=[EarlyStopping(monitor="valid_acc",
                                            lower_is_better=False,
                                            patience=2)],
                   max_epochs=200).fit(X, y)
    assert len(clf.history) < 200


@pytest.mark.parametrize("estimator", [LipschitzClassifier,
                                       LipschitzRegressor])
def test_a_row_predicts_the_same_bits_alone_or_in_a_batch(estimator):
    # scikit-learn's subset invariance, exactly: float32 products round by
    # the batch's shape, so short batches are padded to the batch size.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 7)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int) if estimator is LipschitzClassifier \
        else X[:, 0].astype(np.float64)
    est = estimator(hidden_layer_sizes=(64, 64), max_epochs=2,
                    batch_size=128, random_state=0,
                    callbacks__collapse=None).fit(X, y)
    predict = est.predict_proba if estimator is LipschitzClassifier \
        else est.predict
    whole = predict(X)
    # Rows alone, and a slice that straddles the batches of 128.
    alone = np.concatenate([predict(X[i:i + 1]) for i in range(0, 300, 7)])
    np.testing.assert_array_equal(alone, whole[::7])
    np.testing.assert_array_equal(predict(X[100:160]), whole[100:160])
