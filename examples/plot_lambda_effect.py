"""
Effect of the CLIP weight λ on the polynomial fit
=================================================

Reproduces the slides' Figures 9-10 ("How does CLIP evolve with λ
variations?" and "λ must be chosen carefully"): the polynomial
``P(x) = s·(0.5 + 0.01x + x⁶)`` on [−3, −2] ∪ [2, 3] is fitted with CLIP for
several values of λ. A small λ barely changes the fit; a large one flattens
the network until it no longer fits the data.

The per-epoch training history of every run (the Lipschitz estimate
normalised by its largest value, the data loss without the penalty and the
training score, R² for a regressor) is drawn with
:class:`sklip.plotting.TrainingHistoryDisplay`. The script prints the final
R², loss and exact Lipschitz constant for each λ and saves
``lambda_effect_fits.png`` and ``lambda_effect_history.png`` into
``$SKLIP_EXAMPLES_OUTPUT`` (default: the current directory).
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
from sklip.plotting import TrainingHistoryDisplay  # noqa: E402

OUTPUT = os.environ.get("SKLIP_EXAMPLES_OUTPUT", ".")
# The documentation build sets SKLIP_EXAMPLES_QUICK=1 to train shorter; the
# numbers and figures on the rendered page come from that shortened run.
QUICK = os.environ.get("SKLIP_EXAMPLES_QUICK") == "1"
os.makedirs(OUTPUT, exist_ok=True)

X, y = make_polynomial(n_samples=100, random_state=0)
scale = 1.0 / float(polynomial(3.0))

# %%
# One CLIP-regularised fit per λ; everything else is fixed.
lambdas = [0.001, 0.01, 0.1, 1.0]
models = {}
for lam in lambdas:
    model = LipschitzRegressor(
        regularizer="clip", reg_lambda=lam, hidden_layer_sizes=(64, 64),
        max_epochs=30 if QUICK else 100, lr=0.01, batch_size=32, optimizer="adam",
        random_state=0)
    model.fit(X, y)
    models[f"λ = {lam:g}"] = model
    lip = lipschitz_exact_1d(model, -3.0, 3.0, n_points=20_001)
    print(f"λ = {lam:<6g} train R² = {model.score(X, y):.4f}, "
          f"final data loss = {model.history[-1, 'train_data_loss']:.5f}, "
          f"Lip on [-3, 3] = {lip:.3f}")

# %%
# The fits (Figure 9).
grid = np.linspace(-3, 3, 601, dtype=np.float32).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
ax.plot(grid, polynomial(grid, scale), "k--", lw=1, label="P(x)")
ax.scatter(X, y, s=10, c="k", alpha=0.6, label="training data")
for (label, model), ls in zip(models.items(), ["-", "--", "-.", ":"]):
    ax.plot(grid, model.predict(grid), lw=2, ls=ls, label=label)
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title("CLIP fits for several λ (slides, Fig. 9)")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
fig.savefig(os.path.join(OUTPUT, "lambda_effect_fits.png"), dpi=100)

# %%
# The training histories (Figure 10): the Lipschitz estimate of each epoch
# normalised by its run's largest value, so that the runs share one scale;
# the data loss (the MSE without λ·penalty, ``train_data_loss``) and the
# training R² as recorded.
disp = TrainingHistoryDisplay(
    {label: model.history for label, model in models.items()},
    keys=("lipschitz", "train_data_loss", "train_score"),
    normalize=("lipschitz",)).plot()
disp.axes_[1].set_yscale("log")
disp.axes_[2].set_ylim(-0.5, 1.05)
disp.figure_.suptitle("Training history for several λ (slides, Fig. 10)")
disp.figure_.savefig(os.path.join(OUTPUT, "lambda_effect_history.png"),
                     dpi=100)
