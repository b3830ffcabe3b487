"""``reg_lambda="auto"``: the searched λ, scaled down to the data.

Each regulariser's ``default_lambda`` was searched on MNIST (784 pixels in
[0, 1], ten balanced classes; ``benchmarks/search_defaults.py``). The
penalties are not dimensionless: a difference quotient ``q`` is measured in
output units per input unit, so ``λ · q^p`` (``p`` the regulariser's
``quotient_power``: 2 for CLIP's squared quotient, 1 for SumLip, TV and pTV)
compares with the data loss only at the input scale λ was searched on. A
network that separates the data must change its output by a fixed amount
(a few logits, or the targets' spread) between points with different
targets, so its quotients grow as those points come closer, and once
``λ · R`` of every separating network exceeds what separating saves in data
loss (``log 10`` for ten balanced classes), the constant predictor is the
optimum. That happens on the 8x8 digits, whose different-class images are
about 3 apart against MNIST's 10: pTV's λ = 3 and TV's 0.5 train a constant
network there (``benchmarks/auto_lambda.py``).

``"auto"`` therefore scales λ by

    s = min(1, (L0 / log 10) · (ℓ / 10)^p),

measured once on the training data when ``fit`` starts, where

- ``L0`` is the data loss of the best constant predictor: the entropy of
  the class frequencies for a classifier, the mean target variance for a
  regressor;
- ``ℓ`` is the median, over random pairs of training points with different
  targets, of ``‖x_i − x_j‖ / ‖t_i − t_j‖``: the input distance per unit of
  target change (``t`` the targets of a regressor; for a classifier two
  classes differ by one unit, so ``ℓ`` is the median distance between
  points of different classes).

MNIST's values are 2.30 and 10.3, so ``s = 1`` there (the references are
rounded down so that the benchmark keeps its searched λ exactly); λ is
never scaled up, since the searched value is not known to be safe above
the scale it was searched on. Penalties that are losses themselves
(adversarial, margin: ``quotient_power = 0``) are not scaled.

The target radius of margin training is a length too: the default 0.5 was
searched against MNIST's distance of about 10 between different digits.
On data whose classes are closer, a margin certifying that radius reaches
across them, and the penalty fights the separation itself (margin training
of standardised iris, ℓ = 3.1, ended at 0.86 of standard training's
accuracy; ``benchmarks/auto_lambda.py --unscaled-radius``). With
``epsilon=None`` the estimator therefore takes
``default_epsilon · min(1, ℓ / 10)`` for a regulariser whose radius is such
a target (``epsilon_scales_with_data``: margin training), so that it keeps
its share of the distance between classes. pTV's radius only places its
probing pairs, and a smaller one raises the quotients a ReLU network shows
(the sphere's secant approaches the local slope), which λ's own scaling
already accounts for: it is kept, as is FGSM training's L∞ radius, a share
of a pixel's range, which does not change with the number of pixels.
"""

import numpy as np

__all__ = ["auto_lambda_scale", "auto_radius_scale", "loss_and_separation"]

#: MNIST's median distance between images of different classes (10.3),
#: rounded down.
REFERENCE_LENGTH = 10.0
#: MNIST's constant-predictor loss, the entropy of ten balanced classes.
REFERENCE_LOSS = float(np.log(10.0))
#: Random pairs of training points drawn to measure ``ℓ``.
N_PAIRS = 1024


