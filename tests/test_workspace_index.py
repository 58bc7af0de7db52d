"""The workspace index: variants are found without a glob per call and stay fresh by mtime."""

from __future__ import annotations

import json
import os

import pytest

from miscope_core import workspace as workspace_module
from miscope_core.workspace import Workspace


def add_variant(root, family: str, variant_id: str):
    folder = root / "results" / family / variant_id
    folder.mkdir(parents=True)
    (folder / "variant.json").write_text(json.dumps({"family": family, "variant_id": variant_id}))
    return folder


@pytest.fixture
def trusted_scans(monkeypatch):
    """Trust every scan (no racy-mtime rescans), so only a changed mtime triggers a rescan."""
    monkeypatch.setattr(workspace_module, "RACY_NS", 0)


def test_new_variant_appears_when_its_family_folder_changes(tmp_path, trusted_scans):
    workspace = Workspace.open(tmp_path)
    add_variant(tmp_path, "modulo_addition", "a")
    assert workspace.list_variants() == [("modulo_addition", "a")]
    family_dir = tmp_path / "results" / "modulo_addition"
    before = family_dir.stat().st_mtime_ns
    add_variant(tmp_path, "modulo_addition", "b")
    os.utime(family_dir, ns=(before, before))  # same mtime: the index keeps its answer
    assert workspace.list_variants() == [("modulo_addition", "a")]
    os.utime(family_dir, ns=(before + 10**9, before + 10**9))
    assert workspace.list_variants() == [("modulo_addition", "a"), ("modulo_addition", "b")]
    assert Workspace.open(tmp_path).locate("b").root.name == "b"


def test_index_sees_new_families_and_variant_records(tmp_path, trusted_scans):
    workspace = Workspace.open(tmp_path)
    assert workspace.list_variants() == []
    folder = tmp_path / "results" / "induction" / "c"
    folder.mkdir(parents=True)  # no variant.json yet: not a variant
    assert workspace.list_variants() == []
    (folder / "variant.json").write_text("{}")
    assert workspace.list_variants() == [("induction", "c")]
    assert workspace.list_variants("modulo_addition") == []


def test_locate_misses_rescan_and_deleted_variants_vanish(tmp_path, trusted_scans):
    workspace = Workspace.open(tmp_path)
    folder = add_variant(tmp_path, "modulo_addition", "a")
    assert workspace.locate("a").root == folder
    (folder / "variant.json").unlink()
    with pytest.raises(KeyError, match="Unknown variant 'a'"):
        workspace.locate("a")


def test_locate_does_not_glob_per_call(tmp_path, trusted_scans, monkeypatch):
    workspace = Workspace.open(tmp_path)
    add_variant(tmp_path, "modulo_addition", "a")
    workspace.locate("a")
    scans = []
    original = workspace_module.WorkspaceIndex._scan
    monkeypatch.setattr(
        workspace_module.WorkspaceIndex, "_scan", lambda self: scans.append(1) or original(self)
    )
    for _ in range(20):
        workspace.locate("a")
    assert scans == []
