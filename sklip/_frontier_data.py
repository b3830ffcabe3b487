"""What :class:`~sklip.plotting.FrontierDisplay` draws, read from its
sources and checked: frontier records, fitted cross-validated estimators,
``GridSearchCV.cv_results_`` and the files of ``sklip benchmark --path``.

Every error names the argument that was wrong (``frontiers['tv']``,
``cv_estimators[1].scores_``, ``clean_key``...).
"""

import csv
import json
from pathlib import Path

import numpy as np

__all__ = ["check_frontiers", "cv_estimator_frontiers",
           "cv_results_frontiers", "benchmark_frontiers"]

#: Attributes a fitted cross-validated estimator must have.
_CV_ATTRIBUTES = ("lambdas_", "scores_", "robust_scores_", "reg_lambda_")


def _as_1d(record, key, where, n=None):
    """``record[key]`` as a 1-D float array (of length ``n`` when given)."""
    try:
        values = np.asarray(record[key], dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{where}[{key!r}] must be numbers, got "
                         f"{record[key]!r}.") from None
    values = np.atleast_1d(values)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{where}[{key!r}] must be a non-empty 1-D "
                         f"sequence, got shape {values.shape}.")
    if n is not None and values.size != n:
        raise ValueError(f"{where}[{key!r}] has {values.size} values; "
                         f"{where}['lambdas'] has {n}.")
    return values


def _check_record(record, where):
    """One frontier as arrays sorted by λ, with its chosen point's index
    (``None`` when no λ is chosen)."""
    if not hasattr(record, "keys"):
        raise TypeError(f"{where} must be a dict with keys 'lambdas', "
                        f"'clean' and 'robust', got {record!r}.")
    missing = [k for k in ("lambdas", "clean", "robust") if k not in record]
    if missing:
        raise ValueError(f"{where} has no key(s) {missing}; a frontier needs "
                         f"'lambdas', 'clean' and 'robust'.")
    lambdas = _as_1d(record, "lambdas", where)
    if np.any(lambdas < 0):
        raise ValueError(f"{where}['lambdas'] must be >= 0, got "
                         f"{lambdas.tolist()}.")
    checked = {"lambdas": lambdas}
    for key in ("clean", "robust", "clean_std", "robust_std"):
        if record.get(key) is not None:
            checked[key] = _as_1d(record, key, where, lambdas.size)
    # NaN λ (a row of a grid without λ, such as standard training) last.
    order = np.argsort(lambdas, kind="stable")
    checked = {k: v[order] for k, v in checked.items()}
    checked["chosen"] = _chosen_index(record.get("chosen_lambda"),
                                      checked["lambdas"], where)
    return checked


def _chosen_index(chosen, lambdas, where):
    if chosen is None:
        return None
    hits = np.flatnonzero(np.isclose(lambdas, float(chosen), rtol=1e-6,
                                    equal_nan=True))
    if hits.size == 0:
        raise ValueError(f"{where}['chosen_lambda'] = {chosen!r} is not one "
                         f"of its lambdas {lambdas.tolist()}.")
    return int(hits[0])


def check_frontiers(frontiers):
    """``frontiers`` (a dict label -> record, or a list of records with a
    ``"method"``) as a dict label -> checked record."""
    if hasattr(frontiers, "items"):
        items = [(str(label), record, f"frontiers[{label!r}]")
                 for label, record in frontiers.items()]
    elif isinstance(frontiers, (list, tuple)):
        items = []
        for i, record in enumerate(frontiers):
            if not hasattr(record, "keys") or "method" not in record:
                raise ValueError(f"frontiers[{i}] must be a dict with a "
                                 f"'method' key (the legend entry).")
            items.append((str(record["method"]), record, f"frontiers[{i}]"))
    else:
        raise TypeError(f"frontiers must be a dict label -> record or a list "
                        f"of records, got {type(frontiers).__name__}.")
    if not items:
        raise ValueError("frontiers must hold at least one frontier.")
    checked = {}
    for label, record, where in items:
        if label in checked:
            raise ValueError(f"{where}: the label {label!r} is used twice.")
        checked[label] = _check_record(record, where)
    return checked


def _named_estimators(cv_estimators, labels):
    """Label -> (estimator, argument name for messages)."""
    if hasattr(cv_estimators, "items"):
        items = [(str(k), est, f"cv_estimators[{k!r}]")
                 for k, est in cv_estimators.items()]
    elif isinstance(cv_estimators, (list, tuple)):
        items = [(None, est, f"cv_estimators[{i}]")
                 for i, est in enumerate(cv_estimators)]
    else:
        items = [(None, cv_estimators, "cv_estimators")]
    if not items:
        raise ValueError("cv_estimators must hold at least one estimator.")
    if labels is not None:
        if len(labels) != len(items):
            raise ValueError(f"labels has {len(labels)} entries for "
                             f"{len(items)} estimators.")
        items = [(str(lab), est, where)
                 for lab, (_, est, where) in zip(labels, items)]
    named = {}
    for label, est, where in items:
        label = label or _regularizer_label(est)
        # Two estimators of the same regulariser (other networks, other
        # data) still get one legend entry each.
        unique, k = label, 2
        while unique in named:
            unique, k = f"{label} ({k})", k + 1
        named[unique] = (est, where)
    return named


