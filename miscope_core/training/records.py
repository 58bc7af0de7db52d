"""variant.json: the record of how a variant was made, rewritten atomically as training moves."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from importlib import metadata

from miscope_core.families import Family, Probe
from miscope_core.io import CorruptFileError, read_json, write_json_atomic
from miscope_core.variants import VariantPaths, VariantSpec


@dataclass(frozen=True)
class RunEnvironment:
    """Where and how a run computes: what, besides the settings, its exact bytes depend on."""

    device: str
    threads: int
    torch_version: str

    @classmethod
    def current(cls, device: str, threads: int) -> RunEnvironment:
        """This process's environment for a run on `device` with `threads` threads."""
        import torch

        return cls(device, threads, torch.__version__)


@functools.cache
def package_versions() -> dict[str, str]:
    """Versions of the packages that shape results."""
    versions = {}
    for name in ("miscope", "torch", "transformer-lens", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def read_variant_record(paths: VariantPaths) -> dict:
    """variant.json as a dict; {} when it is missing or unreadable (the run rewrites it)."""
    try:
        record = read_json(paths.variant_json)
    except (OSError, CorruptFileError):
        return {}
    return record if isinstance(record, dict) else {}


def recorded_threads(paths: VariantPaths) -> int | None:
    """The thread count variant.json says the variant was trained with (None if unknown)."""
    threads = read_variant_record(paths).get("threads")
    return threads if isinstance(threads, int) and threads > 0 else None


def write_variant_record(
    paths: VariantPaths,
    spec: VariantSpec,
    family: Family,
    env: RunEnvironment,
    status: str,
    epochs_completed: int,
    probe: Probe | None = None,
    error: str | None = None,
    extra: dict | None = None,
) -> None:
    """Create or update variant.json (keeps the creation time); `extra` adds entries
    (e.g. the seed group a variant was trained with)."""
    previous = read_variant_record(paths)
    probe = probe or family.build_probe(spec.params)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    record = {
        "variant_id": spec.variant_id,
        **spec.as_dict(),
        "model": family.model_config(spec.params).as_dict(),
        "probe": {
            "hash": probe.hash,
            "description": probe.description,
            "shape": list(probe.tokens.shape),
        },
        "status": status,
        "epochs_completed": epochs_completed,
        "device": env.device,
        "threads": env.threads,
        "torch_version": env.torch_version,
        "versions": dict(package_versions()),
        "created": previous.get("created", now),
        "updated": now,
    }
    if error:
        record["error"] = error
    record.update(extra or {})
    write_json_atomic(paths.variant_json, record)
