"""What view loaders read: one variant's record, metrics, artifacts and display context.

Torch-free by construction: artifacts through `ArtifactStore`, files through `miscope_core.io`,
labels through `Family.display_context` (which never imports torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from miscope_core.analysis.artifacts import ArtifactStore
from miscope_core.checkpoint_names import list_checkpoint_epochs
from miscope_core.variants import VariantPaths
from miscope_core.workspace import Workspace


def nearest(values: list[int], target: int) -> int:
    """The element of `values` closest to `target` (ties go to the earlier one)."""
    if not values:
        raise ValueError("no epochs available")
    return min(values, key=lambda v: (abs(v - target), v))


@dataclass
class VariantSource:
    """A read-only handle on one variant's files, shared by every view loader."""

    workspace: Workspace
    paths: VariantPaths
    record: dict[str, Any]
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def open(
        cls, workspace: Workspace | str | Path | None, variant_id: str, family: str | None = None
    ) -> VariantSource:
        """Locate a variant in a workspace (a Workspace, a path, or None for the default)."""
        if not isinstance(workspace, Workspace):
            workspace = Workspace.open(workspace)
        paths = workspace.locate(variant_id, family)
        return cls(workspace, paths, workspace.read_variant_record(paths))

    @property
    def variant_id(self) -> str:
        """The variant's id."""
        return self.record["variant_id"]

    @property
    def family_name(self) -> str:
        """The variant's family."""
        return self.record["family"]

    @property
    def params(self) -> dict[str, Any]:
        """Domain parameters."""
        return self.record["params"]

    @property
    def model(self) -> dict[str, Any]:
        """Model config fields (n_layers, n_heads, d_mlp, ...)."""
        return self.record.get("model", {})

    @cached_property
    def store(self) -> ArtifactStore:
        """The variant's artifact store."""
        return ArtifactStore(self.paths.artifacts, self.variant_id)

    @cached_property
    def context(self) -> dict[str, Any]:
        """The family's display context (labels, basis names, grid shape)."""
        from miscope_core.families import get_family

        return get_family(self.family_name).display_context(self.params)

    @cached_property
    def context_keys(self) -> frozenset[str]:
        """Every context key the family provides (for applicability checks)."""
        from miscope_core.families import get_family

        return get_family(self.family_name).context_keys()

    @property
    def checkpoint_epochs(self) -> list[int]:
        """Epochs with a saved checkpoint."""
        return list_checkpoint_epochs(self.paths.checkpoints)

    def _cached(self, key: str, load) -> Any:
        """Cached value of `load()`; the cache empties when the variant's files change."""
        stamps = self.file_stamps()
        if self._cache.get("__stamps__") != stamps:
            self._cache.clear()
            self._cache["__stamps__"] = stamps
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def file_stamps(self) -> tuple[int, ...]:
        """Modification times of variant.json, metrics.npz and the artifact manifest."""
        return tuple(
            file_stamp(p)
            for p in (
                self.paths.variant_json,
                self.paths.metrics,
                self.paths.artifacts / "manifest.json",
            )
        )

    def has_metrics(self) -> bool:
        """Whether metrics.npz exists."""
        return self.paths.metrics.exists()

    def metrics(self) -> dict[str, np.ndarray]:
        """Per-epoch train/test loss and accuracy (cached; a damaged metrics.npz is rebuilt
        in memory from the resume state)."""
        if not self.paths.metrics.exists():
            raise FileNotFoundError(
                f"Variant '{self.variant_id}' has no metrics ({self.paths.metrics}); "
                f"train it first: `miscope train {self.family_name} ...`"
            )
        from miscope_core.metrics_file import read_metrics  # rebuilds if damaged

        return self._cached("metrics", lambda: read_metrics(self.paths))

    def summary(self, analyzer: str) -> dict[str, np.ndarray]:
        """An analyzer's summary tier (cached)."""
        return self._cached(f"summary:{analyzer}", lambda: self.store.load_summary(analyzer))

    def cross_epoch(self, analyzer: str) -> dict[str, np.ndarray]:
        """An analyzer's cross-epoch tier (cached)."""
        return self._cached(f"cross:{analyzer}", lambda: self.store.load_cross_epoch(analyzer))

    def epoch(self, analyzer: str, epoch: int) -> dict[str, np.ndarray]:
        """One per-epoch artifact (not cached: loaders pick what they need)."""
        return self.store.load_epoch(analyzer, epoch)

    def stacked(self, analyzer: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(epochs, values [n_epochs, ...]) of one per-epoch output over every analysed epoch:
        from the summary tier when it holds `key`, else stacked from the per-epoch files."""
        return self._cached(f"stacked:{analyzer}:{key}", lambda: self._stack(analyzer, key))

    def _stack(self, analyzer: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        if self.store.summary_path(analyzer).exists():
            summary = self.summary(analyzer)
            if key in summary:
                return np.asarray(summary["epochs"]), np.asarray(summary[key])
        epochs = self.store.epochs_with(analyzer)
        return np.asarray(epochs), np.stack([self.epoch(analyzer, e)[key] for e in epochs])

    def epochs_of(self, analyzer: str | None) -> list[int]:
        """Epochs analysed by `analyzer`, else the checkpoint epochs."""
        if analyzer is not None:
            found = self.store.epochs_with(analyzer)
            if found:
                return found
        return self.checkpoint_epochs

    def basis_labels(self, n: int) -> list[str]:
        """Labels of the family's token-basis rows ('cos 3'), or 'basis 0..' without a basis."""
        labels = list(self.context.get("token_basis_labels", []))
        return labels[:n] if len(labels) >= n else [f"basis {i}" for i in range(n)]

    def frequency_labels(self, n: int) -> list[str]:
        """'k=1'.. from the family, or 'freq 1'.. when the family names none."""
        labels = list(self.context.get("frequency_labels", []))
        return labels[:n] if len(labels) >= n else [f"freq {i + 1}" for i in range(n)]

    def position_labels(self, n: int) -> list[str]:
        """Labels of the input positions from the family ('x3\''), else 'pos 0'.."""
        labels = list(self.context.get("position_labels", []))
        return labels[:n] if len(labels) >= n else [f"pos {i}" for i in range(n)]

    @property
    def basis_name(self) -> str:
        """The family's basis name ('Fourier') or 'token basis'."""
        return str(self.context.get("token_basis_name", "token basis"))


def file_stamp(path: Path) -> int:
    """Modification time in ns, or 0 for a missing file."""
    try:
        return Path(path).stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@lru_cache(maxsize=16)
def _cached_source(root: str, variant_id: str, stamps: tuple[int, ...]) -> VariantSource:
    return VariantSource.open(Workspace(Path(root)), variant_id)


def open_source(workspace: Workspace | str | Path | None, variant_id: str) -> VariantSource:
    """A VariantSource reused across calls while the variant's record, metrics and artifact
    manifest are unchanged (what a dashboard scrubbing epochs wants)."""
    if not isinstance(workspace, Workspace):
        workspace = Workspace.open(workspace)
    paths = workspace.locate(variant_id)
    stamps = tuple(
        file_stamp(p)
        for p in (paths.variant_json, paths.metrics, paths.artifacts / "manifest.json")
    )
    return _cached_source(str(workspace.root), variant_id, stamps)
