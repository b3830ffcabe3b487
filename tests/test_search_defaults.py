"""The search behind the defaults (benchmarks/search_defaults.py) runs,
resumes and summarises."""

import importlib.util
import json
from pathlib import Path

from .conftest import MNIST_DIR

_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / \
    "search_defaults.py"


def _load():
    spec = importlib.util.spec_from_file_location("search_defaults", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_search_appends_resumes_and_summarises(tmp_path, capsys):
    search = _load()
    # The search's own test set (2,000 points, 1,000 for the worst case)
    # costs a minute here; 300 and 50 keep every column meaningful.
    search.WORST_CASE_POINTS = 50
    full_split = search.load_data

    def small_test_set(*args, **kwargs):
        X_train, X_test, y_train, y_test = full_split(*args, **kwargs)
        return X_train, X_test[:300], y_train, y_test[:300]

    search.load_data = small_test_set
    out = tmp_path / "search.jsonl"
    config = json.dumps({"regularizer": "tv", "reg_lambda": 0.5,
                         "max_epochs": 1})
    argv = ["--config", config, "--data-dir", str(MNIST_DIR),
            "--output", str(out), "--threads", "1"]
    search.main(argv)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 1
    row = rows[0]
    assert row["params"] == json.loads(config)
    # One epoch already learns MNIST, and PGD-L2 at radius 2 breaks a
    # network trained for one epoch on many images.
    assert row["clean_acc"] > 0.8
    assert row["pgd_acc"] < row["clean_acc"] - 0.1
    assert row["worst_case_acc"] <= row["pgd_acc"] + 0.01
    assert row["final_lambda"] == 0.5
    assert row["seed"] == 0
    search.main(argv)  # finished candidates are skipped
    assert len(out.read_text().splitlines()) == 1
    search.main(argv + ["--seeds", "0", "1"])  # only seed 1 is new
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seed"] for r in rows] == [0, 1]
    capsys.readouterr()
    search.main(["--summary", "--output", str(out), "--min-clean", "0.5"])
    summary = capsys.readouterr().out.splitlines()
    assert summary[1].startswith("tv")
    # The candidate run with two seeds is also reported as their mean.
    mean_line = summary[summary.index("mean over seeds") + 2]
    assert mean_line.startswith("0,1")
    mean_pgd = (rows[0]["pgd_acc"] + rows[1]["pgd_acc"]) / 2
    assert f"{mean_pgd:7.3f}" in mean_line


def test_summary_picks_best_worst_case_then_clean_accuracy():
    search = _load()

    def row(worst, clean, lam):
        return {"params": {"regularizer": "tv", "reg_lambda": lam},
                "worst_case_acc": worst, "pgd_acc": 0.9, "clean_acc": clean,
                "fgsm_acc": 0.0, "noise_acc": 0.0, "seconds": 1.0}

    rows = [row(0.70, 0.94, 1.0),    # most robust, but below 95 % clean
            row(0.553, 0.968, 2.0),  # a tie within a point ...
            row(0.549, 0.973, 3.0),  # ... goes to the more accurate
            row(0.40, 0.99, 4.0)]
    assert '"reg_lambda": 3.0' in search.summary(rows).splitlines()[1]


def test_summary_picks_certified_methods_by_certified_accuracy():
    search = _load()

    def row(certified, worst, clean, lam):
        return {"params": {"module": "one_lipschitz", "regularizer": "margin",
                           "reg_lambda": lam},
                "worst_case_acc": worst, "pgd_acc": 0.9, "clean_acc": clean,
                "fgsm_acc": 0.0, "noise_acc": 0.0, "seconds": 1.0,
                "certified_acc_0.5": certified, "certified_acc_1": certified}

    rows = [row(0.95, 0.1, 0.955, 1.0),  # below the 96 % clean floor
            row(0.80, 0.6, 0.97, 2.0),   # most robust empirically
            row(0.85, 0.3, 0.965, 3.0)]  # most certified: the pick
    line = search.summary(rows).splitlines()[1]
    assert line.startswith("one_lipschitz") and '"reg_lambda": 3.0' in line
    rows = [row(0.80, 0.3, 0.97, 1.0)]
    # A ReLU network rows from an older search, without certified columns,
    # still summarise.
    rows.append({"params": {"regularizer": "tv", "reg_lambda": 0.5},
                 "worst_case_acc": 0.5, "pgd_acc": 0.6, "clean_acc": 0.96,
                 "fgsm_acc": 0.0, "noise_acc": 0.0, "seconds": 1.0})
    assert len(search.summary(rows).splitlines()) == 3
