"""The accuracy–robustness frontier along λ: :class:`FrontierDisplay`.

The slides' lesson "λ must be chosen carefully" (their Figure 10: too
small and the penalty does nothing, too large and the network collapses)
becomes a decision when clean score and robust score are drawn against each
other, one point per λ: each method is a path through the plane, and the
chosen λ is the point of that path a user takes. The display reads the
frontier from a fitted cross-validated estimator, from
``GridSearchCV.cv_results_`` or from ``sklip benchmark --path``.
Public as :class:`sklip.plotting.FrontierDisplay`.
"""

import numpy as np

from ._frontier_data import (benchmark_frontiers, check_frontiers,
                             cv_estimator_frontiers, cv_results_frontiers)

__all__ = ["FrontierDisplay"]

#: Offsets (points) of the λ labels, one per method in turn, so that the
#: labels of methods whose paths cross land on different sides.
_LABEL_OFFSETS = ((7, 5), (7, -11), (-12, 7), (-12, -13))


class FrontierDisplay:
    """Clean score against robust score along λ, one path per method.

    Every point is one λ (written next to it); the points of a method are
    joined in increasing λ, and its chosen λ is drawn as a star. A frontier
    of one point (standard training) is a single marker: the reference the
    paths start from.

    Parameters
    ----------
    frontiers : dict of str to dict, or list of dict
        Label -> record, or records each with a ``"method"`` key (the
        label). A record holds ``"lambdas"``, ``"clean"`` and ``"robust"``
        (sequences of one length: λ and the mean scores at it) and may hold
        ``"clean_std"`` and ``"robust_std"`` (drawn as error bars) and
        ``"chosen_lambda"`` (one of its λ, highlighted).
    clean_name : str, default="clean accuracy"
        Label of the x axis.
    robust_name : str, default="robust accuracy"
        Label of the y axis: name the attack and its radius.
    chosen_name : str, default="chosen λ"
        Legend entry of the highlighted points.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes drawn on (after :meth:`plot`).
    figure_ : matplotlib Figure
        Their figure.
    lines_ : list of matplotlib Line2D
        One line per frontier, in the order of ``frontiers``.

    See Also
    --------
    RobustnessCurveDisplay : accuracy against the attack's radius.

    Examples
    --------
    >>> from sklip.plotting import FrontierDisplay
    >>> disp = FrontierDisplay({
    ...     "tv": {"lambdas": [0.01, 0.1, 1.0], "clean": [0.97, 0.95, 0.80],
    ...            "robust": [0.20, 0.45, 0.50], "chosen_lambda": 0.1},
    ...     "none": {"lambdas": [0.0], "clean": [0.97], "robust": [0.05]},
    ... }, robust_name="worst-case accuracy (L2 ε = 2)").plot()
    >>> len(disp.lines_)
    2
    """

    def __init__(self, frontiers, *, clean_name="clean accuracy",
                 robust_name="robust accuracy", chosen_name="chosen λ"):
        self.frontiers = frontiers
        self.clean_name = clean_name
        self.robust_name = robust_name
        self.chosen_name = chosen_name

    def plot(self, ax=None, *, annotate=True, clean_min=None, title=None,
             **kwargs):
        """Draw every frontier.

        Parameters
        ----------
        ax : matplotlib Axes or None
            Where to draw; ``None`` makes a new figure.
        annotate : bool, default=True
            Write each point's λ next to it. Labels that would overlap an
            earlier one are hidden, the chosen λ and the ends of each path
            first kept.
        clean_min : float or None
            Left end of the x axis: points of a lower clean score (a
            network collapsed by too large a λ) are drawn on that edge as
            ``<`` with their score written, so that they do not squeeze the
            rest of the plot. ``None`` shows every point where it is.
        title : str or None
            Title of the axes (default: says what the numbers and the star
            are).
        **kwargs
            Passed to ``Axes.plot`` for every frontier (``linewidth``...).

        Returns
        -------
        self
        """
        from matplotlib.lines import Line2D

        from .plotting import _axes, _legend_outside, _line_styles

        records = check_frontiers(self.frontiers)
        ax = _axes(ax)
        styles = _line_styles(len(records))
        self.lines_, labels, any_chosen = [], [], False
        for i, (label, record) in enumerate(records.items()):
            record["x"] = (record["clean"] if clean_min is None
                           else np.maximum(record["clean"], clean_min))
            style = {**styles[i], "markersize": 6}
            if record["lambdas"].size == 1:
                # The reference (standard training) is one point among
                # the paths' many: larger, and drawn over them.
                style.update(markersize=10, markeredgewidth=2, zorder=3.5)
            style.update(kwargs)
            self.lines_.append(_draw_frontier(ax, label, record, style))
            if annotate:
                labels += _annotate(ax, record, style["color"],
                                    _LABEL_OFFSETS[i % len(_LABEL_OFFSETS)])
            any_chosen |= _draw_chosen(ax, record, style)
        handles = list(self.lines_)
        if any_chosen:
            # One legend entry for every method's star.
            handles.append(Line2D([], [], linestyle="none", marker="*",
                                  markersize=12, color="0.6",
                                  markeredgecolor="k",
                                  label=self.chosen_name))
        ax.set_xlabel(self.clean_name)
        ax.set_ylabel(self.robust_name)
        ax.grid(alpha=0.3)
        ax.margins(0.08)
        if clean_min is not None:
            high = ax.get_xlim()[1]
            ax.set_xlim(clean_min - 0.03 * (high - clean_min), high)
        _legend_outside(ax, handles=handles)
        ax.set_title(title if title is not None else self._title(annotate),
                     fontsize="medium")
        _hide_overlapping(ax, labels)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _title(self, annotate):
        what = "Clean against robust score along λ"
        return what + ("\n(numbers at the points: λ)" if annotate else "")

    @classmethod
    def from_cv_estimator(cls, cv_estimators, *, labels=None,
                          clean_name=None, robust_name=None, ax=None,
                          **kwargs):
        """Plot the λ path of one or several fitted cross-validated
        estimators (such as ``LipschitzClassifierCV``).

        Each point is the mean over the folds of ``scores_`` and
        ``robust_scores_`` at one of ``lambdas_`` (error bars: their
        standard deviation); the star is ``reg_lambda_``.

        Parameters
        ----------
        cv_estimators : estimator, list of estimators or dict
            Fitted estimators with ``lambdas_`` (n_lambdas,), ``scores_``
            and ``robust_scores_`` (n_folds, n_lambdas) and
            ``reg_lambda_``; a dict gives their labels.
        labels : list of str or None
            Legend entries (default: each estimator's ``regularizer``).
        clean_name : str or None
            Label of the x axis (default: the estimator's ``scoring`` when
            it is a name, else ``"clean accuracy"``).
        robust_name : str or None
            Label of the y axis (default: ``robust_scoring_name_``).
        ax : matplotlib Axes or None
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        FrontierDisplay
        """
        frontiers, first = cv_estimator_frontiers(cv_estimators, labels)
        if clean_name is None:
            scoring = first.get_params().get("scoring") \
                if hasattr(first, "get_params") else None
            clean_name = scoring if isinstance(scoring, str) \
                else "clean accuracy"
        if robust_name is None:
            robust_name = str(getattr(first, "robust_scoring_name_",
                                      "robust score"))
        return cls(frontiers, clean_name=clean_name,
                   robust_name=robust_name).plot(ax=ax, **kwargs)

    @classmethod
    def from_cv_results(cls, cv_results, *, clean_key="mean_test_accuracy",
                        robust_key=None, param="reg_lambda",
                        group_by="regularizer", chosen_index=None,
                        clean_name=None, robust_name=None, ax=None,
                        **kwargs):
        """Plot the frontier of a grid search over λ.

        Parameters
        ----------
        cv_results : dict
            ``cv_results_`` of a ``GridSearchCV`` (or any search) with
            several scorers, e.g. ``scoring={"accuracy": "accuracy",
            "worst_case": worst_case_accuracy_scorer(eps=2)}``.
        clean_key : str, default="mean_test_accuracy"
            Column of the clean score, or the name of its scorer
            (``"accuracy"`` reads ``mean_test_accuracy``); the standard
            deviation comes from the matching ``std_test_`` column.
        robust_key : str or None
            Column or scorer name of the robust score; ``None`` takes the
            one other ``mean_test_`` column when there is exactly one.
        param : str, default="reg_lambda"
            The parameter along the path (column ``param_<param>``). Rows
            where the grid did not set it (standard training in a grid of
            several dicts) get no λ and are drawn as single points.
        group_by : str or None, default="regularizer"
            One frontier per value of column ``param_<group_by>``; when the
            search did not vary it (no such column) or ``None``, all rows
            form one frontier.
        chosen_index : int or None
            Row to highlight, e.g. the search's ``best_index_``.
        clean_name, robust_name : str or None
            Axis labels (default: the scorers' names).
        ax : matplotlib Axes or None
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        FrontierDisplay
        """
        frontiers, names = cv_results_frontiers(
            cv_results, clean_key, robust_key, param, group_by, chosen_index)
        return cls(frontiers, clean_name=clean_name or names[0],
                   robust_name=robust_name or names[1]).plot(ax=ax, **kwargs)

    @classmethod
    def from_benchmark(cls, result_or_path, *, clean_min="auto", ax=None,
                       **kwargs):
        """Plot the frontiers of ``sklip benchmark --path``.

        Parameters
        ----------
        result_or_path : PathResult, str or Path
            What :func:`sklip.benchmark.run_path` returned, or its
            ``path.csv`` or ``path.json`` (or the folder holding them).
            The star of each method is its benchmark default λ.
        clean_min : float, "auto" or None, default="auto"
            See :meth:`plot`; ``"auto"`` is 80 % of the best clean
            accuracy of the results, so that the networks a too large λ
            collapsed (10 % on ten classes) sit on the left edge.
        ax : matplotlib Axes or None
            Where to draw; ``None`` makes a figure of 8.5 x 5.6 inches,
            room for a dozen paths.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        FrontierDisplay
        """
        frontiers, (clean_name, robust_name, title) = benchmark_frontiers(
            result_or_path)
        if isinstance(clean_min, str) and clean_min == "auto":
            clean_min = 0.8 * max(max(r["clean"]) for r in frontiers.values())
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(8.5, 5.6), layout="constrained")
        return cls(frontiers, clean_name=clean_name, robust_name=robust_name,
                   chosen_name="benchmark default λ").plot(
            ax=ax, clean_min=clean_min, **{"title": title, **kwargs})