def loss_and_separation(X, y, classification, n_pairs=N_PAIRS):
    """``(L0, ℓ)`` of training data (see the module docstring).

    Both come from ``n_pairs`` random pairs of rows: ``ℓ`` from the pairs,
    ``L0`` from the targets of their rows (an estimate, so that a torch
    Dataset, read item by item, gives the same value as its arrays). The
    pairs come from a generator of fixed seed, never from an estimator's
    own, so measuring changes no random stream of training.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...) or map-style torch Dataset
        A Dataset's items are ``(X_i, y_i)``; only the drawn rows are read.
    y : ndarray of shape (n_samples,) or (n_samples, n_targets), or None
        Class labels or indices for a classifier, targets for a regressor;
        ``None`` with a Dataset.
    classification : bool
    n_pairs : int, default=1024

    Returns
    -------
    loss : float
        ``L0``, the data loss of the best constant predictor.
    length : float or None
        ``ℓ``; ``None`` when no pair has different targets.

    Examples
    --------
    >>> import numpy as np
    >>> from sklip._auto_lambda import loss_and_separation
    >>> X = np.array([[0.0], [0.0], [2.0], [2.0]])
    >>> loss, length = loss_and_separation(X, np.array([0, 0, 1, 1]), True)
    >>> round(loss, 2), length
    (0.69, 2.0)
    """
    n = len(X)
    rng = np.random.default_rng(0)
    i, j = rng.integers(n, size=n_pairs), rng.integers(n, size=n_pairs)
    rows = np.concatenate([i, j])
    if y is None:  # a Dataset: read the drawn items only
        items = [X[int(k)] for k in rows]
        X_rows = np.stack([_as_array(item[0]) for item in items])
        y_rows = np.stack([_as_array(item[1]) for item in items])
    else:
        X_rows, y_rows = np.asarray(X)[rows], np.asarray(y)[rows]
    X_rows = X_rows.astype(np.float64).reshape(len(rows), -1)
    if classification:
        y_rows = y_rows.reshape(len(rows))
        _, counts = np.unique(y_rows, return_counts=True)
        share = counts / len(rows)
        loss = float(-(share * np.log(share)).sum())
    else:
        y_rows = y_rows.astype(np.float64).reshape(len(rows), -1)
        loss = float(y_rows.var(axis=0).mean())
    dx = np.linalg.norm(X_rows[:n_pairs] - X_rows[n_pairs:], axis=1)
    if classification:
        dt = (y_rows[:n_pairs] != y_rows[n_pairs:]).astype(np.float64)
    else:
        dt = np.linalg.norm(y_rows[:n_pairs] - y_rows[n_pairs:], axis=1)
    keep = (dt > 0) & (dx > 0)
    if not keep.any():
        return loss, None
    return loss, float(np.median(dx[keep] / dt[keep]))


def _as_array(value):
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def auto_lambda_scale(scale, power):
    """The factor ``s`` that ``reg_lambda="auto"`` applies to
    ``default_lambda``.

    Parameters
    ----------
    scale : (float, float or None) or None
        ``(L0, ℓ)`` from :func:`loss_and_separation`; ``None`` when it was
        not measured.
    power : int
        The regulariser's ``quotient_power``.

    Returns
    -------
    float
        In (0, 1]; 1 for ``power == 0`` or unmeasured data.

    Examples
    --------
    >>> from sklip._auto_lambda import auto_lambda_scale
    >>> auto_lambda_scale((2.302585, 10.3), 1)
    1.0
    >>> round(auto_lambda_scale((2.302585, 3.0), 1), 2)
    0.3
    """
    if power == 0 or scale is None:
        return 1.0
    loss, length = scale
    if length is None or loss <= 0:
        return 1.0
    factor = (loss / REFERENCE_LOSS) * (length / REFERENCE_LENGTH) ** power
    return float(min(1.0, factor))


def auto_radius_scale(scale):
    """The factor ``min(1, ℓ / 10)`` that ``epsilon=None`` applies to an L2
    ``default_epsilon``.

    Parameters
    ----------
    scale : (float, float or None) or None
        ``(L0, ℓ)`` from :func:`loss_and_separation`; ``None`` when it was
        not measured.

    Returns
    -------
    float
        In (0, 1]; 1 for unmeasured data.

    Examples
    --------
    >>> from sklip._auto_lambda import auto_radius_scale
    >>> auto_radius_scale((2.302585, 10.3))
    1.0
    >>> auto_radius_scale((1.1, 2.5))
    0.25
    """
    if scale is None or scale[1] is None:
        return 1.0
    return float(min(1.0, scale[1] / REFERENCE_LENGTH))
