"""The small part of the core that front ends name directly: the workspace and its errors.

`app/` imports only `services.*` (tests/test_layers.py); these re-exports are the whole core
surface it needs, so the rule holds without wrapping a class that is already plain data.
"""

from __future__ import annotations

from miscope_core.families import ValidationError
from miscope_core.io import CorruptFileError
from miscope_core.workspace import Workspace

__all__ = ["CorruptFileError", "ValidationError", "Workspace", "open_workspace"]


def open_workspace(data_dir=None) -> Workspace:
    """The workspace at `data_dir` ($MISCOPE_DATA_DIR or data/ when None)."""
    return Workspace.open(data_dir)
