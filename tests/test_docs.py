"""The Sphinx documentation builds with warnings as errors and is complete."""

import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = DOCS.parent / "examples"

PUBLIC_MODULES = ["sklip", "sklip.regularizers", "sklip.attacks",
                  "sklip.metrics", "sklip.model_selection", "sklip.lipschitz",
                  "sklip.callbacks",
                  "sklip.functional",
                  "sklip.plotting", "sklip.datasets", "sklip.benchmark",
                  "sklip.timing", "sklip.modules", "sklip.optim",
                  "sklip.preprocessing",
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
    pytest.importorskip("sphinx_gallery")
    # A copy of docs/ and examples/: sphinx-gallery writes the gallery's
    # pages into the source folder, which must stay untouched (and may be
    # built by someone else at the same time).
    src = tmp_path / "src"
    shutil.copytree(DOCS, src / "docs",
                    ignore=shutil.ignore_patterns("_build", "auto_examples"))
    shutil.copytree(EXAMPLES, src / "examples")
    out = tmp_path / "html"
    # A fresh interpreter: Sphinx registers extensions and roles globally.
    # SKLIP_EXAMPLES_QUICK=1 (conf.py's default) keeps the gallery's runs
    # short.
    env = {**os.environ, "SKLIP_EXAMPLES_QUICK": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q",
         "-b", "html", "-d", str(tmp_path / "doctrees"), str(src / "docs"),
         str(out)],
        capture_output=True, text=True, timeout=480, env=env,
        cwd=DOCS.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for page in ("index", "api", "install", "user_guide", "theory",
                 "examples"):
        assert (out / f"{page}.html").is_file(), page
    api = (out / "api.html").read_text(encoding="utf-8")
    assert 'id="sklip.LipschitzClassifier"' in api
    assert 'id="sklip.regularizers.PTVRegularizer"' in api
    examples = (out / "examples.html").read_text(encoding="utf-8")
    scripts = sorted(EXAMPLES.glob("*.py"))
    assert scripts
    for script in scripts:
        # The examples page is the gallery: a thumbnail links to every
        # script's page, which shows the script's figures as run.
        assert f'href="auto_examples/{script.stem}.html"' in examples, \
            script.name
        page = (out / "auto_examples" / f"{script.stem}.html").read_text(
            encoding="utf-8")
        assert script.name in page, script.name
        figure = f"sphx_glr_{script.stem}_001.png"
        assert f'src="../_images/{figure}"' in page, script.name
        assert (out / "_images" / figure).stat().st_size > 1000, figure
    # The examples' own PNG files go to the doctree folder, not examples/.
    assert list((tmp_path / "doctrees" / "examples-output").glob("*.png"))
