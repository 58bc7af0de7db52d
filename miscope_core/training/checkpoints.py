"""Checkpoint store: one safetensors file per saved epoch, plus an atomic resume file.

Listing and hashing checkpoints never imports torch (the web process uses them); reading and
writing tensors does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from miscope_core.checkpoint_names import (  # noqa: F401 - re-exported for the trainer
    checkpoint_path,
    list_checkpoint_epochs,
)
from miscope_core.io import CorruptFileError, atomic_write_bytes, content_hash

if TYPE_CHECKING:
    import torch


def previous_resume_path(path: Path) -> Path:
    """resume.safetensors -> resume.prev.safetensors (the state before the latest save)."""
    path = Path(path)
    return path.with_name(path.name.replace(".safetensors", ".prev.safetensors"))


HASH_KEY = "blake2b"  # safetensors metadata: content hash of the tensor data section


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict | None = None):
    """Write tensors (contiguous CPU copies) to a safetensors file atomically, with the content
    hash of their bytes in the metadata so that same-size damage is detected on load."""
    atomic_write_bytes(path, tensor_file_bytes(tensors, metadata))


def tensor_file_bytes(tensors: dict[str, torch.Tensor], metadata: dict | None = None) -> bytes:
    """The exact bytes save_tensors writes (deterministic: sorted header, hashed data)."""
    from safetensors.torch import save as save_safetensors_bytes

    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    meta = {"json": json.dumps(metadata)} if metadata else {}
    # The data section does not depend on the metadata, so hash a first serialisation's.
    digest = content_hash(_data_section(save_safetensors_bytes(cpu, metadata=meta or None)))
    payload = save_safetensors_bytes(cpu, metadata={**meta, HASH_KEY: digest})
    return _with_sorted_header(payload)


def _data_section(payload: bytes) -> bytes:
    return payload[8 + int.from_bytes(payload[:8], "little") :]


def _with_sorted_header(payload: bytes) -> bytes:
    """The same file with its JSON header's keys sorted. safetensors writes metadata from a
    Rust HashMap, whose order differs from process to process, so the same tensors would
    otherwise give different bytes (docs/reliability.md, Determinism)."""
    header_len = int.from_bytes(payload[:8], "little")
    header = json.loads(payload[8 : 8 + header_len])
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8-byte alignment
    return len(text).to_bytes(8, "little") + text + _data_section(payload)


def read_safetensors_header(path: Path, payload: bytes) -> dict:
    """The JSON header of a safetensors payload; damage raises CorruptFileError."""
    if len(payload) < 8:
        raise CorruptFileError(path, f"truncated to {len(payload)} bytes")
    header_len = int.from_bytes(payload[:8], "little")
    if header_len > len(payload) - 8:
        raise CorruptFileError(
            path,
            f"header of {header_len} bytes does not fit in a file of "
            f"{len(payload)} bytes (truncated or overwritten)",
        )
    try:
        header = json.loads(payload[8 : 8 + header_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(path, f"unreadable safetensors header ({exc})") from exc
    if not isinstance(header, dict):
        raise CorruptFileError(path, "unreadable safetensors header (not a JSON object)")
    return header


def verify_safetensors(path: Path, payload: bytes) -> dict:
    """Check header and content hash of a safetensors payload; returns its JSON metadata.

    Files written before content hashes existed carry none and pass on their header alone.
    """
    metadata = read_safetensors_header(path, payload).get("__metadata__") or {}
    expected = metadata.get(HASH_KEY)
    if expected is not None and content_hash(_data_section(payload)) != expected:
        raise CorruptFileError(path, "content hash mismatch (the bytes changed after writing)")
    try:
        return json.loads(metadata["json"]) if "json" in metadata else {}
    except json.JSONDecodeError as exc:
        raise CorruptFileError(path, f"unreadable metadata ({exc})") from exc


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a safetensors file and its JSON metadata; damage raises CorruptFileError."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors_bytes

    path = Path(path)
    payload = path.read_bytes()
    metadata = verify_safetensors(path, payload)
    try:
        tensors = load_safetensors_bytes(payload)
    except (SafetensorError, ValueError) as exc:
        raise CorruptFileError(path, f"unreadable tensors ({exc})") from exc
    return tensors, metadata


def save_checkpoint(checkpoint_dir: Path, epoch: int, state: dict[str, torch.Tensor]) -> Path:
    """Save model weights at `epoch`."""
    path = checkpoint_path(checkpoint_dir, epoch)
    save_tensors(path, state, {"epoch": epoch})
    return path


def checkpoint_bytes(epoch: int, state: dict[str, torch.Tensor]) -> bytes:
    """The bytes save_checkpoint would write for these weights at `epoch`."""
    return tensor_file_bytes(state, {"epoch": epoch})


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
