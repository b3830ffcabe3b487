"""Presenting a benchmark's results: the text table, CSV and JSON files and
the PNG plots.

:class:`BenchmarkResult` and :func:`format_table` are public as
:class:`sklip.benchmark.BenchmarkResult` and
:func:`sklip.benchmark.format_table`;
matplotlib is imported only when plots are written.
"""

import csv
import json

import numpy as np
import torch

__all__ = ["BenchmarkResult", "format_table", "write_results"]


class BenchmarkResult:
    """What :func:`run_benchmark` measured.

    Attributes
    ----------
    rows : list of dict
        One row of the table per method. Its ``time_ratio`` column (training
        time relative to standard training) is present only when
        ``"none"`` is among the methods run.
    histories : dict
        Method -> the fitted estimator's history (as a list of dicts).
    curves : dict
        Attack -> method -> :func:`~sklip.metrics.robustness_curve` output
        (classification only).
    files : list of Path
        Files written (CSV, JSON, PNG).
    """

    def __init__(self, dataset, rows, histories, curves, settings):
        self.dataset = dataset
        self.rows = rows
        self.histories = histories
        self.curves = curves
        self.settings = settings
        self.files = []

    def table(self):
        """The table as text (see :func:`format_table`)."""
        return format_table(self.rows)


def format_table(rows):
    """Fixed-width text table of benchmark rows.

    Parameters
    ----------
    rows : list of dict
        Rows with the same keys; the first key is the method name.

    Returns
    -------
    str
    """
    if not rows:
        return ""
    keys = list(rows[0])
    widths = {k: max(len(k), 11, *(len(row[k]) for row in rows
                                   if isinstance(row[k], str)))
              for k in keys}

    def cell(key, value):
        if isinstance(value, str):
            return value.ljust(widths[key])
        return f"{value:.3f}".rjust(widths[key]) if abs(value) < 1000 \
            else f"{value:.3g}".rjust(widths[key])

    header = "  ".join(k.ljust(widths[k]) if k == "method" else
                       k.rjust(widths[k]) for k in keys)
    lines = [header, "-" * len(header)]
    lines += ["  ".join(cell(k, row[k]) for k in keys) for row in rows]
    return "\n".join(lines)


def write_results(result, estimators, folder, X_train, y_train):
    """Write ``results.csv``, ``results.json`` and the PNG plots of a
    :class:`~sklip.benchmark.BenchmarkResult` to ``folder``, appending the
    paths to ``result.files``."""
    import matplotlib

    matplotlib.use("Agg")

    from .plotting import RobustnessCurveDisplay, TrainingHistoryDisplay

    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "results.csv"
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(result.rows[0]))
        writer.writeheader()
        writer.writerows(result.rows)
    json_path = folder / "results.json"
    payload = {"settings": result.settings, "rows": result.rows,
               "histories": result.histories,
               "curves": _jsonable_curves(result.curves)}
    json_path.write_text(json.dumps(payload, indent=1, default=float))
    result.files += [csv_path, json_path]
    for attack, per_method in result.curves.items():
        display = RobustnessCurveDisplay(per_method, attack).plot()
        result.files.append(_save(display.figure_,
                                  folder / f"robustness_{attack}.png"))
    history = TrainingHistoryDisplay(
        {m: est.history for m, est in estimators.items()},
        normalize=("lipschitz",)).plot()
    result.files.append(_save(history.figure_,
                              folder / "training_history.png"))
    if result.dataset == "polynomial":
        result.files.append(_save(_plot_fits(estimators, X_train, y_train),
                                  folder / "polynomial_fits.png"))


def _jsonable_curves(curves):
    """Attack -> method -> curve, with the curves' arrays as lists."""
    return {a: {m: {k: np.asarray(v).tolist() if not isinstance(
        v, (str, dict)) else v for k, v in c.items()}
        for m, c in per.items()} for a, per in curves.items()}


def _save(figure, path):
    """Save ``figure`` as a PNG at ``path`` and close it; returns ``path``."""
    import matplotlib.pyplot as plt

    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def _plot_fits(estimators, X_train, y_train):
    """The figure of every method's fit of the polynomial (the slides'
    Figure 7)."""
    import matplotlib.pyplot as plt

    from .datasets import polynomial
    from .plotting import _legend_outside, _plot_lines

    grid = np.linspace(-3, 3, 601, dtype=np.float32).reshape(-1, 1)
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    scale = float(np.max(y_train) / polynomial(np.max(np.abs(X_train))))
    target = polynomial(grid[:, 0], scale)
    ax.plot(grid[:, 0], target, "k--", lw=1, label="P(x)")
    ax.scatter(X_train[:, 0], y_train, s=12, c="k", label="training data",
               zorder=3)
    fits = []
    for method, est in estimators.items():
        with torch.no_grad():
            fits.append((method, grid[:, 0],
                         np.asarray(est.predict(grid), dtype=float).ravel()))
    _plot_lines(ax, fits, len(grid))
    plotted = [np.asarray(y_train, dtype=float).ravel(), target]
    plotted += [fit for _, _, fit in fits]
    # P(x) grows like x⁶ out of the data's range; the limits follow the
    # data and the fits so that no fit is cut off.
    ax.set_ylim(*_limits(np.concatenate(plotted)))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    ax.set_title("Fits of the polynomial (slides' Figure 7)",
                 fontsize="medium")
    return fig


def _limits(values, margin=0.05):
    """Axis limits holding every finite value, widened by ``margin`` of
    their range on each side."""
    values = values[np.isfinite(values)]
    low, high = float(np.min(values)), float(np.max(values))
    pad = margin * (high - low) or 0.1
    return low - pad, high + pad
