"""Display objects for robustness curves and training histories.

Following scikit-learn's ``Display`` convention: ``from_estimator`` computes,
``plot`` draws, and matplotlib is imported only when drawing.

- :class:`RobustnessCurveDisplay`: accuracy against attack radius (the
  slides' Figures 13–15).
- :class:`TrainingHistoryDisplay`: λ, Lipschitz estimate, loss and accuracy
  per epoch (the slides' Figure 10).
- :class:`FrontierDisplay`: clean against robust score along λ, one path
  per method (the slides' Figure 10 made decision-ready).
"""

import numpy as np

from ._frontier import FrontierDisplay

__all__ = ["RobustnessCurveDisplay", "TrainingHistoryDisplay",
           "FrontierDisplay"]


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        # Constrained layout makes room for the legend outside the axes.
        _, ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
    return ax


_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _line_styles(n_lines, n_points=None):
    """Keyword arguments of ``Axes.plot`` that tell ``n_lines`` lines apart.

    Every line gets its own colour, dash pattern and (hollow) marker. With
    ``n_points`` given, markers are drawn on about a dozen points per line,
    shifted from one line to the next so that they do not sit on top of
    each other.

    Parameters
    ----------
    n_lines : int
        Number of lines.
    n_points : int or None, default=None
        Points per line, when markers should be thinned out.

    Returns
    -------
    list of dict
        One dict of ``color``, ``linestyle``, ``marker``,
        ``markerfacecolor``, ``markeredgewidth`` (and ``markevery``) per
        line.
    """
    styles = []
    for i in range(n_lines):
        style = {"color": f"C{i % 10}",
                 "linestyle": _LINESTYLES[i % len(_LINESTYLES)],
                 "marker": _MARKERS[i % len(_MARKERS)],
                 "markerfacecolor": "none", "markeredgewidth": 1.5}
        if n_points is not None and n_points > 12:
            step = max(1, n_points // 12)
            style["markevery"] = (i * step // max(n_lines, 1), step)
        styles.append(style)
    return styles


def _plot_lines(ax, lines, n_points=None):
    """Draw ``(label, x, y)`` lines so that equal ones stay visible.

    Lines with equal values (two methods at the same λ) would hide each
    other: within each group of equal lines, the first drawn is the widest
    and has the largest marker, so the group shows as nested lines.

    Parameters
    ----------
    ax : matplotlib Axes
    lines : list of (str, array-like, array-like)
    n_points : int or None, default=None
        See :func:`_line_styles`.

    Returns
    -------
    list of matplotlib Line2D
    """
    data = [(label, np.asarray(x, dtype=float), np.asarray(y, dtype=float))
            for label, x, y in lines]
    groups = []  # indices of equal lines, in drawing order
    for i, (_, x, y) in enumerate(data):
        for group in groups:
            _, x0, y0 = data[group[0]]
            if x.shape == x0.shape and y.shape == y0.shape \
                    and np.allclose(x, x0, equal_nan=True) \
                    and np.allclose(y, y0, equal_nan=True):
                group.append(i)
                break
        else:
            groups.append([i])
    size = {}
    for group in groups:
        for position, i in enumerate(group):
            # 1 for the first of a group of equal lines, 0 for the last
            rank = (len(group) - 1 - position) / max(len(group) - 1, 1) \
                if len(group) > 1 else 0.0
            size[i] = {"linewidth": 1.5 + 3.0 * rank,
                       "markersize": 6 + 8 * rank}
    styles = _line_styles(len(data), n_points)
    return [ax.plot(x, y, label=label, **styles[i], **size[i])[0]
            for i, (label, x, y) in enumerate(data)]


def _legend_outside(ax, **kwargs):
    """A legend to the right of ``ax``, outside its data area.

    Parameters
    ----------
    ax : matplotlib Axes
    **kwargs
        Passed to ``Axes.legend``.

    Returns
    -------
    matplotlib Legend
    """
    return ax.legend(**{"loc": "upper left", "bbox_to_anchor": (1.02, 1.0),
                        "borderaxespad": 0.0, "fontsize": "small",
                        **kwargs})


def _default_norm(attack):
    """The norm an attack of the registry uses when none is given."""
    import inspect

    from .attacks import ATTACKS

    if not isinstance(attack, str) or attack not in ATTACKS:
        return None
    param = inspect.signature(ATTACKS[attack]).parameters.get("norm")
    return None if param is None else param.default


class RobustnessCurveDisplay:
    """Accuracy of one or several classifiers against an attack's radius.

    Parameters
    ----------
    curves : dict of str to dict
        Label -> output of :func:`sklip.metrics.robustness_curve`.
    attack : str
        Name of the attack, for the axis label.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes drawn on (after :meth:`plot`).
    figure_ : matplotlib Figure
        Their figure.

    Examples
    --------
    >>> from sklip import LipschitzClassifier
    >>> from sklip.datasets import load_digits_scaled
    >>> from sklip.plotting import RobustnessCurveDisplay
    >>> X, y = load_digits_scaled()
    >>> clf = LipschitzClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> disp = RobustnessCurveDisplay.from_estimator(
    ...     clf, X[:100], y[:100], attack="noise", eps_values=[0, 0.5])
    """

    def __init__(self, curves, attack):
        self.curves = curves
        self.attack = attack

    @classmethod
    def from_estimator(cls, estimator, X, y, *, attack="pgd",
                       eps_values=None, label=None, ax=None,
                       **attack_params):
        """Compute the curve of one classifier and plot it.

        Parameters
        ----------
        estimator : fitted LipschitzClassifier
        X, y : array-like
            Test data.
        attack : str, default="pgd"
            ``"fgsm"``, ``"pgd"`` or ``"noise"``.
        eps_values : sequence of float or None
            Radii ``eps`` (σ for noise); ``None`` uses
            :func:`~sklip.metrics.robustness_curve`'s default.
        label : str or None
            Legend entry (default: the regulariser's name).
        ax : matplotlib Axes or None
            Where to draw.
        **attack_params
            Passed to the attack.

        Returns
        -------
        RobustnessCurveDisplay
        """
        from .metrics import robustness_curve

        kwargs = {} if eps_values is None else {"eps_values": eps_values}
        curve = robustness_curve(estimator, X, y, attack=attack, **kwargs,
                                 **attack_params)
        label = label or str(getattr(estimator, "regularizer", "model"))
        return cls({label: curve}, attack).plot(ax=ax)

    def plot(self, ax=None):
        """Draw accuracy against radius, one line per curve.

        Parameters
        ----------
        ax : matplotlib Axes or None

        Returns
        -------
        self
        """
        ax = _axes(ax)
        _plot_lines(ax, [(label, curve["eps_values"], curve["accuracy"])
                         for label, curve in self.curves.items()])
        ax.set_xlabel(self._radius_label())
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        _legend_outside(ax)
        ax.set_title(self._title(), fontsize="medium")
        self.ax_, self.figure_ = ax, ax.figure
        return self


    def _params(self):
        first = next(iter(self.curves.values()), {})
        return first.get("attack_params", {}), first.get("n_samples")

    def _radius_label(self):
        if self.attack == "noise":
            return "noise σ (per input coordinate)"
        params, _ = self._params()
        norm = params.get("norm", _default_norm(self.attack))
        name = {2: "L2", "2": "L2", 1: "L1", "1": "L1", "inf": "L∞",
                float("inf"): "L∞"}.get(norm, f"L{norm}")
        return f"ε ({name} norm)" if norm is not None else "ε"

    def _title(self):
        params, n_samples = self._params()
        what = {"worst_case": "worst case of APGD-CE/DLR/T, margin PGD, "
                "Square",
                "pgd": "PGD", "fgsm": "FGSM", "apgd": "APGD",
                "square": "Square Attack",
                "noise": "Gaussian noise"}.get(self.attack, self.attack)
        details = []
        if self.attack == "fgsm":
            details.append("1 step")
        if self.attack in ("pgd", "apgd", "worst_case") and "n_iter" in params:
            details.append(f"{params['n_iter']} steps")
        if self.attack in ("square", "worst_case") and "n_queries" in params:
            details.append(f"{params['n_queries']} Square queries")
        if self.attack in ("pgd", "fgsm", "apgd") and params.get("loss"):
            details.append(f"{params['loss']} loss")
        elif self.attack in ("pgd", "fgsm"):
            details.append("cross-entropy")
        certified = self.attack == "certified"
        if certified:  # a proof, not an attack: each network's own bound
            details.append("tightest bound per network")
        if n_samples is not None:
            details.append(f"{n_samples} test points")
        suffix = f"\n({', '.join(details)})" if details else ""
        head = "Certified accuracy" if certified else f"Accuracy under {what}"
        return head + suffix


class TrainingHistoryDisplay:
    """Per-epoch λ, Lipschitz estimate, data loss and training score.

    Parameters
    ----------
    histories : dict of str to skorch History
        Label -> the estimator's ``history``.
    keys : sequence of str
        History keys drawn, one panel each. The default draws the data loss
        (``train_data_loss``, without λ·penalty) rather than the training
        objective ``train_loss``, so that runs of different λ compare.
    normalize : sequence of str, default=()
        Keys drawn divided by each run's largest value (the slides' Figure
        10 normalises the Lipschitz estimate this way), so that runs of
        different scales share one axis.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
    figure_ : matplotlib Figure
    """

    default_keys = ("reg_lambda", "lipschitz", "train_data_loss",
                    "train_score")

    def __init__(self, histories, keys=default_keys, normalize=()):
        self.histories = histories
        self.keys = keys
        self.normalize = normalize

    @classmethod
    def from_estimator(cls, estimator, *, keys=default_keys, normalize=(),
                       label=None):
        """Plot the history of one fitted estimator.

        Parameters
        ----------
        estimator : fitted sklip estimator
        keys : sequence of str
            History keys to draw.
        normalize : sequence of str, default=()
            Keys drawn divided by their largest value.
        label : str or None
            Legend entry.

        Returns
        -------
        TrainingHistoryDisplay
        """
        label = label or str(getattr(estimator, "regularizer", "model"))
        return cls({label: estimator.history}, keys, normalize).plot()

    def plot(self, axes=None):
        """Draw one panel per key.

        Parameters
        ----------
        axes : array of matplotlib Axes or None
            At least ``len(keys)`` axes; ``None`` makes a new figure.

        Returns
        -------
        self
        """
        import matplotlib.pyplot as plt

        if axes is None:
            # Constrained layout makes room for the legend right of the
            # last panel.
            _, axes = plt.subplots(1, len(self.keys),
                                   figsize=(3.6 * len(self.keys) + 1.5, 3.2),
                                   layout="constrained")
        from matplotlib.ticker import MaxNLocator

        axes = np.atleast_1d(axes)
        n_epochs = max((len(h) for h in self.histories.values()), default=0)
        for ax, key in zip(axes, self.keys):
            lines = []
            for label, history in self.histories.items():
                values = np.array([epoch.get(key, np.nan) for epoch in history],
                                  dtype=float)
                if key in self.normalize and np.isfinite(values).any():
                    values = values / np.nanmax(np.abs(values))
                lines.append((label, np.arange(1, len(values) + 1), values))
            _plot_lines(ax, lines, n_epochs)
            # Room for the large markers of nested lines at the edges.
            ax.margins(x=0.04, y=0.1)
            title = _HISTORY_TITLES.get(key, key)
            if key in self.normalize:
                title = f"{title}\n/ its largest value"
            ax.set_title(title, fontsize="medium")
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
        _legend_outside(axes[len(self.keys) - 1])
        self.axes_, self.figure_ = axes, axes[0].figure
        return self


#: Panel titles of the history keys sklip records.
_HISTORY_TITLES = {
    "reg_lambda": "λ (reg_lambda)",
    "lipschitz": "Lipschitz lower bound (lipschitz)",
    "train_loss": "training objective (train_loss)",
    "train_data_loss": "data loss, without λ·R (train_data_loss)",
    "valid_loss": "validation loss (valid_loss)",
    "train_score": "training score (train_score)",
    "valid_acc": "validation accuracy (valid_acc)",
    "epsilon": "ε (epsilon)",
}
