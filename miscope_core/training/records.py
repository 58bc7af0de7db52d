"""variant.json: the record of how a variant was made, rewritten atomically as training moves."""

from __future__ import annotations

import datetime as dt
from importlib import metadata

from miscope_core.families import Family
from miscope_core.io import CorruptFileError, read_json, write_json_atomic
from miscope_core.variants import VariantPaths, VariantSpec


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape results."""
    versions = {}
    for name in ("miscope", "torch", "transformer-lens", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def write_variant_record(
    paths: VariantPaths, spec: VariantSpec, family: Family, device: str, status: str,
    epochs_completed: int,
) -> None:
    """Create or update variant.json (keeps the creation time)."""
    try:
        previous = read_json(paths.variant_json) if paths.variant_json.exists() else {}
    except CorruptFileError:  # rewritten below from the spec: the damage is repaired
        previous = {}
    probe = family.build_probe(spec.params)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    record = {
        "variant_id": spec.variant_id,
        **spec.as_dict(),
        "model": family.model_config(spec.params).as_dict(),
        "probe": {"hash": probe.hash, "description": probe.description,
                  "shape": list(probe.tokens.shape)},
        "status": status,
        "epochs_completed": epochs_completed,
        "device": device,
        "versions": package_versions(),
        "created": previous.get("created", now),
        "updated": now,
    }
    write_json_atomic(paths.variant_json, record)
