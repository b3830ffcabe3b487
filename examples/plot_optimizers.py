"""
SGDM, NAG and Adam on the CLIP-regularised polynomial fit
=========================================================

Reproduces the slides' Figure 11 ("Comparison of SGDM, NAG, ADAM results for
log scaled learning rate"): the CLIP-regularised fit of the polynomial
``P(x) = s·(0.5 + 0.01x + x⁶)`` is trained with SGD with momentum
(``optimizer="sgdm"``), Nesterov's accelerated gradient (``"nag"``) and Adam
(``"adam"``) for learning rates on a logarithmic grid, and the final training
loss is plotted against the learning rate.

The grid and the number of epochs are kept small so that the script runs in
seconds; widen them to see the full picture. The script prints the final
loss and the mean time per epoch of every run and saves ``optimizers.png``
into ``$SKLIP_EXAMPLES_OUTPUT`` (default: the current directory).
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sklip import LipschitzRegressor  # noqa: E402
from sklip.datasets import make_polynomial  # noqa: E402

OUTPUT = os.environ.get("SKLIP_EXAMPLES_OUTPUT", ".")
# The documentation build sets SKLIP_EXAMPLES_QUICK=1 to train shorter; the
# numbers and figures on the rendered page come from that shortened run.
QUICK = os.environ.get("SKLIP_EXAMPLES_QUICK") == "1"
os.makedirs(OUTPUT, exist_ok=True)

X, y = make_polynomial(n_samples=100, random_state=0)

# %%
# One run per (optimiser, learning rate); same network, data and seed.
learning_rates = np.logspace(-3, 0, 4)
optimizers = ["sgdm", "nag", "adam"]
final_loss = {name: [] for name in optimizers}
for name in optimizers:
    for lr in learning_rates:
        model = LipschitzRegressor(
            regularizer="clip", reg_lambda=0.01, hidden_layer_sizes=(32, 32),
            optimizer=name, lr=float(lr), max_epochs=10 if QUICK else 40, batch_size=32,
            random_state=0)
        try:
            model.fit(X, y)
        except FloatingPointError:
            # sklip stops a run whose loss became NaN (too large a step).
            final_loss[name].append(np.nan)
            print(f"{name:>4} lr = {lr:<7.3g} diverged")
            continue
        loss = float(model.history[-1, "train_loss"])
        epoch_time = float(np.mean(model.history[:, "dur"]))
        final_loss[name].append(loss)
        print(f"{name:>4} lr = {lr:<7.3g} final train loss = {loss:.5f}, "
              f"{epoch_time * 1000:.1f} ms/epoch")

# %%
# Final training loss against the learning rate (log-log). A diverged run
# is left out of the plot.
fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
for name, ls, marker in zip(optimizers, ["-", "--", ":"], ["o", "s", "^"]):
    loss = np.asarray(final_loss[name])
    finite = np.isfinite(loss)
    ax.plot(learning_rates[finite], loss[finite], ls=ls, marker=marker,
            mfc="none", label=name.upper())
    best = int(np.nanargmin(np.where(finite, loss, np.nan)))
    print(f"{name:>4}: best lr = {learning_rates[best]:.3g}, "
          f"loss = {loss[best]:.5f}")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("learning rate")
ax.set_ylabel("final training loss")
ax.set_title("SGDM vs NAG vs Adam, CLIP fit (slides, Fig. 11)")
ax.grid(alpha=0.3, which="both")
ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
fig.savefig(os.path.join(OUTPUT, "optimizers.png"), dpi=100)
