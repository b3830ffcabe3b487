"""The accuracy–robustness frontier: drawn from records, from a fitted CV
estimator, from a grid search and from the path benchmark's files, with
every point's λ written, the chosen λ starred, and wrong input named."""

import csv
import json

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from sklip import LipschitzClassifier  # noqa: E402
from sklip.metrics import noise_accuracy_scorer  # noqa: E402
from sklip.plotting import FrontierDisplay  # noqa: E402

from .test_plotting import _assert_legend_outside  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def _texts(ax):
    """The visible labels (overlapping ones are hidden)."""
    return [t.get_text() for t in ax.texts if t.get_visible()]


def _stars(ax):
    return [line for line in ax.get_lines() if line.get_marker() == "*"]


TV = {"lambdas": [0.1, 0.01, 1.0], "clean": [0.95, 0.97, 0.80],
      "robust": [0.45, 0.20, 0.50], "chosen_lambda": 0.1}


def test_records_draw_one_path_per_method_with_lambdas_and_star():
    disp = FrontierDisplay(
        {"tv": TV, "none": {"lambdas": [0.0], "clean": [0.97],
                            "robust": [0.05]}},
        robust_name="worst-case accuracy (L2 ε = 2)").plot()
    assert [line.get_label() for line in disp.lines_] == ["tv", "none"]
    # Joined in increasing λ, whatever the order given.
    np.testing.assert_allclose(disp.lines_[0].get_xdata(), [0.97, 0.95, 0.8])
    np.testing.assert_allclose(disp.lines_[0].get_ydata(), [0.2, 0.45, 0.5])
    # Every λ of the path is written; standard training's λ = 0 is not.
    assert sorted(_texts(disp.ax_)) == ["0.01", "0.1", "1"]
    (star,) = _stars(disp.ax_)
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (0.95, 0.45)
    assert disp.ax_.get_xlabel() == "clean accuracy"
    assert disp.ax_.get_ylabel() == "worst-case accuracy (L2 ε = 2)"
    assert "λ" in disp.ax_.get_title()
    legend = disp.ax_.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["tv", "none",
                                                          "chosen λ"]
    _assert_legend_outside(legend, [disp.ax_])
    assert disp.figure_ is disp.ax_.figure


def test_list_of_records_on_given_axes_with_plot_kwargs():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    records = [{"method": "tv", **TV},
               {"method": "clip", "lambdas": [0.1, 1.0], "clean": [0.9, 0.8],
                "robust": [0.3, 0.4], "clean_std": [0.01, 0.02],
                "robust_std": [0.03, 0.04]}]
    disp = FrontierDisplay(records).plot(ax=ax, annotate=False, linewidth=3)
    assert disp.ax_ is ax
    assert [line.get_linewidth() for line in disp.lines_] == [3, 3]
    assert _texts(ax) == []
    styles = {(line.get_color(), line.get_marker()) for line in disp.lines_}
    assert len(styles) == 2
    # Error bars of the record with standard deviations.
    assert len(ax.collections) >= 1


def test_collapsed_points_sit_on_the_left_edge_with_their_score():
    collapsed = {"lambdas": [0.1, 1.0, 10.0], "clean": [0.95, 0.9, 0.1],
                 "robust": [0.3, 0.4, 0.1], "chosen_lambda": 1.0}
    disp = FrontierDisplay({"tv": collapsed}).plot(clean_min=0.8)
    np.testing.assert_allclose(disp.lines_[0].get_xdata(), [0.95, 0.9, 0.8])
    assert disp.ax_.get_xlim()[0] < 0.8 < disp.ax_.get_xlim()[0] + 0.02
    assert "10 (clean 0.10)" in _texts(disp.ax_)
    assert [line.get_marker() for line in disp.ax_.get_lines()].count(
        "<") == 1


def test_overlapping_labels_keep_the_chosen_one():
    # The first and the fifth method write their labels on the same side
    # of their points, which coincide at λ = 0.001: one label shows, the
    # chosen point's.
    same = {"lambdas": [0.001, 1.0], "clean": [0.97, 0.8],
            "robust": [0.01, 0.4]}
    elsewhere = {"lambdas": [5.0], "clean": [0.5], "robust": [0.5]}
    disp = FrontierDisplay({
        "a": same, "b": elsewhere, "c": elsewhere, "d": elsewhere,
        "e": {"lambdas": [0.001, 2.0], "clean": [0.97, 0.6],
              "robust": [0.01, 0.45], "chosen_lambda": 0.001}}
    ).plot()
    texts = _texts(disp.ax_)
    assert texts.count("0.001") == 1 and "1" in texts and "2" in texts
    shown = next(t for t in disp.ax_.texts
                 if t.get_visible() and t.get_text() == "0.001")
    assert shown.get_color() == disp.lines_[4].get_color()


