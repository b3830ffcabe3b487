"""
Robustness grid search on a Dask cluster
========================================

:class:`~sklearn.model_selection.GridSearchCV` hands its fits to joblib, and
joblib's Dask backend sends them to the workers of a
:mod:`dask.distributed` cluster: the estimators, their regularisers and the
robustness scorers are pickled there and the scores come back. Here a local
cluster of two single-threaded worker processes on 127.0.0.1 stands in for a
real one (replace ``LocalCluster`` by ``Client("tcp://scheduler:8786")``).

The search tunes the regulariser (TV or CLIP) and λ on scikit-learn's
digits, scored on clean accuracy and on accuracy under PGD-L2
(:func:`sklip.metrics.pgd_accuracy_scorer`), and refits the most robust
candidate. It is run a second time with ``n_jobs=1`` in this process: with
``random_state`` set and one torch thread everywhere the two give the same
scores, bit for bit. The script prints the ``cv_results_`` table, which
worker ran how many tasks and whether the two searches agree, and saves
``dask_search.png`` (clean and PGD accuracy of every candidate) into
``$SKLIP_EXAMPLES_OUTPUT`` (default: the current directory).

Dask starts its workers as fresh Python processes that import this script,
so everything that runs is under ``if __name__ == "__main__":``, as Dask
asks of any script that starts a ``LocalCluster``.
"""

# %%
import os
from collections import Counter

import joblib
import numpy as np
import torch
from sklearn.model_selection import GridSearchCV

from sklip import LipschitzClassifier
from sklip.datasets import load_digits_scaled
from sklip.metrics import pgd_accuracy_scorer

OUTPUT = os.environ.get("SKLIP_EXAMPLES_OUTPUT", ".")
# The documentation build sets SKLIP_EXAMPLES_QUICK=1 to train shorter; the
# numbers and figures on the rendered page come from that shortened run.
QUICK = os.environ.get("SKLIP_EXAMPLES_QUICK") == "1"


def make_search(n_jobs):
    """The search: TV or CLIP, two values of λ, clean and PGD scores."""
    base = LipschitzClassifier(hidden_layer_sizes=(32,), max_epochs=2 if QUICK else 6,
                               lr=0.01, batch_size=64, random_state=0)
    grid = {"regularizer": ["tv", "clip"], "reg_lambda": [0.03, 0.3]}
    scoring = {"clean": "accuracy",
               "pgd": pgd_accuracy_scorer(eps=1.0, norm=2, n_iter=10,
                                          clamp=(0, 1))}
    return GridSearchCV(base, grid, scoring=scoring, refit="pgd", cv=3,
                        n_jobs=n_jobs)


# %%
# The cluster, the search on it, and the same search in this process.
def main():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from dask.distributed import Client, LocalCluster, get_task_stream

    os.makedirs(OUTPUT, exist_ok=True)
    torch.set_num_threads(1)
    X, y = load_digits_scaled()
    X, y = X[:450], y[:450]

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        # torch's float sums depend on its thread count: one thread in every
        # worker, as here, makes the results those of n_jobs=1.
        client.run(torch.set_num_threads, 1)
        with get_task_stream(client) as stream, \
                joblib.parallel_backend("dask"):
            search = make_search(n_jobs=-1).fit(X, y)
        tasks = Counter(task["worker"] for task in stream.data)

    columns = ["param_regularizer", "param_reg_lambda", "mean_test_clean",
               "mean_test_pgd", "rank_test_pgd"]
    table = pd.DataFrame(search.cv_results_)[columns]
    with pd.option_context("display.width", 120, "display.precision", 3):
        print(table.to_string(index=False))
    print("best parameters (by PGD accuracy):", search.best_params_)
    for worker, count in sorted(tasks.items()):
        print(f"worker {worker} ran {count} task(s)")

    local = make_search(n_jobs=1).fit(X, y)
    same = all(np.array_equal(search.cv_results_[key], local.cv_results_[key])
               for key in search.cv_results_
               if key.startswith(("split", "mean_test", "rank_test")))
    print("Dask and n_jobs=1 give identical scores:", same)

    # %%
    # Clean against PGD accuracy of every candidate.
    labels = [f"{p['regularizer']}\nλ={p['reg_lambda']}"
              for p in search.cv_results_["params"]]
    position = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
    ax.bar(position - 0.2, search.cv_results_["mean_test_clean"], 0.4,
           label="clean")
    ax.bar(position + 0.2, search.cv_results_["mean_test_pgd"], 0.4,
           label="PGD-L2, ε = 1")
    ax.set_xticks(position, labels)
    ax.set_ylabel("mean CV accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    ax.set_title("Grid search on a Dask cluster")
    fig.savefig(os.path.join(OUTPUT, "dask_search.png"), dpi=100)


if __name__ == "__main__":
    main()
