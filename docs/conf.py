"""Sphinx configuration of the sklip documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

No network is needed: intersphinx is off and the theme (alabaster) ships
with Sphinx. Nothing is written into the source folder, so the docs can be
built from a read-only checkout.
"""

import ast
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The package is normally pip-installed (editable); this makes a plain
# checkout work too.
sys.path.insert(0, str(ROOT))

import sklip  # noqa: E402

project = "sklip"
author = "The sklip developers"
copyright = "The sklip developers"
version = release = sklip.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

exclude_patterns = ["_build"]
templates_path = []
root_doc = "index"

# autodoc / autosummary: api.rst writes every directive itself, so
# autosummary only draws tables that link to objects on the same page and
# generates no stub files into the source folder.
autosummary_generate = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"

# numpydoc: the class pages list their own methods through autodoc's
# ``:members:``; numpydoc's member tables would also list every method
# inherited from skorch's NeuralNet, whose docstrings are not numpydoc.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# No network at build time.
intersphinx_mapping = {}

html_theme = "alabaster"
html_theme_options = {
    "description": "Lipschitz-regularised neural networks as scikit-learn "
                   "estimators",
    "fixed_sidebar": True,
}
html_static_path = []

# MathJax is loaded by the browser from its CDN when a page is viewed; the
# build itself does not fetch it.


def _example_title(path):
    """First line of an example script's docstring, else its file name."""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (SyntaxError, UnicodeDecodeError):
        doc = None
    if doc:
        for line in doc.splitlines():
            line = line.strip().strip("=").strip()
            if line:
                return line
    return path.name


def _examples_rst():
    """reST for every script in examples/, in name order."""
    scripts = sorted((ROOT / "examples").glob("*.py"))
    if not scripts:
        return "No example scripts are present in ``examples/``.\n"
    parts = []
    for path in scripts:
        title = f"{_example_title(path)} (``{path.name}``)"
        rel = os.path.relpath(path, DOCS).replace(os.sep, "/")
        parts.append(
            f"{title}\n{'-' * len(title)}\n\n"
            f"Run it from the repository root with "
            f"``python examples/{path.name}``.\n\n"
            f".. literalinclude:: {rel}\n"
            f"   :language: python\n"
            f"   :linenos:\n\n")
    return "".join(parts)


_EXAMPLES_MARKER = ".. sklip-examples-here"


def _fill_examples(app, docname, source):
    # The list follows the files on disk, so a new example needs no edit here.
    if docname == "examples" and _EXAMPLES_MARKER in source[0]:
        source[0] = source[0].replace(_EXAMPLES_MARKER, _examples_rst())


def setup(app):
    app.connect("source-read", _fill_examples)
    return {"parallel_read_safe": True}
