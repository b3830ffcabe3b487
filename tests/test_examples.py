"""Every script in ``examples/`` runs to completion and saves a figure."""

import runpy
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

EXAMPLES = sorted(
    (Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_examples_found():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path, tmp_path, monkeypatch, capsys):
    import matplotlib.pyplot as plt

    output = tmp_path / "figures"
    monkeypatch.setenv("SKLIP_EXAMPLES_OUTPUT", str(output))
    # The shortened runs whose numbers and figures the rendered docs show
    # (the same code as the full runs, with fewer epochs).
    monkeypatch.setenv("SKLIP_EXAMPLES_QUICK", "1")
    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
    assert sorted(output.glob("*.png")), f"{path.name} saved no PNG"
    assert capsys.readouterr().out.strip(), f"{path.name} printed nothing"
    # Nothing is written outside the output folder.
    assert not list(tmp_path.glob("*.png"))
