"""
Fitting the slides' polynomial with and without CLIP
====================================================

Reproduces the slides' Figure 7 ("DNN fitting polynomial function -
over-fitting vs Lipschitz regularisation"): the same perceptron is fitted to
``P(x) = s·(0.5 + 0.01x + x⁶)`` sampled on [−3, −2] ∪ [2, 3], once without a
regulariser and once with CLIP (Bungert et al., SSVM 2021). In the gap
[−2, 2], where there is no data, the unregularised network is free to
oscillate; CLIP keeps its Lipschitz constant, and so the fit, tame.

The script prints the training R² and the exact Lipschitz constant on
[−3, 3] (:func:`sklip.lipschitz.lipschitz_exact_1d`) of both networks, and
saves ``polynomial_clip.png`` into ``$SKLIP_EXAMPLES_OUTPUT`` (default: the
current directory).
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

# %%
# Data: 100 points of the polynomial, scaled so that targets lie in [0, 1].
X, y = make_polynomial(n_samples=100, random_state=0)
scale = 1.0 / float(polynomial(3.0))

# %%
# The same network, trained with and without CLIP.
common = dict(hidden_layer_sizes=(64, 64), max_epochs=60 if QUICK else 300, lr=0.01,
              batch_size=32, optimizer="adam", random_state=0)
models = {
    "none": LipschitzRegressor(regularizer="none", **common),
    "clip (λ = 0.01)": LipschitzRegressor(regularizer="clip", reg_lambda=0.01,
                                          **common),
}
results = {}
for name, model in models.items():
    model.fit(X, y)
    r2 = model.score(X, y)
    lip = lipschitz_exact_1d(model, -3.0, 3.0, n_points=20_001)
    results[name] = (r2, lip)
    print(f"{name:>16}: train R² = {r2:.4f}, Lip on [-3, 3] = {lip:.3f}")
print(f"{'true P':>16}: Lip on [-3, 3] = "
      f"{scale * (0.01 + 6 * 3.0 ** 5):.3f}")

# %%
# Plot the fits over [−3, 3] together with the data.
grid = np.linspace(-3, 3, 601, dtype=np.float32).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
ax.plot(grid, polynomial(grid, scale), "k--", lw=1, label="P(x)")
ax.scatter(X, y, s=10, c="k", alpha=0.6, label="training data")
for name, model in models.items():
    r2, lip = results[name]
    ax.plot(grid, model.predict(grid), lw=2,
            ls="-" if name == "none" else "-.",
            label=f"{name} (Lip {lip:.2f})")
ax.axvspan(-2, 2, color="grey", alpha=0.1)
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title("Polynomial fit with and without CLIP (slides, Fig. 7)")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
fig.savefig(os.path.join(OUTPUT, "polynomial_clip.png"), dpi=100)
