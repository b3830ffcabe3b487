"""
TV regularisation with an increasing weight tends to a constant
===============================================================

Reproduces the slides' Figure 12 ("Illustration of TV regularization with an
increasing weight"): the polynomial ``P(x) = s·(0.5 + 0.01x + x⁶)`` is fitted
with the TV penalty (the mean input-gradient norm) for λ from 0 to 1. The
slides' property "a limit for infinite λ": as λ grows the minimiser tends to
the constant network that minimises the data loss alone, here the mean of
the targets (the mean squared error's best constant).

The script prints each fit's training R², its exact Lipschitz constant on
[−3, 3] (:func:`sklip.lipschitz.lipschitz_exact_1d`) and its largest
distance from the mean of the targets, and saves ``tv_increasing_weight.png``
into ``$SKLIP_EXAMPLES_OUTPUT`` (default: the current directory).
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sklip import LipschitzRegressor  # noqa: E402
from sklip.datasets import make_polynomial, polynomial  # noqa: E402
from sklip.lipschitz import lipschitz_exact_1d  # noqa: E402

OUTPUT = os.environ.get("SKLIP_EXAMPLES_OUTPUT", ".")
# The documentation build sets SKLIP_EXAMPLES_QUICK=1 to train shorter; the
# numbers and figures on the rendered page come from that shortened run.
QUICK = os.environ.get("SKLIP_EXAMPLES_QUICK") == "1"
os.makedirs(OUTPUT, exist_ok=True)

X, y = make_polynomial(n_samples=100, random_state=0)
scale = 1.0 / float(polynomial(3.0))
grid = np.linspace(-3, 3, 601, dtype=np.float32).reshape(-1, 1)

# %%
# One fit per λ; same network, data and seed. The large λ are meant to end
# near a constant, so the collapse warning is switched off.
lambdas = [0.0, 0.01, 0.03, 0.1, 1.0]
fits = {}
for lam in lambdas:
    model = LipschitzRegressor(
        regularizer="tv" if lam else "none", reg_lambda=lam,
        hidden_layer_sizes=(64, 64), max_epochs=40 if QUICK else 120,
        lr=0.01, batch_size=32, random_state=0, callbacks__collapse=None)
    model.fit(X, y)
    curve = model.predict(grid)
    lip = lipschitz_exact_1d(model, -3.0, 3.0, n_points=20_001)
    gap = float(np.max(np.abs(curve - y.mean())))
    fits[lam] = curve
    print(f"λ = {lam:<5g}: train R² = {model.score(X, y):7.4f}, "
          f"Lip on [-3, 3] = {lip:6.3f}, max |f(x) - mean(y)| = {gap:.4f}")

# %%
# The fits over [−3, 3]; the dotted line is the constant limit, mean(y).
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
ax.scatter(X, y, s=10, c="k", alpha=0.6, label="training data")
ax.plot(grid, polynomial(grid, scale), "k--", lw=1, label="P(x)")
colors = plt.cm.viridis(np.linspace(0, 0.9, len(lambdas)))
for (lam, curve), color, ls in zip(fits.items(), colors,
                                   ["-", "--", "-.", ":", "-"]):
    ax.plot(grid, curve, color=color, ls=ls, lw=2,
            label="no penalty" if lam == 0 else f"TV, λ = {lam:g}")
ax.axhline(y.mean(), color="tab:red", ls=":", lw=1.5,
           label="mean(y): the limit λ → ∞")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title("TV regularisation with an increasing weight (slides, Fig. 12)")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
fig.savefig(os.path.join(OUTPUT, "tv_increasing_weight.png"), dpi=100)
