"""``reg_lambda="path"``: λ chosen by a cross-validated path on the training
data.

``"auto"`` takes the λ searched on MNIST, scaled to the data; on a network
or data set unlike MNIST's it can still be too weak or too strong.
``"path"`` lets the data decide: before training, the estimator runs
:class:`~sklip.LipschitzClassifierCV` (or
:class:`~sklip.LipschitzRegressorCV`) with its defaults on the training
data — 3 folds, each a warm-started path of 6 λ on a log grid around the
``"auto"`` λ (the first point ``max_epochs`` epochs, each next
``max_epochs // 3``), scored by the clean score and the default robust
score, λ picked by the one-standard-error rule — and then trains once at
the chosen λ as with a number. The cost is that of the search:
``3 · (max_epochs + 5 · max_epochs // 3)`` epochs on two thirds of the
data (about 5 fits) plus 18 robustness evaluations, which dominate: on the
digits MLP (64 hidden units, 20 epochs, 1,400 images, TV) a fit with
``"path"`` took 8.5 s against 0.31 s with ``"auto"``
(``benchmarks/path_lambda_cost.py``). The path's scores
are kept in ``lambda_path_``; ``sample_weight`` weights the final fit
only (the path is scored unweighted).
"""

import torch
from sklearn.base import clone, is_classifier

__all__ = ["lambda_from_path"]


def lambda_from_path(estimator, X, y):
    """The λ a cross-validated path on ``(X, y)`` chooses for ``estimator``.

    Parameters
    ----------
    estimator : LipschitzClassifier or LipschitzRegressor
        The estimator being fitted with ``reg_lambda="path"``.
    X, y : array-like
        Its validated training data.

    Returns
    -------
    reg_lambda : float
    path : dict
        ``lambdas``, ``scores`` and ``robust_scores`` (per fold and λ) and
        the ``rule`` of the search.
    """
    from .model_selection import LipschitzClassifierCV, LipschitzRegressorCV

    if isinstance(X, torch.utils.data.Dataset):
        raise TypeError(
            "reg_lambda='path' splits the training arrays into folds; a "
            "torch Dataset is not supported: pass arrays, or a number or "
            "'auto' as reg_lambda.")
    # The path's fits are the estimator's own, at "auto"-centred λ, silent.
    template = clone(estimator).set_params(reg_lambda="auto", verbose=0)
    search_class = (LipschitzClassifierCV if is_classifier(estimator)
                    else LipschitzRegressorCV)
    search = search_class(template, refit=False).fit(X, y)
    path = {"lambdas": search.lambdas_, "scores": search.scores_,
            "robust_scores": search.robust_scores_, "rule": search.rule}
    return float(search.reg_lambda_), path
