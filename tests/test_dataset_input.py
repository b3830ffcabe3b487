"""Fitting and predicting from a torch Dataset (out-of-core data).

A map-style Dataset is read item by item; every regulariser must train from
it exactly as from the equivalent arrays, and the functions that take an
estimator and data must accept it.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sklip import LipschitzClassifier, LipschitzRegressor
from sklip.attacks import FGSMAttack, PGDAttack
from sklip.lipschitz import certified_accuracy, lipschitz_lower_bound
from sklip.metrics import adversarial_neg_mse_scorer, pgd_accuracy_scorer

REGULARIZERS = ["none", "clip", "sumlip", "tv", "ptv", "adversarial"]
FAST = dict(max_epochs=2, hidden_layer_sizes=(16,), batch_size=64,
            lr=0.01, random_state=0)


class MemmapDigits(torch.utils.data.Dataset):
    """Digits on disk, read one row per item (float64 numpy, int label).

    Nothing is loaded up front: each ``__getitem__`` reads one row of a
    memory-mapped file, as a Dataset over data larger than memory would.
    """

    def __init__(self, path, n_samples, n_features, targets):
        self.path = str(path)
        self.shape = (n_samples, n_features)
        self.targets = targets
        self.reads = 0

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        self.reads += 1
        rows = np.memmap(self.path, dtype=np.float64, mode="r",
                         shape=self.shape)
        return np.array(rows[index]), self.targets[index]


class TensorPairs(torch.utils.data.Dataset):
    """Items as ``(tensor, tensor)`` pairs of the arrays' dtypes (float64
    inputs stay float64: the estimator casts them)."""

    def __init__(self, X, y):
        self.X = torch.as_tensor(X)
        self.y = torch.as_tensor(y)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.X[index], self.y[index]


@pytest.fixture(scope="module")
def small(digits):
    X, X_test, y, y_test = digits
    return X[:300], X_test[:100], y[:300], y_test[:100]


@pytest.fixture
def on_disk(small, tmp_path):
    """A function building a MemmapDigits of the training split."""
    X, _, _, _ = small
    path = tmp_path / "digits.f64"
    X.astype(np.float64).tofile(path)

    def make(targets):
        return MemmapDigits(path, *X.shape, targets)
    return make


@pytest.mark.parametrize("regularizer", REGULARIZERS)
def test_classifier_from_dataset_equals_arrays(regularizer, small, on_disk):
    X, X_test, y, _ = small
    dataset = on_disk(y)
    from_arrays = LipschitzClassifier(regularizer=regularizer,
                                      **FAST).fit(X, y)
    from_dataset = LipschitzClassifier(regularizer=regularizer,
                                       classes=range(10),
                                       **FAST).fit(dataset)
    # Streamed: every epoch read every item (plus the few that size the
    # network and seed the Lipschitz monitor).
    assert dataset.reads >= FAST["max_epochs"] * len(dataset)
    assert from_dataset.n_features_in_ == 64
    np.testing.assert_array_equal(from_dataset.classes_, np.arange(10))
    # The same batches in the same order from the same seed: the same
    # network, bit for bit.
    np.testing.assert_array_equal(from_dataset.predict_proba(X_test),
                                  from_arrays.predict_proba(X_test))
    assert from_dataset.history[:, "train_loss"] == \
        from_arrays.history[:, "train_loss"]


@pytest.mark.parametrize("regularizer", REGULARIZERS)
def test_regressor_from_dataset_equals_arrays(regularizer, small):
    X, X_test, y, _ = small
    target = y.astype(np.float64) / 9
    from_arrays = LipschitzRegressor(regularizer=regularizer,
                                     **FAST).fit(X, target)
    from_dataset = LipschitzRegressor(regularizer=regularizer, **FAST).fit(
        TensorPairs(X.astype(np.float64), target))
    prediction = from_dataset.predict(X_test)
    assert prediction.shape == (len(X_test),)
    np.testing.assert_array_equal(prediction, from_arrays.predict(X_test))


def test_regressor_with_two_targets_from_dataset(small):
    X, X_test, y, _ = small
    target = np.column_stack([y / 9, 1 - y / 9])
    reg = LipschitzRegressor(regularizer="tv", **FAST).fit(
        TensorPairs(X, target))
    assert reg.n_outputs_ == 2
    np.testing.assert_array_equal(
        reg.predict(X_test),
        LipschitzRegressor(regularizer="tv", **FAST).fit(X, target)
        .predict(X_test))


def test_string_labels_are_mapped_through_classes(small):
    X, X_test, y, _ = small
    names = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"])

    class Named(torch.utils.data.Dataset):
        def __len__(self):
            return len(X)

        def __getitem__(self, index):
            return X[index], names[y[index]]

    clf = LipschitzClassifier(classes=names, **FAST).fit(Named())
    reference = LipschitzClassifier(**FAST).fit(X, names[y])
    np.testing.assert_array_equal(clf.classes_, np.sort(names))
    np.testing.assert_array_equal(clf.predict(X_test),
                                  reference.predict(X_test))


def test_predict_score_and_measurements_accept_a_dataset(small):
    X, X_test, y, y_test = small
    clf = LipschitzClassifier(**FAST).fit(X, y)
    test_set = TensorPairs(X_test, y_test)
    np.testing.assert_array_equal(clf.predict(test_set), clf.predict(X_test))
    np.testing.assert_array_equal(clf.predict_proba(test_set),
                                  clf.predict_proba(X_test))
    assert clf.score(test_set, y_test) == clf.score(X_test, y_test)
    attack = FGSMAttack(eps=0.1, clamp=(0, 1))
    np.testing.assert_array_equal(attack.generate(clf, test_set, y_test),
                                  attack.generate(clf, X_test, y_test))
    pgd = PGDAttack(eps=1.0, n_iter=3, random_state=0)
    np.testing.assert_array_equal(pgd.generate(clf, test_set, y_test),
                                  pgd.generate(clf, X_test, y_test))
    scorer = pgd_accuracy_scorer(eps=1.0, n_iter=3)
    assert scorer(clf, test_set, y_test) == scorer(clf, X_test, y_test)


def test_lipschitz_functions_accept_a_dataset(small):
    X, X_test, y, y_test = small
    clf = LipschitzClassifier(**FAST).fit(X, y)
    test_set = TensorPairs(X_test, y_test)
    assert lipschitz_lower_bound(clf, test_set, random_state=0) == \
        lipschitz_lower_bound(clf, X_test, random_state=0)
    assert certified_accuracy(clf, test_set, y_test, eps=0.01) == \
        certified_accuracy(clf, X_test, y_test, eps=0.01)


def test_regressor_scorer_accepts_a_dataset(small):
    X, X_test, y, y_test = small
    reg = LipschitzRegressor(**FAST).fit(X, y / 9)
    scorer = adversarial_neg_mse_scorer("fgsm", eps=0.1)
    assert scorer(reg, TensorPairs(X_test, y_test / 9), y_test / 9) == \
        scorer(reg, X_test, y_test / 9)


def test_partial_fit_on_a_dataset_with_classes(small):
    X, X_test, y, _ = small
    dataset = TensorPairs(X, y)
    clf = LipschitzClassifier(**FAST)
    clf.partial_fit(dataset, classes=np.arange(10))
    clf.partial_fit(dataset)
    assert len(clf.history) == 2 * FAST["max_epochs"]
    with pytest.raises(ValueError, match="not the same as in the first fit"):
        clf.partial_fit(dataset, classes=np.arange(11))
    # Arrays and Datasets mix after the first call.
    clf.partial_fit(X, y)
    assert clf.predict(X_test).shape == (len(X_test),)


def test_classes_parameter_with_arrays(small):
    X, _, y, _ = small
    kept = y < 5
    clf = LipschitzClassifier(classes=range(10), **FAST).fit(X[kept],
                                                             y[kept])
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    assert clf.predict_proba(X[:3]).shape == (3, 10)
    with pytest.raises(ValueError, match=r"not in classes \[0, 1, 2\]"):
        LipschitzClassifier(classes=[0, 1, 2], **FAST).fit(X, y)
    with pytest.raises(ValueError, match="classes must be a non-empty 1-D"):
        LipschitzClassifier(classes=[], **FAST).fit(X, y)
    with pytest.raises(ValueError, match="classes must be a non-empty 1-D"):
        LipschitzClassifier(classes=[0.5, 1.5], **FAST).fit(X, y)


def test_estimator_fitted_on_a_dataset_clones_and_pickles(small):
    X, X_test, y, _ = small
    clf = LipschitzClassifier(classes=range(10), **FAST).fit(
        TensorPairs(X, y))
    assert clone(clf).get_params()["classes"] == range(10)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X_test),
                                  clf.predict(X_test))


# ----------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------
def test_classifier_needs_classes_for_a_dataset(small):
    X, _, y, _ = small
    with pytest.raises(ValueError, match="needs the classes parameter"):
        LipschitzClassifier(**FAST).fit(TensorPairs(X, y))


def test_unknown_label_names_the_item(small):
    X, _, y, _ = small
    with pytest.raises(ValueError, match=r"item \d+ of the Dataset has label"):
        LipschitzClassifier(classes=range(5), **FAST).fit(TensorPairs(X, y))


@pytest.mark.parametrize("Estimator", [LipschitzClassifier,
                                       LipschitzRegressor])
def test_nan_in_one_item_stops_training(Estimator, small):
    X, _, y, _ = small
    X = X.copy()
    X[123, 7] = np.nan
    params = {"classes": range(10)} if Estimator is LipschitzClassifier \
        else {}
    with pytest.raises(ValueError,
                       match="NaN or infinity: item 123 of the Dataset"):
        Estimator(**params, **FAST).fit(TensorPairs(X, y))


def test_nan_target_of_a_regressor_names_the_item(small):
    X, _, y, _ = small
    target = y.astype(np.float64)
    target[42] = np.inf
    with pytest.raises(ValueError, match="item 42 of the Dataset has a target"):
        LipschitzRegressor(**FAST).fit(TensorPairs(X, target))


def test_item_of_another_shape(small):
    X, _, y, _ = small

    class Ragged(TensorPairs):
        def __getitem__(self, index):
            x, target = super().__getitem__(index)
            return (x[:-1] if index == 5 else x), target

    with pytest.raises(ValueError, match=r"item 5 of the Dataset has an input "
                                         r"of shape \(63,\), expected \(64,\)"):
        LipschitzRegressor(**FAST).fit(Ragged(X, y))
    clf = LipschitzRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="item 5 of the Dataset"):
        clf.predict(Ragged(X, y))


def test_iterable_dataset_is_refused(small):
    X, _, y, _ = small

    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(zip(X, y))

    with pytest.raises(TypeError, match="map-style torch Dataset"):
        LipschitzRegressor(**FAST).fit(Stream())


def test_empty_dataset(small):
    X, _, y, _ = small
    with pytest.raises(ValueError, match="empty Dataset"):
        LipschitzRegressor(**FAST).fit(TensorPairs(X[:0], y[:0]))