@pytest.mark.parametrize("frontiers, message", [
    ({"tv": {"lambdas": [0.1], "clean": [0.9]}}, r"frontiers\['tv'\] has no "
     r"key\(s\) \['robust'\]"),
    ({"tv": {**TV, "robust": [0.1, 0.2]}}, r"frontiers\['tv'\]\['robust'\] "
     r"has 2 values; frontiers\['tv'\]\['lambdas'\] has 3"),
    ({"tv": {**TV, "chosen_lambda": 0.5}}, r"\['chosen_lambda'\] = 0.5 is "
     r"not one of its lambdas"),
    ({"tv": {**TV, "lambdas": [-1, 0, 1]}}, r"\['lambdas'\] must be >= 0"),
    ({"tv": {**TV, "clean": "high"}}, r"\['clean'\] must be numbers"),
    ([{"lambdas": [1.0], "clean": [1.0], "robust": [1.0]}],
     r"frontiers\[0\] must be a dict with a 'method' key"),
    ({}, "at least one frontier"),
])
def test_wrong_records_are_named(frontiers, message):
    with pytest.raises(ValueError, match=message):
        FrontierDisplay(frontiers).plot()


class _FittedCV:
    """Stands for a fitted LipschitzClassifierCV: the attributes it
    exposes, and its ``regularizer`` parameter."""

    def __init__(self, regularizer, scores, robust_scores, reg_lambda,
                 lambdas=(0.01, 0.1, 1.0)):
        self.regularizer = regularizer
        self.lambdas_ = np.asarray(lambdas)
        self.scores_ = np.asarray(scores)
        self.robust_scores_ = np.asarray(robust_scores)
        self.reg_lambda_ = reg_lambda
        self.robust_scoring_name_ = "worst_case_accuracy"

    def get_params(self, deep=True):
        return {"regularizer": self.regularizer}


def _cv(regularizer="tv", reg_lambda=0.1, **kwargs):
    return _FittedCV(regularizer, [[0.97, 0.95, 0.8], [0.95, 0.93, 0.7]],
                     [[0.2, 0.4, 0.5], [0.1, 0.3, 0.4]], reg_lambda, **kwargs)


def test_from_cv_estimator_draws_fold_means_and_the_chosen_lambda():
    disp = FrontierDisplay.from_cv_estimator([_cv(), _cv("clip", 1.0)])
    assert [line.get_label() for line in disp.lines_] == ["tv", "clip"]
    np.testing.assert_allclose(disp.lines_[0].get_xdata(), [0.96, 0.94, 0.75])
    np.testing.assert_allclose(disp.lines_[0].get_ydata(), [0.15, 0.35, 0.45])
    stars = _stars(disp.ax_)
    assert [(s.get_xdata()[0], s.get_ydata()[0]) for s in stars] == [
        pytest.approx((0.94, 0.35)), pytest.approx((0.75, 0.45))]
    assert disp.ax_.get_ylabel() == "worst_case_accuracy"
    assert disp.ax_.get_xlabel() == "clean accuracy"
    # The folds' spread as error bars.
    assert disp.ax_.collections


def test_from_cv_estimator_labels_one_entry_per_estimator():
    disp = FrontierDisplay.from_cv_estimator(_cv())
    assert [line.get_label() for line in disp.lines_] == ["tv"]
    disp = FrontierDisplay.from_cv_estimator([_cv(), _cv()])
    assert [line.get_label() for line in disp.lines_] == ["tv", "tv (2)"]
    disp = FrontierDisplay.from_cv_estimator({"small": _cv(), "big": _cv()},
                                             robust_name="PGD accuracy")
    assert [line.get_label() for line in disp.lines_] == ["small", "big"]
    assert disp.ax_.get_ylabel() == "PGD accuracy"


def test_from_cv_estimator_names_wrong_estimators():
    unfitted = _cv()
    del unfitted.robust_scores_
    with pytest.raises(NotFittedError, match=r"cv_estimators\[1\] has no "
                       r"\['robust_scores_'\]"):
        FrontierDisplay.from_cv_estimator([_cv(), unfitted])
    with pytest.raises(ValueError, match=r"cv_estimators.scores_ must have "
                       r"shape \(n_folds, 4\) for 4 lambdas_, got \(2, 3\)"):
        FrontierDisplay.from_cv_estimator(_cv(lambdas=[0.01, 0.1, 1, 10]))
    with pytest.raises(ValueError, match="labels has 1 entries for 2"):
        FrontierDisplay.from_cv_estimator([_cv(), _cv()], labels=["a"])


@pytest.fixture(scope="module")
def grid_search(digits):
    """A real multi-metric search: λ × two regularisers, and standard
    training as a grid of its own (no λ)."""
    X_train, _, y_train, _ = digits
    search = GridSearchCV(
        LipschitzClassifier(hidden_layer_sizes=(32,), max_epochs=2, lr=0.01,
                            batch_size=32, random_state=0),
        [{"regularizer": ["tv", "sumlip"], "reg_lambda": [0.01, 0.1]},
         {"regularizer": ["none"]}],
        scoring={"accuracy": "accuracy",
                 "noise": noise_accuracy_scorer(sigma=0.3)},
        refit="accuracy", cv=2)
    return search.fit(X_train[:300], y_train[:300])


