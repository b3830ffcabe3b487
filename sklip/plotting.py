"""Display objects for robustness curves and training histories.

Following scikit-learn's ``Display`` convention: ``from_estimator`` computes,
``plot`` draws, and matplotlib is imported only when drawing.

- :class:`RobustnessCurveDisplay`: accuracy against attack radius (the
  slides' Figures 13–15).
- :class:`TrainingHistoryDisplay`: λ, Lipschitz estimate, loss and accuracy
  per epoch (the slides' Figure 10).
"""

import numpy as np

__all__ = ["RobustnessCurveDisplay", "TrainingHistoryDisplay"]


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    return ax


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
        for label, curve in self.curves.items():
            ax.plot(np.asarray(curve["eps_values"]),
                    np.asarray(curve["accuracy"]),
                    marker="o", label=label)
        ax.set_xlabel(self._radius_label())
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend()
        ax.set_title(self._title())
        self.ax_, self.figure_ = ax, ax.figure
        return self


    def _params(self):
        first = next(iter(self.curves.values()), {})
        return first.get("attack_params", {}), first.get("n_samples")

    def _radius_label(self):
        if self.attack == "noise":
            return "noise σ (per input coordinate)"
        params, _ = self._params()
        norm = params.get("norm")
        name = {2: "L2", "2": "L2", "inf": "L∞"}.get(norm, str(norm))
        return f"ε ({name} norm)" if norm is not None else "ε"

    def _title(self):
        params, n_samples = self._params()
        what = {"worst_case": "worst case of APGD-CE/DLR/T, margin PGD, "
                "Square",
                "pgd": "PGD", "fgsm": "FGSM", "apgd": "APGD",
                "square": "Square Attack",
                "noise": "Gaussian noise"}.get(self.attack, self.attack)
        details = []
        if self.attack in ("pgd", "apgd", "worst_case") and "n_iter" in params:
            details.append(f"{params['n_iter']} steps")
        if self.attack in ("pgd", "fgsm", "apgd") and params.get("loss"):
            details.append(f"{params['loss']} loss")
        elif self.attack in ("pgd", "fgsm"):
            details.append("cross-entropy")
        if n_samples is not None:
            details.append(f"{n_samples} test points")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"Accuracy under {what}{suffix}"


class TrainingHistoryDisplay:
    """Per-epoch λ, Lipschitz estimate, loss and training score.

    Parameters
    ----------
    histories : dict of str to skorch History
        Label -> the estimator's ``history``.
    keys : sequence of str
        History keys drawn, one panel each.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
    figure_ : matplotlib Figure
    """

    default_keys = ("reg_lambda", "lipschitz", "train_loss", "train_score")

    def __init__(self, histories, keys=default_keys):
        self.histories = histories
        self.keys = keys

    @classmethod
    def from_estimator(cls, estimator, *, keys=default_keys, label=None):
        """Plot the history of one fitted estimator.

        Parameters
        ----------
        estimator : fitted sklip estimator
        keys : sequence of str
            History keys to draw.
        label : str or None
            Legend entry.

        Returns
        -------
        TrainingHistoryDisplay
        """
        label = label or str(getattr(estimator, "regularizer", "model"))
        return cls({label: estimator.history}, keys).plot()

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
            _, axes = plt.subplots(1, len(self.keys),
                                   figsize=(4 * len(self.keys), 3.2))
        axes = np.atleast_1d(axes)
        for ax, key in zip(axes, self.keys):
            for label, history in self.histories.items():
                values = [epoch.get(key, np.nan) for epoch in history]
                ax.plot(np.arange(1, len(values) + 1), values, label=label)
            ax.set_title(key)
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
        axes[0].legend()
        self.axes_, self.figure_ = axes, axes[0].figure
        return self
