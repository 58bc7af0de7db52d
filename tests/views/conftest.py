"""Fixtures for view tests: the shared tiny variant opened as a view source."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def tiny_source(tiny_variant):
    """VariantSource of the session's tiny analysed variant (read-only)."""
    from miscope_core.views import VariantSource

    workspace, paths = tiny_variant
    return VariantSource.open(workspace, paths.root.name)


@pytest.fixture
def variant_copy(tiny_variant, tmp_path):
    """A private copy of the tiny variant's workspace that a test may modify: (root, id)."""
    workspace, paths = tiny_variant
    root = tmp_path / "data"
    shutil.copytree(workspace.root / "results", root / "results")
    return root, paths.root.name


@pytest.fixture(scope="session")
def tiny_induction_source(tiny_induction_variant):
    """VariantSource of a tiny analysed variant of the second family (induction)."""
    from miscope_core.views import VariantSource

    workspace, paths = tiny_induction_variant
    return VariantSource.open(workspace, paths.root.name)
