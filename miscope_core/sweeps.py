"""Sweeps: a grid of domain parameters x a seed range, kept as one durable record.

    spec = SweepSpec.build("modulo_addition", parse_grid(["prime=53,59"]), parse_seeds("0-7"))
    record = save_sweep(workspace, spec)          # <data>/sweeps/<sweep-id>.json
    [v.variant_id for v in spec.variant_specs()]  # one variant per (grid cell, seed)

A seed sets every integer parameter of the family named `seed` or ending in `_seed` (model
and data seed move together, as in the calibration seed pairs). The sweep id is a hash of
what decides its variants (family, grid, seeds, preset, training overrides), so the same
command finds the same record again and a rerun resumes what is missing. The record lists
the variants; their progress lives in the job records and on disk, never copied here.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from miscope_core.families import ValidationError, get_family
from miscope_core.io import CorruptFileError, content_hash, read_json, write_json_atomic
from miscope_core.specs import resolve_variant_spec
from miscope_core.variants import VariantSpec
from miscope_core.workspace import Workspace

MAX_VARIANTS = 512  # a sweep larger than this is a typo far more often than a plan
MAX_SEED = 2**31 - 1
RECORD_FORMAT = 1
_SWEEP_ID = re.compile(r"sweep-[a-z0-9_]+-[0-9a-f]{8}")
_SEED_RANGE = re.compile(r"\s*(\d+)\s*-\s*(\d+)\s*")


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """['prime=53,59', 'train_fraction=0.3,0.4'] -> {'prime': ['53', '59'], ...} (in order)."""
    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = str(item).partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValidationError(
                f"--grid '{item}' is not of the form name=v1,v2 (e.g. prime=53,59)"
            )
        if name in grid:
            raise ValidationError(f"--grid names '{name}' twice; give all its values in one --grid")
        parts = [v.strip() for v in values.split(",")]
        if not parts or any(not v for v in parts):
            raise ValidationError(
                f"--grid '{item}' has an empty value; list values like {name}=1,2"
            )
        grid[name] = list(dict.fromkeys(parts))
    return grid


def parse_seeds(text: str | int | None) -> list[int]:
    """'0-7' -> [0..7], '1,4,9' -> [1, 4, 9], '3' -> [3]; None or '' -> [] (the preset's seeds)."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return []
    seeds: list[int] = []
    for part in str(text).split(","):
        match = _SEED_RANGE.fullmatch(part)
        if match:
            low, high = int(match[1]), int(match[2])
            if high < low:
                raise ValidationError(
                    f"seed range '{part.strip()}' runs backwards; write the low seed first "
                    f"({high}-{low})"
                )
            if high - low + 1 > MAX_VARIANTS:
                raise ValidationError(
                    f"seed range '{part.strip()}' has {high - low + 1:,} seeds; a sweep makes "
                    f"at most {MAX_VARIANTS} variants"
                )
            seeds.extend(range(low, high + 1))
        elif part.strip().isdigit():
            seeds.append(int(part))
        else:
            raise ValidationError(
                f"seeds '{text}' are not valid: use a range like 0-7, a list like 1,4,9 or both "
                f"(non-negative integers)"
            )
    if any(s > MAX_SEED for s in seeds):
        raise ValidationError(f"seeds must be at most {MAX_SEED}, got {max(seeds)}")
    return list(dict.fromkeys(seeds))


def seed_params(family: str) -> list[str]:
    """The integer parameters a sweep's seed sets: `seed` and every `*_seed`."""
    return [
        spec.name
        for spec in get_family(family).param_specs
        if spec.type is int and (spec.name == "seed" or spec.name.endswith("_seed"))
    ]


@dataclass(frozen=True)
class SweepSpec:
    """What decides a sweep's variants: family, grid, seeds, preset and training overrides."""

    family: str
    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    seeds: tuple[int, ...] = ()
    preset: str | None = None
    training: tuple[tuple[str, Any], ...] = ()
    _variants: tuple[VariantSpec, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def build(
        cls,
        family: str,
        grid: Mapping[str, Sequence[Any]],
        seeds: Sequence[int] = (),
        preset: str | None = None,
        training: Mapping[str, Any] | None = None,
    ) -> SweepSpec:
        """Validate the grid against the family's schema and resolve every variant."""
        fam = get_family(family)
        _check_grid(fam.name, grid, seeds)
        count = _count(grid, seeds)
        if count > MAX_VARIANTS:
            raise ValidationError(
                f"this sweep makes {count:,} variants ({_shape(grid, seeds)}); at most "
                f"{MAX_VARIANTS} are allowed: narrow the grid or the seed range"
            )
        typed = tuple(
            (name, tuple(_typed(fam, name, v) for v in values)) for name, values in grid.items()
        )
        draft = cls(fam.name, typed, tuple(seeds), preset or None, tuple((training or {}).items()))
        variants = tuple(
            resolve_variant_spec(fam.name, preset, params, dict(draft.training))
            for params in draft.variant_params()
        )
        return cls(draft.family, typed, draft.seeds, draft.preset, draft.training, variants)

    @property
    def sweep_id(self) -> str:
        """'sweep-<family>-<hash8>': stable for the same grid, seeds, preset and training."""
        digest = content_hash(json.dumps(self.identity(), sort_keys=True).encode())[:8]
        return f"sweep-{self.family}-{digest}"

    def identity(self) -> dict[str, Any]:
        """The JSON form of what decides the variants."""
        return {
            "family": self.family,
            "grid": {name: list(values) for name, values in self.grid},
            "seeds": list(self.seeds),
            "preset": self.preset,
            "training": dict(self.training),
        }

    def variant_params(self) -> list[dict[str, Any]]:
        """One parameter dict per variant: grid cells in order, seeds innermost."""
        names = [name for name, _ in self.grid]
        cells = itertools.product(*(values for _, values in self.grid)) if names else [()]
        setters = seed_params(self.family)
        out = []
        for cell in cells:
            base = dict(zip(names, cell, strict=True))
            for seed in self.seeds or [None]:
                out.append(base if seed is None else {**base, **dict.fromkeys(setters, seed)})
        return out

    def variant_specs(self) -> list[VariantSpec]:
        """The resolved, validated variant specs (in `variant_params` order)."""
        if self._variants:
            return list(self._variants)
        return [
            resolve_variant_spec(self.family, self.preset, p, dict(self.training))
            for p in self.variant_params()
        ]


def _check_grid(family: str, grid: Mapping[str, Sequence[Any]], seeds: Sequence[int]) -> None:
    names = {spec.name for spec in get_family(family).param_specs}
    if not grid and not seeds:
        raise ValidationError(
            "a sweep needs a grid (--grid prime=53,59) or seeds (--seeds 0-3); got neither"
        )
    unknown = sorted(set(grid) - names)
    if unknown:
        raise ValidationError(
            f"Unknown grid parameter(s) {unknown} for family '{family}'; valid: {sorted(names)}"
        )
    for name, values in grid.items():
        if not list(values):
            raise ValidationError(f"grid parameter '{name}' has no values")
    clash = sorted(set(grid) & set(seed_params(family))) if seeds else []
    if clash:
        raise ValidationError(
            f"--seeds sets {clash}; do not also put them in --grid (drop --seeds or the grid entry)"
        )


def _count(grid: Mapping[str, Sequence[Any]], seeds: Sequence[int]) -> int:
    count = max(len(seeds), 1)
    for values in grid.values():
        count *= len(values)
    return count


def _shape(grid: Mapping[str, Sequence[Any]], seeds: Sequence[int]) -> str:
    parts = [f"{len(v)} {k}" for k, v in grid.items()] + ([f"{len(seeds)} seeds"] if seeds else [])
    return " x ".join(parts)


def _typed(fam, name: str, value: Any) -> Any:
    spec = next(s for s in fam.param_specs if s.name == name)
    return spec.validate(value)


# --- the durable record ----------------------------------------------------------------


def sweeps_dir(workspace: Workspace) -> Path:
    """<data>/sweeps/: one JSON record per sweep."""
    return workspace.root / "sweeps"


def check_sweep_id(sweep_id: Any) -> str:
    """A well-formed sweep id, or ValueError (no path tricks)."""
    if not isinstance(sweep_id, str) or not _SWEEP_ID.fullmatch(sweep_id):
        raise ValueError(
            f"{sweep_id!r} is not a sweep id; they look like sweep-modulo_addition-1a2b3c4d"
        )
    return sweep_id


def sweep_path(workspace: Workspace, sweep_id: str) -> Path:
    """Where a sweep's record lives."""
    return sweeps_dir(workspace) / f"{check_sweep_id(sweep_id)}.json"


def save_sweep(workspace: Workspace, spec: SweepSpec, analyze: bool = False) -> dict[str, Any]:
    """Write (or update) the sweep's record; an existing record keeps its creation time.

    Asking for analysis once keeps it asked for; a new save clears a cancel request.
    """
    path = sweep_path(workspace, spec.sweep_id)
    old = load_sweep(workspace, spec.sweep_id) if path.exists() else {}
    variants = [
        {"variant_id": v.variant_id, "params": dict(v.params)} for v in spec.variant_specs()
    ]
    body = {
        "format": RECORD_FORMAT,
        "id": spec.sweep_id,
        **spec.identity(),
        "analyze": bool(analyze or old.get("analyze")),
        "cancelled": False,
        "created": old.get("created", time.time()),
        "variants": variants,
    }
    return write_sweep(path, body)


def write_sweep(path: Path, body: Mapping[str, Any]) -> dict[str, Any]:
    """Atomically write a record with the content hash of its body."""
    body = {k: v for k, v in body.items() if k != "content_hash"}
    record = {**body, "content_hash": _body_hash(body)}
    write_json_atomic(path, record)
    return record


def load_sweep(workspace: Workspace, sweep_id: str) -> dict[str, Any]:
    """A sweep record; unknown ids raise KeyError (listing sweeps), damage CorruptFileError."""
    path = sweep_path(workspace, sweep_id)
    if not path.exists():
        known = list_sweep_ids(workspace)
        raise KeyError(f"No sweep {sweep_id!r} in {workspace.root}; known: {known or 'none'}")
    record = read_json(path, expect=dict)
    body = {k: v for k, v in record.items() if k != "content_hash"}
    if record.get("content_hash") != _body_hash(body):
        raise CorruptFileError(path, "content does not match its recorded hash")
    if not isinstance(record.get("variants"), list) or record.get("format") != RECORD_FORMAT:
        raise CorruptFileError(path, "not a sweep record of format 1 (no 'variants' list)")
    return record


def set_sweep_cancelled(workspace: Workspace, sweep_id: str, cancelled: bool) -> dict[str, Any]:
    """Record that the sweep should (not) start more variants."""
    record = load_sweep(workspace, sweep_id)
    return write_sweep(sweep_path(workspace, sweep_id), {**record, "cancelled": cancelled})


def list_sweep_ids(workspace: Workspace) -> list[str]:
    """Sweep ids in the workspace, newest record first."""
    folder = sweeps_dir(workspace)
    if not folder.is_dir():
        return []
    paths = [p for p in folder.glob("sweep-*.json") if _SWEEP_ID.fullmatch(p.stem)]
    return [p.stem for p in sorted(paths, key=lambda p: p.stat().st_mtime, reverse=True)]


def _body_hash(body: Mapping[str, Any]) -> str:
    return content_hash(json.dumps(body, sort_keys=True).encode())