def _draw_frontier(ax, label, record, style):
    """The path of one method (with error bars when the record has
    standard deviations, ``<`` on points moved to the left edge); returns
    its line."""
    x, y = record["x"], record["robust"]
    if "clean_std" in record or "robust_std" in record:
        ax.errorbar(x, y, xerr=record.get("clean_std"),
                    yerr=record.get("robust_std"), fmt="none",
                    ecolor=style["color"], alpha=0.35, capsize=2)
    line = ax.plot(x, y, label=label, **style)[0]
    moved = x != record["clean"]
    if moved.any():
        ax.plot(x[moved], y[moved], linestyle="none", marker="<",
                markersize=9, color=style["color"])
    return line


def _draw_chosen(ax, record, style):
    """A star on the chosen point; whether there was one."""
    i = record["chosen"]
    if i is None:
        return False
    ax.plot(record["x"][i], record["robust"][i], linestyle="none",
            marker="*", markersize=15, color=style["color"],
            markeredgecolor="k", zorder=4)
    return True


def _annotate(ax, record, color, offset):
    """Write each point's λ next to it (not for a single point at λ = 0,
    standard training, nor for points without λ); returns ``(priority,
    text)`` pairs, 0 for the chosen point, 1 for the ends of the path and
    the moved points, 2 for the others."""
    lambdas, n = record["lambdas"], record["lambdas"].size
    labels = []
    for i, (lam, x, clean, y) in enumerate(zip(
            lambdas, record["x"], record["clean"], record["robust"])):
        if not np.isfinite(lam) or (n == 1 and lam == 0):
            continue
        moved = x != clean
        text = f"{lam:.2g}" + (f" (clean {clean:.2f})" if moved else "")
        priority = 0 if i == record["chosen"] else \
            1 if moved or i in (0, n - 1) else 2
        # A moved point sits on the left edge: its label goes inside.
        labels.append((priority, ax.annotate(
            text, (x, y), xytext=(9, -3) if moved else offset,
            textcoords="offset points", fontsize="x-small", color=color)))
    return labels


def _hide_overlapping(ax, labels):
    """Hide every label that overlaps one kept before it, in order of
    priority: a dozen methods' small-λ points crowd near standard
    training, and unreadable labels help nobody (the numbers stay in the
    data)."""
    if not labels:
        return
    figure = ax.figure
    figure.draw_without_rendering()  # lays the figure out
    renderer = figure.canvas.get_renderer()
    kept = []
    for _, text in sorted(labels, key=lambda pair: pair[0]):
        box = text.get_window_extent(renderer)
        if any(box.overlaps(other) for other in kept):
            text.set_visible(False)
        else:
            kept.append(box)
