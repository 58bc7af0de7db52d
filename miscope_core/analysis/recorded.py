"""The analyzers a variant's manifest records, with the parameters they ran with.

Used to extend an analysis to new checkpoints (after `densify`) without changing any
analyzer's parameters, so the incremental pipeline recomputes only the new epochs.
"""

from __future__ import annotations

from typing import Any

from miscope_core.analysis.artifacts import ArtifactStore
from miscope_core.analysis.registry import ANALYZERS, load_builtin_analyzers
from miscope_core.variants import VariantPaths


def recorded_analyzers(paths: VariantPaths) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """(names, {name: non-default-free params}) of the analyzers in the variant's manifest."""
    load_builtin_analyzers()
    recorded = ArtifactStore(paths.artifacts).read_manifest()["analyzers"]
    names = [name for name in recorded if name in ANALYZERS]
    params = {}
    for name in names:
        declared = ANALYZERS[name].params
        chosen = {k: v for k, v in (recorded[name].get("params") or {}).items() if k in declared}
        if chosen:
            params[name] = chosen
    return names, params