def _regularizer_label(est):
    # A cross-validated estimator holds its regulariser in its template
    # (estimator=None: the refitted network's).
    params = est.get_params() if hasattr(est, "get_params") else {}
    refitted = getattr(est, "best_estimator_", None)
    fallback = (refitted.get_params().get("regularizer", "model")
                if hasattr(refitted, "get_params") else "model")
    regularizer = params.get("regularizer",
                             params.get("estimator__regularizer", fallback))
    return regularizer if isinstance(regularizer, str) \
        else type(regularizer).__name__


def cv_estimator_frontiers(cv_estimators, labels=None):
    """Label -> record of fitted cross-validated estimators, and the first
    estimator (whose names label the axes).

    Each record's scores are the means over the folds of ``scores_`` and
    ``robust_scores_`` (with their standard deviations); its chosen λ is
    ``reg_lambda_``.
    """
    estimators = _named_estimators(cv_estimators, labels)
    frontiers = {label: _cv_record(est, where)
                 for label, (est, where) in estimators.items()}
    return frontiers, next(iter(estimators.values()))[0]


def _cv_record(est, where):
    """The record of a fitted cross-validated estimator."""
    from sklearn.exceptions import NotFittedError

    missing = [a for a in _CV_ATTRIBUTES if not hasattr(est, a)]
    if missing:
        raise NotFittedError(
            f"{where} has no {missing}: from_cv_estimator needs a fitted "
            f"cross-validated estimator (such as LipschitzClassifierCV) with "
            f"{list(_CV_ATTRIBUTES)}.")
    lambdas = np.asarray(est.lambdas_, dtype=float)
    if lambdas.ndim != 1:
        raise ValueError(f"{where}.lambdas_ must be 1-D, got shape "
                         f"{lambdas.shape}.")
    record = {"lambdas": lambdas, "chosen_lambda": float(est.reg_lambda_)}
    for attr, key in (("scores_", "clean"), ("robust_scores_", "robust")):
        scores = np.asarray(getattr(est, attr), dtype=float)
        if scores.ndim != 2 or scores.shape[1] != lambdas.size:
            raise ValueError(f"{where}.{attr} must have shape (n_folds, "
                             f"{lambdas.size}) for {lambdas.size} lambdas_, "
                             f"got {scores.shape}.")
        record[key] = scores.mean(axis=0)
        record[key + "_std"] = scores.std(axis=0)
    return record


def cv_results_frontiers(cv_results, clean_key, robust_key, param,
                         group_by, chosen_index):
    """Group -> record of a search's ``cv_results_``, and the names of the
    clean and robust scores (see ``FrontierDisplay.from_cv_results``)."""
    if not hasattr(cv_results, "keys"):
        raise TypeError(f"cv_results must be a search's cv_results_ dict, "
                        f"got {type(cv_results).__name__}.")
    clean_col = _score_column(cv_results, clean_key, "clean_key")
    robust_col = _score_column(
        cv_results, robust_key or _other_score(cv_results, clean_col),
        "robust_key")
    frontiers = _grid_records(cv_results, clean_col, robust_col, param,
                              group_by, chosen_index)
    names = tuple(col[len("mean_test_"):] for col in (clean_col, robust_col))
    return frontiers, names


def _score_column(cv_results, key, name):
    """The ``mean_test_`` column that ``key`` (a column or a scorer's name)
    names."""
    if not isinstance(key, str):
        raise TypeError(f"{name} must be a column or scorer name, got "
                        f"{key!r}.")
    for column in (key, f"mean_test_{key}"):
        if column in cv_results and column.startswith("mean_test_"):
            return column
    raise ValueError(f"{name}={key!r} names no column of cv_results; its "
                     f"scores are {_score_columns(cv_results)}.")


def _score_columns(cv_results):
    return [k for k in cv_results if k.startswith("mean_test_")]


def _other_score(cv_results, clean_col):
    others = [k for k in _score_columns(cv_results) if k != clean_col]
    if len(others) != 1:
        raise ValueError(f"robust_key must name the robust score: "
                         f"cv_results has the scores "
                         f"{_score_columns(cv_results)}.")
    return others[0]


def _column(cv_results, name, argument):
    """Column ``param_<name>`` as a list with ``None`` where masked."""
    column = cv_results.get(f"param_{name}")
    if column is None:
        params = [k[len("param_"):] for k in cv_results
                  if k.startswith("param_")]
        raise ValueError(f"{argument}={name!r}: cv_results has no column "
                         f"'param_{name}'; its parameters are {params}.")
    mask = np.ma.getmaskarray(column)
    return [None if m else v for v, m in zip(np.ma.getdata(column), mask)]


