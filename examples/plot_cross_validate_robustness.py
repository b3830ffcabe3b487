"""
Cross-validated robustness of no regulariser, CLIP and TV
=========================================================

:func:`~sklearn.model_selection.cross_validate` accepts sklip's robustness
scorers like any other: here the standard network (``"none"``), CLIP and
the slides' TV regulariser are compared on scikit-learn's bundled digits by
3-fold cross-validation on clean accuracy,
accuracy under FGSM-L∞, PGD-L2 and Gaussian noise
(:func:`sklip.metrics.fgsm_accuracy_scorer`,
:func:`~sklip.metrics.pgd_accuracy_scorer`,
:func:`~sklip.metrics.noise_accuracy_scorer`) and minus an empirical lower
bound of the Lipschitz constant (:func:`~sklip.metrics.lipschitz_scorer`;
greater is better, so it is printed negated back).

This is a small cross-validated version of the comparison of the slides'
Figures 13-15 (accuracy under FGSM, PGD and noise for the different training
methods). The script prints mean ± std per scorer and regulariser and saves
``cross_validate_robustness.png`` (a bar plot) into
``$SKLIP_EXAMPLES_OUTPUT`` (default: the current directory).
"""

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_validate  # noqa: E402

from sklip import LipschitzClassifier  # noqa: E402
from sklip.datasets import load_digits_scaled  # noqa: E402
from sklip.metrics import (fgsm_accuracy_scorer, lipschitz_scorer,  # noqa: E402
                           noise_accuracy_scorer, pgd_accuracy_scorer)

OUTPUT = os.environ.get("SKLIP_EXAMPLES_OUTPUT", ".")
# The documentation build sets SKLIP_EXAMPLES_QUICK=1 to train shorter; the
# numbers and figures on the rendered page come from that shortened run.
QUICK = os.environ.get("SKLIP_EXAMPLES_QUICK") == "1"
os.makedirs(OUTPUT, exist_ok=True)

X, y = load_digits_scaled()

# %%
# The scorers, all "greater is better".
scoring = {
    "clean": "accuracy",
    "fgsm (L∞, ε=0.05)": fgsm_accuracy_scorer(eps=0.05, norm="inf",
                                              clamp=(0, 1)),
    "pgd (L2, ε=1)": pgd_accuracy_scorer(eps=1.0, norm=2, n_iter=10,
                                         clamp=(0, 1)),
    "noise (σ=0.3)": noise_accuracy_scorer(sigma=0.3, clamp=(0, 1)),
    "lipschitz": lipschitz_scorer(),
}

# %%
# Same network, data and folds for the three regularisers.
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
common = dict(hidden_layer_sizes=(64,), max_epochs=5 if QUICK else 15, lr=0.1,
              optimizer="sgdm", batch_size=64, random_state=0)
models = {
    "none": LipschitzClassifier(regularizer="none", **common),
    "clip": LipschitzClassifier(regularizer="clip", reg_lambda=0.1, **common),
    "tv": LipschitzClassifier(regularizer="tv", reg_lambda=0.1, **common),
}
results = {}
for name, model in models.items():
    scores = cross_validate(model, X, y, cv=cv, scoring=scoring)
    results[name] = {key: scores[f"test_{key}"] for key in scoring}
    results[name]["lipschitz"] = -results[name]["lipschitz"]
    print(f"--- {name} (fit {np.mean(scores['fit_time']):.2f} s per fold)")
    for key, values in results[name].items():
        label = "Lipschitz lower bound" if key == "lipschitz" else key
        print(f"  {label:>22}: {np.mean(values):.3f} ± {np.std(values):.3f}")

# %%
# Bar plot: accuracies on the left, the Lipschitz estimate on the right.
acc_keys = [key for key in scoring if key != "lipschitz"]
fig, (ax_acc, ax_lip) = plt.subplots(
    1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]},
    layout="constrained")
width = 0.8 / len(models)
positions = np.arange(len(acc_keys))
for i, (name, res) in enumerate(results.items()):
    ax_acc.bar(positions + i * width, [np.mean(res[k]) for k in acc_keys],
               width, yerr=[np.std(res[k]) for k in acc_keys], capsize=3,
               label=name)
    ax_lip.bar(i, np.mean(res["lipschitz"]), yerr=np.std(res["lipschitz"]),
               capsize=3, color=f"C{i}")
ax_acc.set_xticks(positions + width * (len(models) - 1) / 2)
ax_acc.set_xticklabels(acc_keys)
ax_acc.set_ylabel("accuracy (3-fold CV)")
ax_acc.set_ylim(0, 1.05)
ax_acc.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
ax_acc.set_title("Accuracy, clean and under attack")
ax_lip.set_xticks(range(len(models)))
ax_lip.set_xticklabels(list(models))
ax_lip.set_title("Lipschitz lower bound")
for ax in (ax_acc, ax_lip):
    ax.grid(alpha=0.3, axis="y")
fig.savefig(os.path.join(OUTPUT, "cross_validate_robustness.png"), dpi=100)
