"""Sphinx configuration of the sklip documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

No network is needed: intersphinx is off and the theme (alabaster) ships
with Sphinx. Nothing is written into the source folder, so the docs can be
built from a read-only checkout.
"""

import ast
import importlib
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The package is normally pip-installed (editable); this makes a plain
# checkout work too.
sys.path.insert(0, str(ROOT))

import sklip  # noqa: E402
from sphinx.util.docutils import SphinxDirective  # noqa: E402

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


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn adds ``set_fit_request``/``set_score_request`` to every
    # estimator class (metadata routing); their docstrings refer to
    # scikit-learn's own glossary and labels, which do not exist here.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


# A bare ``*input_shape`` in a shape such as ``(n, *input_shape)`` starts
# reST emphasis that never ends (a docutils warning). Escape it until the
# package's docstrings put those shapes in double backquotes.
_BARE_STAR = re.compile(r"(?<=, )\*(?=[A-Za-z_]\w*\))")


def _escape_bare_stars(line):
    if line.lstrip().startswith((">>>", "...")):
        return line
    parts = line.split("``")
    # Even-numbered parts are outside inline literals.
    for i in range(0, len(parts), 2):
        parts[i] = _BARE_STAR.sub(r"\\*", parts[i])
    return "``".join(parts)


def _process_docstring(app, what, name, obj, options, lines):
    lines[:] = [_escape_bare_stars(line) for line in lines]


def _data_comment(fullname):
    """The ``#:`` comment of a module constant, also when re-exported.

    autodoc finds the comment only in the module that assigns the constant;
    the public packages re-export theirs from private ``_x.py`` modules.
    """
    from sphinx.pycode import ModuleAnalyzer

    package, _, attr = fullname.rpartition(".")
    module = sys.modules[package]
    candidates = [package]
    if module.__file__.endswith("__init__.py"):
        folder = Path(module.__file__).parent
        candidates += [f"{package}.{p.stem}"
                       for p in sorted(folder.glob("_*.py"))]
    for modname in candidates:
        docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        if ("", attr) in docs:
            return [line for line in docs[("", attr)] if line.strip()]
    return []


class SklipDataDirective(SphinxDirective):
    """``.. sklip-data:: package.NAME``: a constant with its ``#:`` comment.

    A tuple is shown with its value, a dict with its keys.
    """

    required_arguments = 1

    def run(self):
        fullname = self.arguments[0]
        package, _, attr = fullname.rpartition(".")
        value = getattr(importlib.import_module(package), attr)
        text = [f".. py:data:: {attr}", f"   :module: {package}"]
        if isinstance(value, tuple):
            text.append(f"   :value: {value!r}")
        text.append("")
        text += [f"   {line}" for line in _data_comment(fullname)]
        if isinstance(value, dict):
            keys = ", ".join(f"``{key!r}``" for key in value)
            text += ["", f"   Keys: {keys}."]
        return self.parse_text_to_nodes("\n".join(text))


def setup(app):
    app.connect("source-read", _fill_examples)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _process_docstring)
    app.add_directive("sklip-data", SklipDataDirective)
    return {"parallel_read_safe": True}
