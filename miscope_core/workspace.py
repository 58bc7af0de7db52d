"""The workspace: where results, jobs and caches live (default `data/` in the checkout)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from miscope_core.errors import unknown_name_error
from miscope_core.io import read_json
from miscope_core.variants import VariantPaths, check_variant_id

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    """MISCOPE_DATA_DIR if set, else `data/` in the project checkout."""
    env = os.environ.get("MISCOPE_DATA_DIR")
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / "data"


@dataclass(frozen=True)
class Workspace:
    """A data directory holding results/<family>/<variant-id>/, jobs.sqlite and cache/."""

    root: Path

    @classmethod
    def open(cls, root: str | Path | None = None) -> Workspace:
        """The workspace at `root` (created if missing), or the default one."""
        path = Path(root).expanduser().resolve() if root else default_data_dir()
        (path / "results").mkdir(parents=True, exist_ok=True)
        return cls(path)

    @property
    def results(self) -> Path:
        """results/ directory."""
        return self.root / "results"

    @property
    def jobs_db(self) -> Path:
        """SQLite job records."""
        return self.root / "jobs.sqlite"

    @property
    def cache_dir(self) -> Path:
        """diskcache directory for Dash background callbacks."""
        return self.root / "cache"

    @property
    def exports(self) -> Path:
        """Default directory for exported figures."""
        return self.root / "exports"

    def variant_paths(self, family: str, variant_id: str) -> VariantPaths:
        """Paths of a variant (which may not exist yet)."""
        check_variant_id(family)
        return VariantPaths(self.results / family / check_variant_id(variant_id))

    @property
    def index(self) -> WorkspaceIndex:
        """The variant index of this workspace (shared by every handle on the same root)."""
        return index_of(self.results)

    def list_variants(self, family: str | None = None) -> list[tuple[str, str]]:
        """(family, variant_id) of every variant with a variant.json, sorted."""
        return [(fam, vid) for fam, vid in self.index.variants() if family is None or fam == family]

    def locate(self, variant_id: str, family: str | None = None) -> VariantPaths:
        """Find a variant by id (optionally within one family); errors list what exists."""
        check_variant_id(variant_id)
        families = self.index.families_of(variant_id)
        matches = [f for f in families if family is None or f == family]
        if not matches:
            known = [v for _, v in self.list_variants(family)]
            listing = (
                f"`miscope variants --data-dir {self.root}`"
                if known
                else f"`miscope train --help` to train one into {self.root}"
            )
            raise unknown_name_error("variant", variant_id, known, listing)
        if len(matches) > 1:
            raise KeyError(
                f"Variant id '{variant_id}' exists in several families {matches}; pass family=..."
            )
        return self.variant_paths(matches[0], variant_id)

    def read_variant_record(self, paths: VariantPaths) -> dict:
        """The variant.json record."""
        return read_json(paths.variant_json)


# A directory whose mtime is this close to the scan may change again within the same
# timestamp tick (coarse filesystem clocks): such a scan is not trusted on the next call.
RACY_NS = 2_000_000_000


@dataclass
class WorkspaceIndex:
    """Every variant under results/, rescanned only when a directory in it changed.

    Freshness costs one stat per directory (results/, each family, each variant) instead of a
    glob per lookup: creating, renaming or deleting any entry changes its parent's mtime.
    """

    results: Path
    _variants: dict[str, list[str]] = field(default_factory=dict)  # variant id -> families
    _stamps: dict[Path, int] = field(default_factory=dict)
    _racy: bool = True
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def variants(self) -> list[tuple[str, str]]:
        """(family, variant_id) of every variant with a variant.json, sorted."""
        with self._lock:
            self._refresh()
            return sorted((f, v) for v, families in self._variants.items() for f in families)

    def families_of(self, variant_id: str) -> list[str]:
        """Families holding a variant with this id (a miss rescans once before answering)."""
        with self._lock:
            self._refresh()
            found = self._variants.get(variant_id, [])
            if not found or not all(self._has_record(f, variant_id) for f in found):
                self._scan()
                found = self._variants.get(variant_id, [])
            return list(found)

    def _has_record(self, family: str, variant_id: str) -> bool:
        return (self.results / family / variant_id / "variant.json").is_file()

    def _refresh(self) -> None:
        if self._racy or any(_mtime_ns(path) != stamp for path, stamp in self._stamps.items()):
            self._scan()

    def _scan(self) -> None:
        started = time.time_ns()
        stamps = {self.results: _mtime_ns(self.results)}
        variants: dict[str, list[str]] = {}
        for family_dir in _subdirs(self.results):
            stamps[family_dir] = _mtime_ns(family_dir)
            for variant_dir in _subdirs(family_dir):
                stamps[variant_dir] = _mtime_ns(variant_dir)
                if (variant_dir / "variant.json").is_file():
                    variants.setdefault(variant_dir.name, []).append(family_dir.name)
        self._variants, self._stamps = variants, stamps
        self._racy = any(stamp > started - RACY_NS for stamp in stamps.values())


_INDEXES: dict[Path, WorkspaceIndex] = {}  # keyed by results directory: one per workspace
_INDEXES_LOCK = threading.Lock()


def index_of(results: Path) -> WorkspaceIndex:
    """The process's index of one results/ directory."""
    with _INDEXES_LOCK:
        if results not in _INDEXES:
            _INDEXES[results] = WorkspaceIndex(results)
        return _INDEXES[results]


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def _subdirs(path: Path) -> list[Path]:
    try:
        with os.scandir(path) as entries:
            return sorted(Path(e.path) for e in entries if e.is_dir())
    except OSError:
        return []