def test_from_cv_results_one_path_per_regularizer(grid_search):
    results = grid_search.cv_results_
    disp = FrontierDisplay.from_cv_results(
        results, clean_key="accuracy", robust_key="mean_test_noise",
        chosen_index=grid_search.best_index_)
    labels = [line.get_label() for line in disp.lines_]
    assert labels == ["tv", "sumlip", "none"]
    tv = np.flatnonzero(np.ma.getdata(results["param_regularizer"]) == "tv")
    np.testing.assert_allclose(disp.lines_[0].get_xdata(),
                               results["mean_test_accuracy"][tv])
    np.testing.assert_allclose(disp.lines_[0].get_ydata(),
                               results["mean_test_noise"][tv])
    # Standard training has no λ: one point, no λ written.
    assert len(disp.lines_[2].get_xdata()) == 1
    assert sorted(_texts(disp.ax_)) == ["0.01", "0.01", "0.1", "0.1"]
    assert len(_stars(disp.ax_)) == 1
    assert disp.ax_.get_xlabel() == "accuracy"
    assert disp.ax_.get_ylabel() == "noise"


def test_from_cv_results_defaults_and_wrong_keys(grid_search):
    results = grid_search.cv_results_
    # The one other score is the robust one.
    disp = FrontierDisplay.from_cv_results(results)
    assert disp.ax_.get_ylabel() == "noise"
    with pytest.raises(ValueError, match=r"clean_key='acc' names no column"
                       r".*mean_test_accuracy"):
        FrontierDisplay.from_cv_results(results, clean_key="acc")
    with pytest.raises(ValueError, match=r"param='lr'.*no column 'param_lr'"):
        FrontierDisplay.from_cv_results(results, param="lr")
    # Without grouping, two regularisers share each λ: refused, not mixed.
    with pytest.raises(ValueError, match="several rows"):
        FrontierDisplay.from_cv_results(results, group_by=None)
    with pytest.raises(ValueError, match="chosen_index=99"):
        FrontierDisplay.from_cv_results(results, chosen_index=99)
    three = {**results, "mean_test_pgd": results["mean_test_noise"]}
    with pytest.raises(ValueError, match="robust_key must name"):
        FrontierDisplay.from_cv_results(three)
    with pytest.raises(TypeError, match="cv_results must be"):
        FrontierDisplay.from_cv_results([1, 2])


class _PathResult:
    """Stands for what sklip.benchmark.run_path returns."""

    settings = {"dataset": "digits", "pgd_eps": 1.0, "n_test": 450,
                "n_robust": 450}
    rows = [
        {"method": "none", "reg_lambda": 0.0, "is_default": True,
         "clean": 0.97, "robust": 0.05, "attack": "worst_case", "eps": 1.0},
        *({"method": "tv", "reg_lambda": lam, "is_default": lam == 0.1,
           "clean": clean, "robust": robust, "attack": "worst_case",
           "eps": 1.0}
          for lam, clean, robust in [(0.01, 0.97, 0.1), (0.1, 0.95, 0.3),
                                     (1.0, 0.8, 0.4)])]


def _write(folder, kind):
    """The path files as run_path writes them."""
    result = _PathResult()
    if kind == "csv":
        with open(folder / "path.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(result.rows[0]))
            writer.writeheader()
            writer.writerows(result.rows)
        return folder / "path.csv"
    (folder / "path.json").write_text(json.dumps(
        {"settings": result.settings, "rows": result.rows}))
    return folder / "path.json" if kind == "json" else folder


@pytest.mark.parametrize("source", ["object", "csv", "json", "folder"])
def test_from_benchmark_names_attack_radius_and_defaults(source, tmp_path):
    result = _PathResult() if source == "object" else _write(tmp_path,
                                                             source)
    disp = FrontierDisplay.from_benchmark(result)
    assert [line.get_label() for line in disp.lines_] == ["none", "tv"]
    assert "worst-case accuracy at L2 ε = 1" in disp.ax_.get_ylabel()
    assert "clean accuracy" in disp.ax_.get_xlabel()
    (star,) = _stars(disp.ax_)  # tv's default; none has no path
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (0.95, 0.3)
    assert sorted(_texts(disp.ax_)) == ["0.01", "0.1", "1"]
    legend = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert legend[-1] == "benchmark default λ"
    if source in ("object", "json", "folder"):  # the settings came along
        assert "on digits" in disp.ax_.get_title()
        assert "450 test points" in disp.ax_.get_ylabel()


def test_from_benchmark_names_wrong_files(tmp_path):
    with pytest.raises(ValueError, match="result_or_path=.*is not a"):
        FrontierDisplay.from_benchmark(tmp_path / "missing.csv")
    (tmp_path / "results.csv").write_text("method,clean_acc\nnone,0.9\n")
    with pytest.raises(ValueError, match="holds no path rows"):
        FrontierDisplay.from_benchmark(tmp_path / "results.csv")
    with pytest.raises(TypeError, match="result_or_path must be"):
        FrontierDisplay.from_benchmark(3)
