"""
SGDM, NAG and Adam on the CLIP-regularised polynomial fit
=========================================================

Reproduces the slides' Figure 11 ("Comparison of SGDM, NAG, ADAM results for
log scaled learning rate"): the CLIP-regularised fit of the polynomial
``P(x) = s·(0.5 + 0.01x + x⁶)`` is trained with SGD with momentum
(``optimizer="sgdm"``), Nesterov's accelerated gradient (``"nag"``) and Adam
(``"adam"``) for nine learning rates on a logarithmic grid from 10⁻⁴ to 1.
The left panel plots the final data loss (the mean squared error, without
λ·penalty: ``train_data_loss`` in the history) against the learning rate,
the right one each optimiser's computation time per epoch, as in the
slides.

A run that diverges is stopped by sklip (a ``FloatingPointError``) and
drawn as a cross at the top of the left panel. The script prints every
run's loss and time and saves ``optimizers.png`` into
``$SKLIP_EXAMPLES_OUTPUT`` (default: the current directory).
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
learning_rates = np.logspace(-4, 0, 9)
optimizers = ["sgdm", "nag", "adam"]
final_loss = {name: [] for name in optimizers}
epoch_ms = {name: [] for name in optimizers}
for name in optimizers:
    for lr in learning_rates:
        model = LipschitzRegressor(
            regularizer="clip", reg_lambda=0.01, hidden_layer_sizes=(32, 32),
            optimizer=name, lr=float(lr), max_epochs=10 if QUICK else 30,
            batch_size=32, random_state=0, callbacks__collapse=None)
        try:
            model.fit(X, y)
        except FloatingPointError:
            # sklip refuses a run whose loss blew up (too large a step).
            final_loss[name].append(np.inf)
            epoch_ms[name].append(np.nan)
            print(f"{name:>4} lr = {lr:<7.3g} diverged")
            continue
        loss = float(model.history[-1, "train_data_loss"])
        # The first epoch also pays for building the optimiser's state.
        ms = 1000 * float(np.median(model.history[1:, "dur"]))
        final_loss[name].append(loss)
        epoch_ms[name].append(ms)
        print(f"{name:>4} lr = {lr:<7.3g} final data loss = {loss:.5f}, "
              f"{ms:.1f} ms/epoch")

# %%
# Final data loss and time per epoch against the learning rate. A diverged
# run is a cross at the top of the loss panel.
fig, (ax_loss, ax_time) = plt.subplots(1, 2, figsize=(11, 4),
                                       layout="constrained")
styles = zip(range(3), optimizers, ["-", "--", ":"], ["o", "s", "^"])
finite_losses = np.concatenate([np.asarray(v)[np.isfinite(v)]
                                for v in final_loss.values()])
top = finite_losses.max() * 3
for i, name, ls, marker in styles:
    loss = np.asarray(final_loss[name])
    finite = np.isfinite(loss)
    line, = ax_loss.plot(learning_rates[finite], loss[finite], ls=ls,
                         marker=marker, mfc="none", label=name.upper())
    if not finite.all():
        # One height per optimiser, so that crosses at one lr stay apart.
        ax_loss.plot(learning_rates[~finite],
                     np.full((~finite).sum(), top * 1.5 ** i), "x",
                     color=line.get_color(), ms=9)
    ax_time.plot(learning_rates, epoch_ms[name], ls=ls, marker=marker,
                 mfc="none", color=line.get_color(), label=name.upper())
    best = int(np.argmin(np.where(finite, loss, np.inf)))
    print(f"{name:>4}: best lr = {learning_rates[best]:.3g}, "
          f"data loss = {loss[best]:.5f}, "
          f"median {np.nanmedian(epoch_ms[name]):.1f} ms/epoch")
for ax in (ax_loss, ax_time):
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.grid(alpha=0.3, which="both")
ax_loss.set_yscale("log")
ax_loss.set_ylabel("final data loss (MSE, without λ·penalty)")
ax_loss.set_title("final data loss (× = diverged, stopped by sklip)")
ax_time.set_ylabel("computation time per epoch (ms, median)")
ax_time.set_ylim(bottom=0)
ax_time.set_title("computation time")
ax_time.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
fig.suptitle("SGDM vs NAG vs Adam, CLIP fit of the polynomial "
             "(slides, Fig. 11)")
fig.savefig(os.path.join(OUTPUT, "optimizers.png"), dpi=100)
