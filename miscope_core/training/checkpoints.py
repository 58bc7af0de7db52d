"""Checkpoint store: one safetensors file per saved epoch, plus an atomic resume file.

Listing and hashing checkpoints never imports torch (the web process uses them); reading and
writing tensors does.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from miscope_core.io import CorruptFileError, atomic_write_bytes

if TYPE_CHECKING:
    import torch

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


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict | None = None):
    """Write tensors (contiguous CPU copies) to a safetensors file atomically."""
    from safetensors.torch import save as save_safetensors_bytes

    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    meta = {"json": json.dumps(metadata)} if metadata else None
    atomic_write_bytes(path, save_safetensors_bytes(cpu, metadata=meta))


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a safetensors file and its JSON metadata; damage raises CorruptFileError."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors_bytes

    path = Path(path)
    payload = path.read_bytes()
    try:
        tensors = load_safetensors_bytes(payload)
        header_len = int.from_bytes(payload[:8], "little")
        header = json.loads(payload[8 : 8 + header_len])
    except (SafetensorError, ValueError, json.JSONDecodeError) as exc:
        raise CorruptFileError(path, str(exc)) from exc
    metadata = header.get("__metadata__") or {}
    return tensors, json.loads(metadata["json"]) if "json" in metadata else {}


def save_checkpoint(checkpoint_dir: Path, epoch: int, state: dict[str, torch.Tensor]) -> Path:
    """Save model weights at `epoch`."""
    path = checkpoint_path(checkpoint_dir, epoch)
    save_tensors(path, state, {"epoch": epoch})
    return path


def load_checkpoint(checkpoint_dir: Path, epoch: int) -> dict[str, torch.Tensor]:
    """Load the weights saved at `epoch`; the error lists saved epochs when it is missing."""
    path = checkpoint_path(checkpoint_dir, epoch)
    if not path.exists():
        raise FileNotFoundError(
            f"No checkpoint at epoch {epoch} ({path}); saved epochs: "
            f"{list_checkpoint_epochs(checkpoint_dir)}"
        )
    return load_tensors(path)[0]


def file_hash(path: Path) -> str:
    """Short sha256 of a file's bytes (provenance of the artifacts computed from it)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
