"""Artifact store: per-epoch, summary and cross-epoch .npz files plus a provenance manifest."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from miscope_core.io import (
    CorruptFileError,
    file_content_hash,
    keep_previous_version,
    load_npz,
    read_json,
    save_npz_atomic,
    write_json_atomic,
)

log = logging.getLogger(__name__)

EPOCH_FILE = re.compile(r"^epoch_(\d+)\.npz$")


class MissingArtifactError(FileNotFoundError):
    """An artifact has not been computed; the message names the analyzer to run."""


class ArtifactStore:
    """Reads and writes one variant's artifacts under artifacts/<analyzer>/."""

    def __init__(self, root: Path, variant_id: str = ""):
        self.root = Path(root)
        self.variant_id = variant_id
        self.manifest_path = self.root / "manifest.json"
        self.previous_manifest_path = self.root / "manifest.prev.json"
        # set by read_manifest when manifest.json was damaged: the error, for reports
        self.manifest_damage: CorruptFileError | None = None

    # --- paths --------------------------------------------------------------------------
    def epoch_path(self, analyzer: str, epoch: int) -> Path:
        """artifacts/<analyzer>/epoch_NNNNNN.npz"""
        return self.root / analyzer / f"epoch_{epoch:06d}.npz"

    def summary_path(self, analyzer: str) -> Path:
        """artifacts/<analyzer>/summary.npz"""
        return self.root / analyzer / "summary.npz"

    def cross_epoch_path(self, analyzer: str) -> Path:
        """artifacts/<analyzer>/cross_epoch.npz"""
        return self.root / analyzer / "cross_epoch.npz"

    def epochs_with(self, analyzer: str) -> list[int]:
        """Epochs that have a per-epoch file for `analyzer`."""
        folder = self.root / analyzer
        if not folder.is_dir():
            return []
        found = (EPOCH_FILE.match(p.name) for p in folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def has(self, analyzer: str) -> bool:
        """Whether any artifact of `analyzer` exists."""
        return (self.root / analyzer).is_dir() and any((self.root / analyzer).iterdir())

    # --- reading ------------------------------------------------------------------------
    def load_epoch(self, analyzer: str, epoch: int) -> dict[str, np.ndarray]:
        """Per-epoch arrays; missing files name the analyzer to run."""
        return self._load(self.epoch_path(analyzer, epoch), analyzer, f"epoch {epoch}")

    def load_summary(self, analyzer: str) -> dict[str, np.ndarray]:
        """Summary arrays (one row per epoch, with an 'epochs' key)."""
        return self._load(self.summary_path(analyzer), analyzer, "summary")

    def load_cross_epoch(self, analyzer: str) -> dict[str, np.ndarray]:
        """Cross-epoch arrays."""
        return self._load(self.cross_epoch_path(analyzer), analyzer, "cross-epoch")

    def _load(self, path: Path, analyzer: str, what: str) -> dict[str, np.ndarray]:
        if not path.exists():
            target = f" {self.variant_id}" if self.variant_id else " <variant>"
            raise MissingArtifactError(
                f"No {what} artifact of analyzer '{analyzer}' ({path}); run "
                f"`miscope analyze{target} --analyzers {analyzer}`"
            )
        return load_npz(path)

    # --- writing ------------------------------------------------------------------------
    def save_epoch(self, analyzer: str, epoch: int, arrays: dict[str, Any]) -> Path:
        """Write one epoch's arrays atomically."""
        path = self.epoch_path(analyzer, epoch)
        save_npz_atomic(path, arrays)
        return path

    def save_summary(self, analyzer: str, arrays: dict[str, Any]) -> Path:
        """Write the summary tier atomically."""
        path = self.summary_path(analyzer)
        save_npz_atomic(path, arrays)
        return path

    def save_cross_epoch(self, analyzer: str, arrays: dict[str, Any]) -> Path:
        """Write the cross-epoch tier atomically."""
        path = self.cross_epoch_path(analyzer)
        save_npz_atomic(path, arrays)
        return path

    # --- provenance ---------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any]:
        """The manifest, or an empty one. A damaged manifest.json falls back to its previous
        copy, else to an empty manifest flagged `rebuilt_from_files` (the pipeline then adopts
        the intact artifact files present); `manifest_damage` records the damage."""
        self.manifest_damage = None
        if not self.manifest_path.exists():
            return {"analyzers": {}}
        try:
            return _checked_manifest(self.manifest_path)
        except CorruptFileError as exc:
            self.manifest_damage = exc
        log.warning("%s", self.manifest_damage)
        try:
            if self.previous_manifest_path.exists():
                return _checked_manifest(self.previous_manifest_path)
        except CorruptFileError as exc:
            log.warning("%s", exc)
        return {"analyzers": {}, "rebuilt_from_files": True}

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Rewrite the manifest atomically, keeping the one it replaces as manifest.prev.json
        (only when that one is intact, so the previous copy is always a good one)."""
        manifest.pop("rebuilt_from_files", None)
        if self.manifest_damage is None:
            keep_previous_version(self.manifest_path, self.previous_manifest_path)
        write_json_atomic(self.manifest_path, manifest)
        self.manifest_damage = None


def _checked_manifest(path: Path) -> dict[str, Any]:
    manifest = read_json(path, expect=dict)
    if not isinstance(manifest.get("analyzers"), dict):
        raise CorruptFileError(path, "no 'analyzers' table")
    return manifest


def artifact_intact(path: Path, record: dict[str, Any]) -> bool:
    """Whether an artifact file matches its manifest record (size, content hash). A record
    from before content hashes gets the hash of the file if the file reads cleanly."""
    path = Path(path)
    if not path.exists() or ("bytes" in record and path.stat().st_size != record["bytes"]):
        return False
    if "blake2b" in record:
        return file_content_hash(path) == record["blake2b"]
    try:
        load_npz(path)
    except CorruptFileError:
        return False
    record["blake2b"] = file_content_hash(path)  # upgrade an old manifest in place
    record["bytes"] = path.stat().st_size
    return True
