"""The main job on a tiny setting: table columns, files, and bad options."""

import csv
import json

import numpy as np
import pytest

from sklip.__main__ import main
from sklip import LipschitzClassifier
from sklip.benchmark import METHODS, method_params, run_benchmark

from .conftest import MNIST_DIR

CLASSIFICATION_COLUMNS = ["method", "train_acc", "clean_acc", "fgsm_acc",
                          "pgd_acc", "worst_case_acc", "noise_acc",
                          "certified@0.1", "certified@0.3",
                          "certified_bound", "lip_lower", "lip_upper",
                          "seconds", "time_ratio", "worst_case_seconds"]


@pytest.mark.parametrize("method, attack, norm, epsilon", [
    # The slides' "ADV FGSM" (Table 1) next to PGD adversarial training.
    ("adversarial_fgsm", "fgsm", "inf", 0.1),
    ("adversarial", "pgd", 2, 3.0),
])
def test_adversarial_training_rows(digits, method, attack, norm, epsilon):
    X, _, y, _ = digits
    clf = LipschitzClassifier(max_epochs=1, random_state=0,
                              **method_params(method, 2.0)).fit(X, y)
    assert clf.regularizer_.attack == attack
    assert clf.regularizer_.norm == norm
    assert clf.epsilon_ == pytest.approx(epsilon)
    assert method in METHODS


