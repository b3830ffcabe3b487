"""``sklip benchmark --preset slides``: the slides' algorithms next to the
tuned defaults."""

import json

import numpy as np
import pytest

from sklip import LipschitzClassifier
from sklip.__main__ import main
from sklip._benchmark_presets import SLIDES_METHODS
from sklip.benchmark import METHODS, check_options, method_params


def test_slides_preset_changes_only_what_the_slides_say():
    tuned = {m: method_params(m, 2.0) for m in METHODS}
    slides = {m: method_params(m, 2.0, preset="slides") for m in METHODS}
    # CLIP and SumLip: the CLIP reference's accept rule.
    for method in ("clip", "sumlip"):
        assert tuned[method].get("regularizer__step_rule") is None
        assert slides[method] == {**tuned[method],
                                  "regularizer__step_rule": "accept"}
    # pTV: every point anchors, ε × 0.9 per epoch, λ ± dλ per batch; ε and
    # λ start where the tuned pTV does.
    ptv = slides["ptv"]
    assert ptv["regularizer__n_anchors"] is None
    assert ptv["epsilon_decay"] == 0.9
    assert ptv["reg_lambda_update"] == "batch"
    assert ptv["reg_lambda_step"] > 0 and 0 < ptv["target_accuracy"] < 1
    assert ptv["epsilon"] == tuned["ptv"]["epsilon"]
    # The others are the slides' methods already, or not in the slides.
    for method in ("none", "tv", "adversarial_fgsm", "adversarial", "margin",
                   "one_lipschitz"):
        assert slides[method] == tuned[method]


@pytest.mark.parametrize("dataset, expected", [
    ("digits", SLIDES_METHODS),
    # The polynomial task has no FGSM adversarial training.
    ("polynomial", ("none", "clip", "sumlip", "tv", "ptv")),
])
def test_slides_preset_runs_the_slides_methods(dataset, expected):
    assert check_options(dataset, preset="slides")["methods"] == expected
    assert check_options(dataset)["methods"] != expected
    assert check_options(dataset, ["clip"], preset="slides")["methods"] == (
        "clip",)


def test_slides_ptv_trains_as_its_algorithm_box(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(max_epochs=3, random_state=0,
                              **method_params("ptv", 1.0, "digits",
                                              preset="slides")).fit(X, y)
    epsilons = clf.history[:, "epsilon"]
    np.testing.assert_allclose(epsilons, [1.5, 1.35, 1.215])
    # λ moves after every batch by ±0.01 (never below 0).
    lambdas = np.array([b["reg_lambda"] for epoch in clf.history
                        for b in epoch["batches"]])
    steps = np.abs(np.diff(lambdas))
    assert np.all((np.isclose(steps, 0.01)) | (lambdas[1:] == 0))
    assert clf.regularizer_.n_anchors is None


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_slides_clip_uses_the_accept_rule(digits):
    X, _, y, _ = digits
    clf = LipschitzClassifier(max_epochs=1, random_state=0,
                              **method_params("clip", 1.0, "digits",
                                              preset="slides")).fit(X, y)
    assert clf.regularizer_.step_rule == "accept"


def test_cli_names_the_preset(tmp_path, capsys):
    status = main(["benchmark", "--preset", "slides", "--methods", "clip",
                   "--epochs", "1", "--pgd-n-iter", "2", "--square-queries",
                   "10", "--output", str(tmp_path), "--no-progress"])
    out = capsys.readouterr().out
    assert status == 0
    assert "(--preset slides)" in out.splitlines()[0]
    settings = json.loads((tmp_path / "results.json").read_text())["settings"]
    assert settings["preset"] == "slides"


@pytest.mark.parametrize("argv, message", [
    (["--preset", "paper"], "invalid choice"),
    (["--preset", "slides", "--path"], "--preset slides does not apply"),
])
def test_cli_refuses_bad_presets(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["benchmark"] + argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("preset", ["paper", None, 1])
def test_run_benchmark_refuses_bad_presets(preset):
    with pytest.raises(ValueError, match="preset must be one of"):
        check_options("digits", preset=preset)
