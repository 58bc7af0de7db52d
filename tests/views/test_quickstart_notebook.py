"""notebooks/quickstart.ipynb runs top to bottom against the tiny fixture variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from miscope_core.views.export import find_chromium

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


@pytest.mark.slow
@pytest.mark.skipif(
    find_chromium() is None, reason="Chromium not installed: the notebook exports a PNG and a GIF"
)
def test_quickstart_notebook_executes(variant_copy, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    root, variant_id = variant_copy
    monkeypatch.setenv("MISCOPE_DATA_DIR", str(root))
    monkeypatch.setenv("MISCOPE_VARIANT", variant_id)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(root)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = str(outputs)
    assert "nearest checkpoint to 1200" in text
    exports = root / "exports" / variant_id
    assert sorted(p.suffix for p in exports.iterdir()) == [".gif", ".png"]