def test_benchmark_on_digits_writes_table_and_plots(tmp_path):
    result = run_benchmark("digits", METHODS, epochs=1, pgd_n_iter=3,
                           square_queries=20, curve_points=100,
                           output_dir=tmp_path, progress=False)
    assert [row["method"] for row in result.rows] == list(METHODS)
    assert list(result.rows[0]) == CLASSIFICATION_COLUMNS
    for row in result.rows:
        assert 0 <= row["pgd_acc"] <= row["clean_acc"] + 1e-9
        # The worst case includes a stronger PGD: never above it.
        assert row["worst_case_acc"] <= row["pgd_acc"] + 0.01
        assert 0 <= row["certified@0.3"] <= row["certified@0.1"] \
            <= row["clean_acc"] + 1e-9
        # ReLU MLPs get the local bound; the 1-Lipschitz network (GroupSort)
        # the pairwise one.
        assert row["certified_bound"] == (
            "pairwise" if row["method"] == "one_lipschitz" else "local")
        assert 0 < row["lip_lower"] <= row["lip_upper"] * (1 + 1e-6)
        assert row["seconds"] > 0
    assert result.rows[0]["time_ratio"] == pytest.approx(1.0)
    names = {p.name for p in result.files}
    assert names == {"results.csv", "results.json", "robustness_fgsm.png",
                     "robustness_pgd.png", "robustness_worst_case.png",
                     "robustness_noise.png", "robustness_certified.png",
                     "training_history.png"}
    for path in result.files:
        assert path.stat().st_size > 0
    with open(tmp_path / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == list(METHODS)
    payload = json.loads((tmp_path / "results.json").read_text())
    assert set(payload["curves"]) == {"fgsm", "pgd", "worst_case", "noise",
                                      "certified"}
    worst = payload["curves"]["worst_case"]["tv"]
    assert worst["n_samples"] == 100 and worst["attack"] == "worst_case"
    assert len(worst["eps_values"]) == len(worst["accuracy"])
    # The certified curve: up to twice the largest certified radius,
    # falling, and matching the table's column where they meet.
    rows = {row["method"]: row for row in result.rows}
    for method, curve in payload["curves"]["certified"].items():
        radii, accuracy = curve["eps_values"], curve["accuracy"]
        assert radii[0] == 0 and radii[-1] == pytest.approx(0.6)
        assert curve["attack_params"]["bound"] == rows[method][
            "certified_bound"]
        assert np.all(np.diff(accuracy) <= 1e-12), method
        assert accuracy[0] <= rows[method]["clean_acc"] + 1e-9
        assert radii[4] == pytest.approx(0.3)
        assert accuracy[4] == pytest.approx(rows[method]["certified@0.3"])
    settings = payload["settings"]
    assert settings["dataset"] == "digits"
    assert settings["pgd_n_iter"] == 3
    assert settings["certify_eps"] == [0.1, 0.3]


@pytest.mark.parametrize("option, value", [
    ("square_queries", 0), ("curve_points", 0), ("pgd_n_iter", 0),
    ("certify_eps", -0.1)])
def test_benchmark_checks_its_budgets_before_training(option, value,
                                                      monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the options")

    monkeypatch.setattr("sklip.benchmark.fit_all", no_training)
    with pytest.raises(ValueError, match=option):
        run_benchmark("digits", ["none"], progress=False, **{option: value})


def test_benchmark_polynomial_runs_every_regression_method(tmp_path,
                                                          monkeypatch):
    seen = []
    monkeypatch.setattr("sklip.benchmark.fit_all",
                        lambda methods, *args: seen.append(methods) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        run_benchmark("polynomial", progress=False)
    assert "margin" not in seen[0] and "clip" in seen[0]
    with pytest.raises(ValueError, match="need class labels"):
        run_benchmark("polynomial", ["margin"], progress=False)


def test_benchmark_polynomial(tmp_path):
    result = run_benchmark("polynomial", ["none", "clip"], epochs=2,
                           output_dir=tmp_path, progress=False)
    assert list(result.rows[0]) == ["method", "train_r2", "test_r2",
                                    "lip_exact", "lip_upper", "seconds",
                                    "time_ratio"]
    assert (tmp_path / "polynomial_fits.png").stat().st_size > 0


def test_benchmark_without_standard_training_has_no_time_ratio(tmp_path):
    result = run_benchmark("polynomial", ["clip", "tv"], epochs=1,
                           output_dir=tmp_path, progress=False)
    # No "none" run, no baseline: the column is left out, not NaN.
    for row in result.rows:
        assert "time_ratio" not in row and row["seconds"] > 0
    assert "time_ratio" not in result.table()
    assert "nan" not in result.table()
    with open(tmp_path / "results.csv") as f:
        assert "time_ratio" not in next(csv.reader(f))


def test_time_columns_relative_to_standard_training():
    from sklip._benchmark_eval import _time_columns

    seconds = {"none": 2.0, "clip": 3.0}
    assert _time_columns(seconds, "clip") == {"seconds": 3.0,
                                              "time_ratio": 1.5}
    assert _time_columns({"clip": 3.0}, "clip") == {"seconds": 3.0}


@pytest.mark.parametrize("words", [
    ["clip", "tv"], ["clip,tv"], ["clip,", "tv"], ["clip, tv"],
    ["clip", ",tv,"]])
def test_cli_methods_take_spaces_and_commas(words, monkeypatch, capsys):
    seen = {}

    class Result:
        settings = {"epochs": 1}
        files = []

        def table(self):
            return "table"

    def fake_run(dataset, methods, **kwargs):
        seen["methods"] = methods
        return Result()

    monkeypatch.setattr("sklip.benchmark.run_benchmark", fake_run)
    assert main(["benchmark", "--methods", *words, "--no-progress"]) == 0
    assert seen["methods"] == ["clip", "tv"]


def test_cli_without_methods_runs_all(monkeypatch, capsys):
    seen = {}

    class Stop(Exception):
        pass

    def fake_run(dataset, methods, **kwargs):
        seen["methods"] = methods
        raise Stop

    monkeypatch.setattr("sklip.benchmark.run_benchmark", fake_run)
    with pytest.raises(Stop):
        main(["benchmark"])
    assert seen["methods"] is None  # run_benchmark's default: all


def test_cli_prints_table_on_mnist(tmp_path, capsys):
    status = main(["benchmark", "--dataset", "mnist", "--data-dir",
                   str(MNIST_DIR), "--methods", "none,tv", "--epochs", "1",
                   "--pgd-n-iter", "2", "--square-queries", "10",
                   "--certify-eps", "0.05", "0.2", "--output", str(tmp_path),
                   "--no-progress"])
    out = capsys.readouterr().out
    assert status == 0
    settings = json.loads((tmp_path / "results.json").read_text())["settings"]
    assert settings["pgd_n_iter"] == 2
    assert settings["certify_eps"] == [0.05, 0.2]
    assert "certified@0.05" in out and "certified@0.2" in out
    assert "clean_acc" in out and "pgd_acc" in out
    assert "worst_case_acc" in out
    assert out.count("\ntv ") == 1


@pytest.mark.parametrize("argv, message", [
    (["benchmark", "--dataset", "cifar"], "invalid choice"),
    (["benchmark", "--methods", "none,lasso"], "unknown method"),
    (["benchmark", "--methods", "none", "lasso"], "unknown method"),
    (["benchmark", "--methods", ","], "--methods must name at least one"),
    (["benchmark", "--epochs", "-3"], "--epochs"),
    (["benchmark", "--dataset", "mnist", "--data-dir", "."], "MNIST"),
    (["benchmark", "--dataset", "mnist"], "--data-dir is required"),
    (["benchmark", "--square-queries", "0"], "--square-queries"),
    (["benchmark", "--pgd-n-iter", "0"], "--pgd-n-iter"),
    (["benchmark", "--certify-eps", "-0.1"], "--certify-eps"),
    (["benchmark", "--n-jobs", "0"], "--n-jobs must be a non-zero integer"),
    (["benchmark", "--path", "--n-jobs", "2"], "--n-jobs does not apply"),
])
def test_cli_bad_options_give_one_clear_line(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_timing_mode_reports_ratios_to_standard_training(capsys):
    # Standard training is timed as the reference even when not asked for;
    # methods separated by spaces, as by commas.
    status = main(["benchmark", "--timing", "--methods", "clip", "tv",
                   "--epochs", "2"])
    out = capsys.readouterr().out
    assert status == 0
    rows = {line.split("  ")[0].strip(): line.split()[-2:]
            for line in out.splitlines()[3:]}
    assert set(rows) == {"none", "none + monitor", "clip", "tv",
                         "hand loop, DataLoader", "hand loop, tensor slices"}
    assert float(rows["none"][1]) == 1.0
    assert all(float(sec) > 0 for sec, _ in rows.values())
    assert all(np.isfinite(float(ratio)) for _, ratio in rows.values())


def test_timing_mode_tiles_the_training_set(capsys):
    status = main(["benchmark", "--timing", "--methods", "none",
                   "--epochs", "1", "--tile", "3"])
    header = capsys.readouterr().out.splitlines()[0]
    assert status == 0
    # digits: 1,347 training images (75 % of 1,797), repeated three times
    assert "4041 training samples (1347 tiled 3 times)" in header


@pytest.mark.parametrize("argv, message", [
    (["--timing", "--tile", "0"], "--tile must be a positive integer"),
    (["--tile", "2"], "--tile only applies to --timing"),
])
def test_tile_option_is_checked(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(["benchmark"] + argv)
    assert message in capsys.readouterr().err


def test_timing_mode_refuses_regression(capsys):
    with pytest.raises(SystemExit):
        main(["benchmark", "--timing", "--dataset", "polynomial"])
    assert "--timing measures classifiers" in capsys.readouterr().err


def test_parallel_measurement_gives_the_sequential_results():
    # Every attack is seeded afresh per method, so processes measuring the
    # methods at once give the table and curves of one process.
    options = dict(epochs=1, pgd_n_iter=2, square_queries=10,
                   curve_points=60, progress=False)
    methods = ["none", "clip", "tv"]
    one = run_benchmark("digits", methods, n_jobs=1, **options)
    two = run_benchmark("digits", methods, n_jobs=2, **options)
    for row_one, row_two in zip(one.rows, two.rows):
        for key in row_one:
            if key not in ("seconds", "time_ratio", "worst_case_seconds"):
                assert row_one[key] == row_two[key], (row_one["method"], key)
    for attack, by_method in one.curves.items():
        for method, curve in by_method.items():
            np.testing.assert_array_equal(
                curve["accuracy"], two.curves[attack][method]["accuracy"])


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2", True])
def test_n_jobs_is_checked(n_jobs):
    with pytest.raises((ValueError, TypeError), match="n_jobs must be"):
        run_benchmark("digits", ["none"], n_jobs=n_jobs)


def test_progress_bar_stays_out_of_the_fitted_estimators(digits):
    # The benchmark hands its fitted estimators to worker processes: a
    # tqdm bar writing to stderr pickled with them failed to unpickle there
    # (RecursionError in tqdm's stream wrapper), so the default
    # `sklip benchmark`, with its progress bar, crashed.
    import pickle

    from tqdm.auto import tqdm

    from sklip._benchmark_fit import EpochProgress

    X_train, _, y_train, _ = digits
    with tqdm(total=2, leave=False) as bar:
        est = LipschitzClassifier(
            max_epochs=2, hidden_layer_sizes=(16,), random_state=0,
            callbacks=[("progress", EpochProgress(bar))]).fit(
                X_train[:200], y_train[:200])
        assert bar.n == 2
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X_train[:50]),
                                  est.predict(X_train[:50]))
    restored.partial_fit(X_train[:200], y_train[:200])  # no bar: no update
