"""Checkpoint file naming: `epoch_000123.safetensors` in a variant's checkpoints/ folder.

Beside the variant layout rather than in training/, so the view layer and the web process
can list checkpoints without importing the trainer (or torch).
"""

from __future__ import annotations

import re
from pathlib import Path

CHECKPOINT_PATTERN = re.compile(r"^epoch_(\d+)\.safetensors$")


def checkpoint_path(checkpoint_dir: Path, epoch: int) -> Path:
    """Canonical file name of the checkpoint at `epoch`."""
    return Path(checkpoint_dir) / f"epoch_{epoch:06d}.safetensors"


def list_checkpoint_epochs(checkpoint_dir: Path) -> list[int]:
    """Epochs with a saved checkpoint, ascending."""
    if not Path(checkpoint_dir).is_dir():
        return []
    found = (CHECKPOINT_PATTERN.match(p.name) for p in Path(checkpoint_dir).iterdir())
    return sorted(int(m.group(1)) for m in found if m)


RESUME_POINTS_DIR = "resume"  # checkpoints/resume/: exact resume states kept every N epochs


def resume_point_path(checkpoint_dir: Path, epoch: int) -> Path:
    """Canonical file name of the exact resume state kept at `epoch` (for `miscope densify`)."""
    return Path(checkpoint_dir) / RESUME_POINTS_DIR / f"epoch_{epoch:06d}.safetensors"


def list_resume_point_epochs(checkpoint_dir: Path) -> list[int]:
    """Epochs with a kept exact resume state, ascending."""
    return list_checkpoint_epochs(Path(checkpoint_dir) / RESUME_POINTS_DIR)


def resume_points_bytes(checkpoint_dir: Path) -> int:
    """Disk space taken by the kept resume states."""
    folder = Path(checkpoint_dir) / RESUME_POINTS_DIR
    return sum(
        resume_point_path(checkpoint_dir, e).stat().st_size for e in list_checkpoint_epochs(folder)
    )
