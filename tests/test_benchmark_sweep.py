"""``sklip benchmark --lambdas``: every method at several λ (the slides'
Figure 10)."""

import json

import pytest

from sklip.__main__ import main
from sklip._benchmark_sweep import check_lambdas, sweep_runs
from sklip.benchmark import run_benchmark


def test_runs_are_labelled_by_method_and_lambda():
    runs = sweep_runs(("none", "clip", "tv"), (0.03, 3.0))
    assert runs == {"none": ("none", None),
                    "clip λ=0.03": ("clip", 0.03), "clip λ=3": ("clip", 3.0),
                    "tv λ=0.03": ("tv", 0.03), "tv λ=3": ("tv", 3.0)}
    assert sweep_runs(("none", "clip"), None) == {"none": ("none", None),
                                                  "clip": ("clip", None)}


def test_every_run_trains_at_its_lambda(tmp_path):
    result = run_benchmark("digits", ["none", "clip"], lambdas=[0.01, 1.0],
                           epochs=1, pgd_n_iter=2, square_queries=10,
                           curve_points=50, n_jobs=1, output_dir=tmp_path,
                           progress=False)
    assert [row["method"] for row in result.rows] == [
        "none", "clip λ=0.01", "clip λ=1"]
    assert [h[-1]["reg_lambda"] for h in result.histories.values()] == [
        0.0, 0.01, 1.0]
    # Every run has its time ratio to standard training and its line in
    # the history plot.
    assert all("time_ratio" in row for row in result.rows)
    assert set(result.curves["pgd"]) == {row["method"] for row in result.rows}
    settings = json.loads((tmp_path / "results.json").read_text(
        encoding="utf-8"))["settings"]
    assert settings["lambdas"] == [0.01, 1.0]


@pytest.mark.parametrize("lambdas, message", [
    ([], "one or more"), ([-1.0], ">= 0"), ([float("nan")], ">= 0"),
    ([0.1, 0.1], "more than once"), (["0.1"], ">= 0"), (0.1, "sequence"),
    ("0.1", "sequence")])
def test_bad_lambdas_are_refused(lambdas, message):
    with pytest.raises((ValueError, TypeError), match=message):
        check_lambdas(lambdas)


@pytest.mark.parametrize("argv, message", [
    (["--lambdas", "0.1", "--timing"], "--lambdas does not apply to --timing"),
    (["--lambdas", "0.1", "--path"], "--lambdas does not apply to --path"),
    (["--lambdas", "-1"], "--lambdas must be one or more"),
])
def test_cli_refuses_lambdas_where_they_do_not_apply(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["benchmark"] + argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
