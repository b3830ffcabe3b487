"""Plots readable at a glance: legends outside the data, lines that stay
apart, the norm on every ε axis and no curve cut off."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from sklip._benchmark_output import _plot_fits  # noqa: E402
from sklip.plotting import (RobustnessCurveDisplay,  # noqa: E402
                            TrainingHistoryDisplay)


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def _curve(accuracy, attack="pgd", **params):
    return {"eps_values": np.linspace(0, 1, len(accuracy)),
            "accuracy": np.asarray(accuracy, dtype=float),
            "clean_accuracy": accuracy[0], "attack": attack,
            "attack_params": params, "n_samples": 50}


def _assert_legend_outside(legend, axes):
    figure = legend.figure
    figure.canvas.draw()
    box = legend.get_window_extent()
    for ax in axes:
        data = ax.get_window_extent()
        overlap_x = min(box.x1, data.x1) - max(box.x0, data.x0)
        overlap_y = min(box.y1, data.y1) - max(box.y0, data.y0)
        assert overlap_x <= 0 or overlap_y <= 0, (box, data)


def _assert_lines_distinct(lines):
    styles = [(line.get_linestyle(), line.get_marker(), line.get_color())
              for line in lines]
    assert len(set(styles)) == len(styles), styles


@pytest.mark.parametrize("attack, params, norm", [
    ("pgd", {"norm": 2, "n_iter": 10}, "L2"),
    ("fgsm", {"norm": "inf"}, "L∞"),
    ("worst_case", {"norm": 2, "n_iter": 10, "n_queries": 100}, "L2"),
    # not recorded with the curve: the attack's default norm
    ("pgd", {"n_iter": 10}, "L2"),
    ("fgsm", {}, "L∞"),
])
def test_robustness_curve_names_norm_attack_and_steps(attack, params, norm):
    curves = {"none": _curve([0.9, 0.5, 0.1], attack, **params),
              "clip": _curve([0.9, 0.6, 0.2], attack, **params)}
    disp = RobustnessCurveDisplay(curves, attack).plot()
    assert f"ε ({norm} norm)" == disp.ax_.get_xlabel()
    title = disp.ax_.get_title()
    assert {"pgd": "PGD", "fgsm": "FGSM",
            "worst_case": "worst case"}[attack] in title
    steps = "1 step" if attack == "fgsm" else "10 steps"
    assert steps in title
    if attack == "worst_case":
        assert "100 Square queries" in title


def test_robustness_curve_legend_outside_and_equal_curves_visible():
    same = [0.9, 0.4, 0.0]
    curves = {"tv": _curve(same), "ptv": _curve(same),
              "clip": _curve([0.8, 0.5, 0.1])}
    disp = RobustnessCurveDisplay(curves, "pgd").plot()
    lines = disp.ax_.get_lines()
    assert [line.get_label() for line in lines] == ["tv", "ptv", "clip"]
    _assert_lines_distinct(lines)
    # The two equal curves nest: the first drawn is wider, with a larger
    # marker, so the second does not hide it.
    assert lines[0].get_linewidth() > lines[1].get_linewidth()
    assert lines[0].get_markersize() > lines[1].get_markersize()
    _assert_legend_outside(disp.ax_.get_legend(), [disp.ax_])


def test_training_history_legend_outside_every_panel():
    histories = {
        method: [{"reg_lambda": lam, "lipschitz": 1.0 / (epoch + lam + 1),
                  "train_loss": 1.0 / (epoch + 1), "train_score": 0.5}
                 for epoch in range(20)]
        for method, lam in [("none", 0.0), ("ptv", 1.0),
                            ("adversarial", 1.0), ("margin", 1.0)]}
    disp = TrainingHistoryDisplay(histories).plot()
    legends = [ax.get_legend() for ax in disp.axes_
               if ax.get_legend() is not None]
    assert len(legends) == 1
    assert [t.get_text() for t in legends[0].get_texts()] == list(histories)
    _assert_legend_outside(legends[0], disp.axes_)
    lam_lines = disp.axes_[0].get_lines()
    _assert_lines_distinct(lam_lines)
    # ptv, adversarial and margin share λ = 1: nested, widest first
    widths = [line.get_linewidth() for line in lam_lines[1:]]
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == 3
    assert "λ" in disp.axes_[0].get_title()


class _Fit:
    """Stands for a fitted regressor: a fixed curve over the grid."""

    def __init__(self, offset):
        self.offset = offset

    def predict(self, X):
        return (X[:, 0] ** 2 / 9 + self.offset).astype(np.float32)


def test_polynomial_plot_shows_every_curve_whole():
    rng = np.random.default_rng(0)
    X = rng.uniform(2, 3, size=(40, 1)).astype(np.float32)
    X[::2] *= -1
    y = (X[:, 0] ** 6 / 3 ** 6).astype(np.float32)
    # Fits far below the old fixed lower limit of -0.2 and above the data.
    estimators = {"none": _Fit(-0.6), "clip": _Fit(-0.3), "tv": _Fit(0.4)}
    fig = _plot_fits(estimators, X, y)
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    values = np.concatenate([line.get_ydata() for line in ax.get_lines()]
                            + [y])
    assert low < values.min() and values.max() < high
    # ... with a margin, not more than a fifth of the range on each side
    span = values.max() - values.min()
    assert values.min() - low < 0.2 * span
    assert high - values.max() < 0.2 * span
    _assert_lines_distinct(ax.get_lines()[1:])
    _assert_legend_outside(ax.get_legend(), [ax])


def test_training_history_normalises_and_draws_the_data_loss():
    histories = {
        name: [{"lipschitz": scale * (epoch + 1), "train_data_loss": 1.0,
                "train_loss": 2.0} for epoch in range(5)]
        for name, scale in [("a", 1.0), ("b", 100.0)]}
    disp = TrainingHistoryDisplay(histories, keys=("lipschitz",
                                                   "train_data_loss"),
                                  normalize=("lipschitz",)).plot()
    for line in disp.axes_[0].get_lines():
        np.testing.assert_allclose(line.get_ydata(), np.arange(1, 6) / 5)
    assert "largest value" in disp.axes_[0].get_title()
    assert "without λ" in disp.axes_[1].get_title()
    # The default panels show the data loss, not the objective with λ·R.
    assert "train_data_loss" in TrainingHistoryDisplay.default_keys
    assert "train_loss" not in TrainingHistoryDisplay.default_keys
