"""
CLIP with few updates of its pairs
==================================

Reproduces the slides' Figure 8 ("DNN fitting polynomial function -
Lipschitz regularisation with few X_lip updates"). CLIP (Bungert et al.,
SSVM 2021) penalises the largest difference quotient over a set of pairs
``X_lip``; between two training steps every pair climbs ``n_iter``
gradient-ascent steps on its quotient (``regularizer__n_iter``). Here the
same perceptron is fitted to the slides' polynomial with no update of the
pairs (``n_iter=0``: they stay where they were seeded, next to training
points), the default one update per step, and five.

The script prints, for each, the training R², the exact Lipschitz constant
on [−3, 3] (:func:`sklip.lipschitz.lipschitz_exact_1d`), the largest
quotient of the final pairs and how many of them lie in the gap [−2, 2];
it saves ``clip_few_updates.png`` (the fits, and the pairs' estimate of the
constant per epoch) into ``$SKLIP_EXAMPLES_OUTPUT`` (default: the current
directory).

On this problem the updates change little: the polynomial is steepest at
±3, inside the data, so pairs seeded next to training points already sit
where the quotient is largest: in all three fits the largest quotient of
the final pairs equals the network's exact Lipschitz constant (to three
digits) and the fits are alike. With five updates per step a few pairs
climb out of the data's range, where the network extrapolates. The updates
matter where the steepest slope of the network is away from the data,
which the pairs can only find by climbing.
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from sklip import LipschitzRegressor  # noqa: E402
from sklip.datasets import make_polynomial, polynomial  # noqa: E402
from sklip.functional import difference_quotients  # noqa: E402
from sklip.lipschitz import lipschitz_exact_1d  # noqa: E402

OUTPUT = os.environ.get("SKLIP_EXAMPLES_OUTPUT", ".")
# The documentation build sets SKLIP_EXAMPLES_QUICK=1 to train shorter; the
# numbers and figures on the rendered page come from that shortened run.
QUICK = os.environ.get("SKLIP_EXAMPLES_QUICK") == "1"
os.makedirs(OUTPUT, exist_ok=True)

# %%
# Data: 100 points of the polynomial on [−3, −2] ∪ [2, 3], targets in [0, 1].
X, y = make_polynomial(n_samples=100, random_state=0)
scale = 1.0 / float(polynomial(3.0))

# %%
# The same network and λ, with 0, 1 (the default) and 5 pair updates per
# training step.
common = dict(hidden_layer_sizes=(64, 64), max_epochs=60 if QUICK else 300,
              lr=0.01, batch_size=32, regularizer="clip", reg_lambda=0.01,
              random_state=0)
models = {n_iter: LipschitzRegressor(regularizer__n_iter=n_iter, **common)
          for n_iter in (0, 1, 5)}
print(f"{'updates per step':>16}  train R²  Lip on [-3, 3]  pairs' max q  "
      "pair points in the gap  beyond ±3.5")
for n_iter, model in models.items():
    model.fit(X, y)
    search = model.regularizer_.search_
    pairs = search.pairs.numpy().ravel()
    with torch.no_grad():
        quotients = difference_quotients(model.module_, search.u, search.v)
    print(f"{n_iter:>16}  {model.score(X, y):8.4f}  "
          f"{lipschitz_exact_1d(model, -3.0, 3.0, n_points=20_001):14.3f}  "
          f"{float(quotients.max()):12.3f}  "
          f"{int(np.sum(np.abs(pairs) < 2)):>14d} of {pairs.size}  "
          f"{int(np.sum(np.abs(pairs) > 3.5)):>12d}")
print(f"{'true P':>16}  {'':8}  {scale * (0.01 + 6 * 3.0 ** 5):14.3f}")

# %%
# Left: the fits, the data and where the pairs ended. Right: the pairs'
# estimate of the Lipschitz constant, the square root of CLIP's penalty
# (the largest squared quotient over the pairs), per epoch.
grid = np.linspace(-3, 3, 601, dtype=np.float32).reshape(-1, 1)
fig, (ax_fit, ax_lip) = plt.subplots(1, 2, figsize=(11, 4),
                                     layout="constrained")
ax_fit.plot(grid, polynomial(grid, scale), "k--", lw=1, label="P(x)")
ax_fit.scatter(X, y, s=10, c="k", alpha=0.5, label="training data")
styles = {0: ("-", "o"), 1: ("-.", "s"), 5: (":", "^")}
for n_iter, model in models.items():
    ls, marker = styles[n_iter]
    line, = ax_fit.plot(grid, model.predict(grid), lw=2, ls=ls,
                        label=f"n_iter = {n_iter}")
    pairs = model.regularizer_.search_.pairs.numpy().reshape(-1, 1)
    ax_fit.plot(pairs, model.predict(pairs), ls="none", marker=marker,
                ms=4, color=line.get_color(), alpha=0.7)
    estimate = np.sqrt(model.history[:, "penalty"])
    ax_lip.plot(np.arange(1, len(estimate) + 1), estimate, ls=ls, lw=2,
                color=line.get_color(), label=f"n_iter = {n_iter}")
ax_fit.axvspan(-2, 2, color="grey", alpha=0.1)
# Pairs that climbed out of the data's range (printed above) are off the
# axes: the fit is drawn where the data and the gap are.
ax_fit.set_xlim(-3.3, 3.3)
ax_fit.set_ylim(-0.1, 1.1)
ax_fit.set_xlabel("x")
ax_fit.set_ylabel("y")
ax_fit.set_title("Fits (markers: the final pairs within ±3.3)")
ax_lip.set_xlabel("epoch")
ax_lip.set_ylabel("√(CLIP penalty): the pairs' largest quotient")
ax_lip.set_title("The pairs' estimate of Lip(f)")
ax_lip.legend(title="pair updates per step", loc="upper left",
              bbox_to_anchor=(1.02, 1), borderaxespad=0)
ax_fit.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
              borderaxespad=0)
fig.suptitle("CLIP with few updates of X_lip (slides, Fig. 8)")
fig.savefig(os.path.join(OUTPUT, "clip_few_updates.png"), dpi=100)
