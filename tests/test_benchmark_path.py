"""``sklip benchmark --path``: every method along a λ path with warm
starts, scored clean and under the worst case, written as path.csv and
frontier.png; its options refused in one line before training."""

import csv

import numpy as np
import pytest

from sklip import LipschitzClassifier
from sklip.__main__ import main
from sklip._benchmark_path import (PATH_COLUMNS, _method_path,
                                   default_lambda, path_lambdas)
from sklip.attacks import get_attack
from sklip.benchmark import PathResult, check_options, run_path
from sklip.plotting import FrontierDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


# A network trained for an epoch or two on 200 digits is meant to be
# cheap, not good: its collapse warnings are expected here.
_TINY = pytest.mark.filterwarnings(
    "ignore:.*collapsed:sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize("n_points", [2, 3, 4, 6, 7])
def test_path_holds_the_default_and_spans_three_decades(n_points):
    lambdas = path_lambdas(0.5, n_points)
    assert len(lambdas) == n_points
    assert np.all(np.diff(lambdas) > 0)
    assert np.any(np.isclose(lambdas, 0.5, rtol=1e-12))
    # Evenly spaced in log over three decades.
    np.testing.assert_allclose(np.log10(lambdas[-1] / lambdas[0]), 3.0)
    assert len(set(np.round(np.diff(np.log10(lambdas)), 9))) == 1


def test_path_of_six_points():
    np.testing.assert_allclose(
        path_lambdas(1.0, 6), 10.0 ** np.array([-1.8, -1.2, -0.6, 0, 0.6,
                                                1.2]))


@_TINY
def test_default_lambda_is_the_lambda_the_estimator_trains_with(digits):
    X, _, y, _ = digits
    assert default_lambda({"regularizer": "ptv", "reg_lambda": 1.0}, X,
                          y) == 1.0
    for regularizer in ("tv", "clip", "margin", "none"):
        clf = LipschitzClassifier(regularizer=regularizer,
                                  hidden_layer_sizes=(8,), max_epochs=1,
                                  random_state=0).fit(X[:200], y[:200])
        assert default_lambda(clf.get_params(), X[:200], y[:200]) \
            == pytest.approx(clf.reg_lambda_)


@_TINY
def test_each_point_trains_with_its_lambda_from_the_previous_network(
        digits):
    X_train, X_test, y_train, y_test = digits
    data = (X_train[:200], X_test[:50], y_train[:200], y_test[:50])
    est = LipschitzClassifier(regularizer="tv", reg_lambda=0.1,
                              hidden_layer_sizes=(8,), random_state=0)
    settings = {"epochs": 2, "path_epochs": 1, "path_points": 3,
                "n_robust": 20, "pgd_eps": 1.0}
    rows = _method_path("tv", est, data, get_attack("noise", sigma=0.1),
                        settings)
    lambdas = [row["reg_lambda"] for row in rows]
    np.testing.assert_allclose(lambdas, path_lambdas(0.1, 3))
    assert [row["epochs"] for row in rows] == [2, 1, 1]
    assert [row["is_default"] for row in rows] == [False, True, False]
    # One history across the path (warm starts, nothing re-initialised),
    # each epoch trained with the λ of its point.
    np.testing.assert_allclose(est.history[:, "reg_lambda"],
                               [lambdas[0]] * 2 + lambdas[1:])
    for row in rows:
        assert 0 <= row["robust"] <= 1 and 0 <= row["clean"] <= 1
        assert row["attack"] == "worst_case" and row["seconds"] > 0


@_TINY
def test_run_path_writes_csv_json_and_frontier(tmp_path):
    result = run_path("digits", ["none", "tv", "margin"], epochs=1,
                      path_points=3, path_epochs=1, pgd_n_iter=2,
                      square_queries=10, curve_points=30,
                      output_dir=tmp_path, progress=False)
    assert isinstance(result, PathResult)
    assert [row["method"] for row in result.rows] == ["none"] + ["tv"] * 3 \
        + ["margin"] * 3
    assert result.rows[0]["reg_lambda"] == 0.0
    for method in ("tv", "margin"):
        rows = [r for r in result.rows if r["method"] == method]
        assert np.all(np.diff([r["reg_lambda"] for r in rows]) > 0)
        assert sum(r["is_default"] for r in rows) == 1
    assert result.settings["n_robust"] == 30
    assert result.settings["pgd_eps"] == 1.0
    assert {p.name for p in result.files} == {"path.csv", "path.json",
                                              "frontier.png"}
    assert (tmp_path / "frontier.png").stat().st_size > 0
    with open(tmp_path / "path.csv") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == PATH_COLUMNS
        assert len(list(reader)) == 7
    assert "default" in result.table()
    disp = FrontierDisplay.from_benchmark(tmp_path)
    assert [line.get_label() for line in disp.lines_] == ["none", "tv",
                                                          "margin"]


def _fake_rows(methods, make, data, attack, settings, progress=True):
    """Stands for the training: the rows of two tiny paths."""
    assert attack.eps == settings["pgd_eps"]
    return [{"method": "none", "reg_lambda": 0.0, "is_default": True,
             "clean": 0.9, "robust": 0.1, "attack": "worst_case",
             "eps": settings["pgd_eps"], "epochs": settings["epochs"],
             "seconds": 1.0}] + [
        {"method": "tv", "reg_lambda": lam, "is_default": lam == 0.1,
         "clean": 0.9 - lam, "robust": 0.1 + lam, "attack": "worst_case",
         "eps": settings["pgd_eps"], "epochs": settings["path_epochs"],
         "seconds": 1.0} for lam in (0.01, 0.1, 0.2)]


def test_cli_path_prints_the_path_and_writes_the_frontier(tmp_path,
                                                          monkeypatch,
                                                          capsys):
    monkeypatch.setattr("sklip._benchmark_path.train_paths", _fake_rows)
    assert main(["benchmark", "--path", "--methods", "none,tv", "--epochs",
                 "9", "--pgd-eps", "0.5", "--output", str(tmp_path),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sklip benchmark --path: digits, 6 λ per method, "
                          "9 epochs for the first and 3 warm-started")
    assert "L2 ε = 0.5" in out and "wrote" in out
    assert (tmp_path / "frontier.png").stat().st_size > 0


@pytest.fixture
def no_training(monkeypatch):
    def train(*args, **kwargs):
        raise AssertionError("trained before the options were checked")

    monkeypatch.setattr("sklip._benchmark_path.train_paths", train)
    monkeypatch.setattr("sklip.benchmark.fit_all", train)
    monkeypatch.setattr("sklip.timing.time_methods", train)


BAD_PATH_OPTIONS = [
    ("--path-points", ["--path", "--path-points", "1"]),
    ("--path-points", ["--path", "--path-points", "2.5"]),
    ("--path-points", ["--path-points", "4"]),  # without --path
    ("--path-epochs", ["--path", "--path-epochs", "0"]),
    ("--path-epochs", ["--path-epochs", "2"]),
    ("--path", ["--path", "--timing"]),
    ("--path", ["--path", "--dataset", "polynomial"]),
    ("--certify-eps", ["--path", "--certify-eps", "0.1"]),
    ("--fgsm-eps", ["--path", "--fgsm-eps", "0.1"]),
    ("--pgd-eps", ["--path", "--pgd-eps", "-1"]),
    ("--methods", ["--path", "--methods", "lasso"]),
    ("--epochs", ["--path", "--epochs", "0"]),
]


@pytest.mark.parametrize("option, argv", BAD_PATH_OPTIONS,
                         ids=[" ".join(a) for _, a in BAD_PATH_OPTIONS])
def test_bad_path_option_is_one_line_before_training(option, argv, tmp_path,
                                                     monkeypatch, capsys,
                                                     no_training):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["benchmark", "--no-progress", *argv])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sklip benchmark: error: ")
    assert option in lines[0]


@pytest.mark.parametrize("kwargs, error, parameter", [
    ({"path_points": 1}, ValueError, "path_points"),
    ({"path_points": 2.0}, TypeError, "path_points"),
    ({"path_epochs": 0}, ValueError, "path_epochs"),
    ({"dataset": "polynomial"}, ValueError, "dataset"),
    ({"curve_points": 0}, ValueError, "curve_points"),
])
def test_run_path_names_the_parameter(kwargs, error, parameter,
                                      no_training):
    kwargs = {"progress": False, **kwargs}
    with pytest.raises(error, match=parameter) as info:
        run_path(**kwargs)
    assert info.value.parameter == parameter


def test_path_options_belong_to_the_path_mode():
    with pytest.raises(TypeError, match="path_points"):
        check_options("digits", path_points=3)
    checked = check_options("digits", path=True, epochs=10)
    assert (checked["path_points"], checked["path_epochs"]) == (6, 3)