def _grid_records(cv_results, clean_col, robust_col, param, group_by,
                  chosen_index):
    """Group -> record of a search's rows."""
    lambdas = _column(cv_results, param, "param")
    groups = (_column(cv_results, group_by, "group_by")
              if group_by is not None and f"param_{group_by}" in cv_results
              else [param] * len(lambdas))
    if chosen_index is not None and not 0 <= chosen_index < len(lambdas):
        raise ValueError(f"chosen_index={chosen_index!r} is not a row of "
                         f"cv_results ({len(lambdas)} rows).")
    std = {col: cv_results.get("std" + col[len("mean"):])
           for col in (clean_col, robust_col)}
    records = {}
    for i, (lam, group) in enumerate(zip(lambdas, groups)):
        label = group if isinstance(group, str) else str(group)
        record = records.setdefault(label, {
            "lambdas": [], "clean": [], "robust": [], "clean_std": [],
            "robust_std": []})
        lam = np.nan if lam is None else float(lam)
        if any(np.isclose(lam, seen) or (np.isnan(lam) and np.isnan(seen))
               for seen in record["lambdas"]):
            raise ValueError(
                f"cv_results has several rows for {group_by}={label!r}, "
                f"{param}={lam:g}: the search varies another parameter; "
                f"select its rows, or pass group_by.")
        record["lambdas"].append(lam)
        for key, col in (("clean", clean_col), ("robust", robust_col)):
            record[key].append(float(cv_results[col][i]))
            record[key + "_std"].append(
                np.nan if std[col] is None else float(std[col][i]))
        if i == chosen_index:
            record["chosen_lambda"] = lam
    return records


def benchmark_frontiers(result_or_path):
    """Method -> record of ``sklip benchmark --path``'s results, and the
    axis labels and title naming the data, the attack and its radius. Each
    method's chosen λ is its benchmark default."""
    rows, settings = _benchmark_rows(result_or_path)
    frontiers = {}
    for row in rows:
        record = frontiers.setdefault(row["method"], {
            "lambdas": [], "clean": [], "robust": []})
        record["lambdas"].append(float(row["reg_lambda"]))
        record["clean"].append(float(row["clean"]))
        record["robust"].append(float(row["robust"]))
        if _truth(row.get("is_default")) and row["method"] != "none":
            record["chosen_lambda"] = float(row["reg_lambda"])
    return frontiers, _benchmark_labels(rows, settings)


def _benchmark_rows(result_or_path):
    """The rows and settings of a path benchmark: an object with ``rows``
    and ``settings``, or its CSV / JSON file, or their folder."""
    if hasattr(result_or_path, "rows"):
        return result_or_path.rows, getattr(result_or_path, "settings", {})
    if not isinstance(result_or_path, (str, Path)):
        raise TypeError(f"result_or_path must be a PathResult or the path "
                        f"of path.csv / path.json, got {result_or_path!r}.")
    path = Path(result_or_path)
    if path.is_dir():
        path = path / "path.json" if (path / "path.json").exists() \
            else path / "path.csv"
    if not path.is_file():
        raise ValueError(f"result_or_path={str(result_or_path)!r} is not a "
                         f"path.csv / path.json file or a folder with one.")
    if path.suffix == ".json":
        payload = json.loads(path.read_text())
        rows, settings = payload.get("rows"), payload.get("settings", {})
    else:
        with open(path, newline="") as f:
            rows, settings = list(csv.DictReader(f)), {}
    needed = {"method", "reg_lambda", "clean", "robust"}
    if not rows or not needed <= set(rows[0]):
        raise ValueError(f"result_or_path={str(path)!r} holds no path rows "
                         f"with the columns {sorted(needed)}.")
    return rows, settings


def _truth(value):
    """A bool read back from a CSV cell (``"True"``) or JSON."""
    return value is True or str(value).lower() == "true"


def _benchmark_labels(rows, settings):
    """Axis labels and title naming the data, the attack and its radius."""
    first = rows[0]
    attack = first.get("attack", settings.get("attack", "worst_case"))
    eps = float(first.get("eps", settings.get("pgd_eps", np.nan)))
    what = {"worst_case": "worst-case accuracy"}.get(attack,
                                                     f"{attack} accuracy")
    n_robust = settings.get("n_robust")
    points = f", {n_robust} test points" if n_robust else ""
    robust_name = f"{what} at L2 ε = {eps:g}{points}"
    n_test = settings.get("n_test")
    clean_name = "clean accuracy" + (f", {n_test} test points"
                                     if n_test else "")
    data = settings.get("dataset")
    strong = ("\n(worst of APGD-CE/DLR/T, margin PGD, Square)"
              if attack == "worst_case" else "")
    title = (f"Accuracy–robustness frontier along λ"
             f"{f' on {data}' if data else ''}{strong}\n"
             f"numbers at the points: λ")
    return clean_name, robust_name, title
