"""The workspace: where results, jobs and caches live (default `data/` in the checkout)."""

from __future__ import annotations

import os
from dataclasses import dataclass
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

    def list_variants(self, family: str | None = None) -> list[tuple[str, str]]:
        """(family, variant_id) of every variant with a variant.json, sorted."""
        found = []
        for variant_json in sorted(self.results.glob("*/*/variant.json")):
            fam, vid = variant_json.parent.parent.name, variant_json.parent.name
            if family is None or fam == family:
                found.append((fam, vid))
        return found

    def locate(self, variant_id: str, family: str | None = None) -> VariantPaths:
        """Find a variant by id (optionally within one family); errors list what exists."""
        check_variant_id(variant_id)
        matches = [(f, v) for f, v in self.list_variants(family) if v == variant_id]
        if not matches:
            known = [v for _, v in self.list_variants(family)]
            listing = (f"`miscope variants --data-dir {self.root}`" if known else
                       f"`miscope train --help` to train one into {self.root}")
            raise unknown_name_error("variant", variant_id, known, listing)
        if len(matches) > 1:
            raise KeyError(
                f"Variant id '{variant_id}' exists in several families "
                f"{[f for f, _ in matches]}; pass family=..."
            )
        return self.variant_paths(*matches[0])

    def read_variant_record(self, paths: VariantPaths) -> dict:
        """The variant.json record."""
        return read_json(paths.variant_json)
