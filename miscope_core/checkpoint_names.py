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
