"""One registration style: every view is a keyword `register_view(ViewSpec(...))`, and the
catalog does not depend on which library module is imported first."""

from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "miscope_core" / "views" / "library"
CATALOG_DIGEST = """
import hashlib, importlib, sys
if sys.argv[1] != "-":
    importlib.import_module("miscope_core.views.library." + sys.argv[1])
from miscope_core.views.docs import render_catalog_markdown
print(hashlib.sha256(render_catalog_markdown().encode()).hexdigest())
"""


@pytest.mark.parametrize("path", sorted(LIBRARY.glob("*.py")), ids=lambda p: p.name)
def test_views_register_with_keywords_not_tuple_loops(path):
    """No module-level `for` loop unpacks positional view records into register_view."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.For) and "register_view" in ast.unparse(node):
            pytest.fail(f"{path.name}:{node.lineno} registers views from positional tuples")
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            for call in ast.walk(node.value):
                if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "ViewSpec":
                    assert not call.args, f"{path.name}:{call.lineno} positional ViewSpec fields"


def test_catalog_is_the_same_whatever_module_loads_first():
    """Importing a library module first (calibration copies others' views) changes nothing."""
    digests = {
        first: subprocess.run(
            [sys.executable, "-c", CATALOG_DIGEST, first],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for first in ("-", "calibration", "progress")
    }
    from miscope_core.views.docs import render_catalog_markdown

    here = hashlib.sha256(render_catalog_markdown().encode()).hexdigest()
    assert set(digests.values()) == {here + "\n"}, digests


def test_unknown_parameter_names_the_view_and_its_parameters():
    from miscope_core.views import get_view

    with pytest.raises(
        KeyError, match="'neurons.activation_grid' has no parameter 'nueron'.*neuron"
    ):
        get_view("neurons.activation_grid").param("nueron")
