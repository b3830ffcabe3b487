"""Sphinx configuration of the sklip documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

No network is needed: intersphinx is off and the theme (alabaster) ships
with Sphinx. sphinx-gallery runs every script of ``examples/`` and writes
the gallery's pages into ``docs/auto_examples/`` (generated, not tracked);
the examples' own PNG files go to the doctree folder. The build sets
``SKLIP_EXAMPLES_QUICK=1`` unless it is set already, which the examples read
to train shorter; ``SKLIP_EXAMPLES_QUICK=0`` renders the full runs.
"""

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
    "sphinx_gallery.gen_gallery",
]

# The gallery's index is included by examples.rst, which is the examples
# page; the generated index itself is not a page of its own.
exclude_patterns = ["_build", "auto_examples/index.rst"]
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

# sphinx-gallery: every examples/plot_*.py is run and rendered with its
# figures. The docs test (tests/test_docs.py) builds them in CI, so the
# examples train shorter there (SKLIP_EXAMPLES_QUICK, read by each script).
os.environ.setdefault("SKLIP_EXAMPLES_QUICK", "1")
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "show_signature": False,
    "image_scrapers": ("matplotlib",),
    "reference_url": {},
    "backreferences_dir": None,
    "write_computation_times": False,
}

# MathJax is loaded by the browser from its CDN when a page is viewed; the
# build itself does not fetch it.


def _examples_output(app):
    # The examples save their PNG files into $SKLIP_EXAMPLES_OUTPUT (default:
    # the current folder, which sphinx-gallery sets to examples/): send them
    # to the build's doctree folder instead of the source tree.
    os.environ["SKLIP_EXAMPLES_OUTPUT"] = str(
        Path(app.doctreedir) / "examples-output")


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
    # Before sphinx-gallery's own builder-inited handler (priority 500) runs
    # the examples.
    app.connect("builder-inited", _examples_output, priority=400)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _process_docstring)
    app.add_directive("sklip-data", SklipDataDirective)
    return {"parallel_read_safe": True}
