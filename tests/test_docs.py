"""The Sphinx documentation builds with warnings as errors and is complete."""

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")

DOCS = Path(__file__).resolve().parents[1] / "docs"

PUBLIC_MODULES = ["sklip", "sklip.regularizers", "sklip.attacks",
                  "sklip.metrics", "sklip.lipschitz", "sklip.callbacks",
                  "sklip.functional",
                  "sklip.plotting", "sklip.datasets", "sklip.benchmark",
                  "sklip.timing", "sklip.modules", "sklip.optim",
                  "sklip.accelerate"]


def test_api_page_lists_every_public_name():
    api = (DOCS / "api.rst").read_text(encoding="utf-8")
    missing = []
    for modname in PUBLIC_MODULES:
        module = importlib.import_module(modname)
        assert f".. automodule:: {modname}\n" in api, modname
        block = api.split(f".. automodule:: {modname}\n", 1)[1]
        block = block.split(".. automodule::", 1)[0]
        for name in module.__all__:
            if name == "__version__":
                continue
            pattern = (rf"^\.\. (autoclass|autofunction):: {name}$"
                       rf"|^\.\. sklip-data:: {re.escape(modname)}\.{name}$")
            if not re.search(pattern, block, flags=re.MULTILINE):
                missing.append(f"{modname}.{name}")
    assert not missing, f"not in docs/api.rst: {missing}"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    # A fresh interpreter: Sphinx registers extensions and roles globally.
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q",
         "-b", "html", "-d", str(tmp_path / "doctrees"), str(DOCS),
         str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for page in ("index", "api", "install", "user_guide", "theory",
                 "examples"):
        assert (out / f"{page}.html").is_file(), page
    api = (out / "api.html").read_text(encoding="utf-8")
    assert 'id="sklip.LipschitzClassifier"' in api
    assert 'id="sklip.regularizers.PTVRegularizer"' in api
    examples = (out / "examples.html").read_text(encoding="utf-8")
    for script in sorted((DOCS.parent / "examples").glob("*.py")):
        assert script.name in examples, script.name
