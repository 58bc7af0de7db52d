"""Registry queries: families with their schema, variants with their state (no torch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from miscope_core.checkpoint_names import list_checkpoint_epochs as checkpoint_epochs_in
from miscope_core.families import get_family, list_families
from miscope_core.io import CorruptFileError, load_npz, read_json
from miscope_core.variants import VariantPaths, check_variant_id
from miscope_core.workspace import Workspace
from services.jobs import JobStore

# "partial": some default analyzers never ran; "stale": an analyzer's version or parameters
# changed, or checkpoints arrived after it ran (a stale one outranks a missing one);
# "damaged": variant.json, metrics.npz or the artifact manifest is damaged (named in detail).
VARIANT_STATES = (
    "untrained",
    "training",
    "trained",
    "analyzing",
    "analyzed",
    "partial",
    "stale",
    "damaged",
)


def describe_families() -> list[dict[str, Any]]:
    """Every registered family's description (schema, presets, architecture, probe, context)."""
    return [get_family(name).describe() for name in list_families()]


def describe_family(name: str) -> dict[str, Any]:
    """One family's description; an unknown name raises KeyError listing the families."""
    return get_family(name).describe()


def list_checkpoint_epochs(paths: VariantPaths) -> list[int]:
    """Epochs with a saved checkpoint (reads file names only, so no torch import)."""
    return checkpoint_epochs_in(paths.checkpoints)


def read_metrics(paths: VariantPaths) -> dict[str, np.ndarray]:
    """Per-epoch metrics saved so far ({} before the first save, or when damaged beyond a
    rebuild from the resume state)."""
    from miscope_core.metrics_file import read_metrics as read_or_rebuild

    try:
        return read_or_rebuild(paths)
    except CorruptFileError:
        return {}


@dataclass(frozen=True)
class VariantState:
    """What the dashboard shows about one variant."""

    family: str
    variant_id: str
    state: str
    detail: str
    params: dict[str, Any]
    epochs: int
    epochs_completed: int
    checkpoints: list[int] = field(default_factory=list)
    missing_analyzers: list[str] = field(default_factory=list)
    job_id: str | None = None
    damaged_files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


def locate_variant(workspace: Workspace, variant_id: str) -> tuple[str, VariantPaths]:
    """(family, paths) of a variant id; bad ids raise ValueError, unknown ones KeyError."""
    check_variant_id(variant_id)
    paths = workspace.locate(variant_id)
    return paths.root.parent.name, paths


def variant_state(
    workspace: Workspace, family: str, variant_id: str, store: JobStore | None = None
) -> VariantState:
    """The state of one variant: untrained, training, trained, analyzing, analyzed, partial
    (default analyzers never run), stale (artifacts out of date) or damaged (a file named in
    the detail cannot be read)."""
    paths = workspace.variant_paths(family, variant_id)
    checkpoints = list_checkpoint_epochs(paths)
    store = store or JobStore(workspace.jobs_db)
    job = store.active_for(variant_id)
    try:
        record = _read_record(paths)
    except CorruptFileError as exc:
        return VariantState(
            family,
            variant_id,
            "damaged",
            str(exc),
            {},
            0,
            0,
            checkpoints,
            job_id=job.id if job else None,
            damaged_files=[str(exc.path)],
        )
    epochs = int(record.get("training", {}).get("epochs", 0))
    done = int(record.get("epochs_completed", 0))
    pending = pending_analyzers(paths, record, checkpoints) if checkpoints else {}
    damage = _damage(paths)
    if damage:
        state, detail = "damaged", " ".join(str(exc) for exc in damage)
    else:
        state, detail = _classify(record, checkpoints, pending, job, paths)
    return VariantState(
        family,
        variant_id,
        state,
        detail,
        dict(record.get("params", {})),
        epochs,
        done,
        checkpoints,
        list(pending),
        job.id if job else None,
        [str(exc.path) for exc in damage],
    )


def _read_record(paths: VariantPaths) -> dict[str, Any]:
    if not paths.variant_json.exists():
        return {}
    record = read_json(paths.variant_json, expect=dict)
    for key in ("params", "training"):
        if not isinstance(record.get(key, {}), dict):
            raise CorruptFileError(paths.variant_json, f"'{key}' is not a table")
    return record


def _damage(paths: VariantPaths) -> list[CorruptFileError]:
    """Damage in the files the dashboard reads besides variant.json (metrics, manifest)."""
    from miscope_core.analysis.artifacts import ArtifactStore

    found = []
    if Path(paths.metrics).exists():
        try:
            load_npz(paths.metrics)
        except CorruptFileError as exc:
            found.append(exc)
    store = ArtifactStore(paths.artifacts)
    if store.manifest_path.exists():
        store.read_manifest()
        if store.manifest_damage is not None:
            found.append(store.manifest_damage)
    return found


def _classify(record, checkpoints, pending: dict[str, str], job, paths) -> tuple[str, str]:
    if job is not None:
        training = job.stage == "train" or (job.stage is None and job.kind != "analyze")
        return ("training" if training else "analyzing"), job.message or job.status
    if not checkpoints:
        return "untrained", "no checkpoints yet"
    status = record.get("status", "training")
    partial = (
        ""
        if status == "complete"
        else (
            f"; stopped at epoch {record.get('epochs_completed')} of "
            f"{record.get('training', {}).get('epochs')} (resumable)"
        )
    )
    if not (Path(paths.artifacts) / "manifest.json").exists():
        return "trained", f"{len(checkpoints)} checkpoints, not analyzed{partial}"
    stale = [name for name, status in pending.items() if status == "stale"]
    missing = [name for name, status in pending.items() if status == "missing"]
    if stale:
        return "stale", f"out of date: {_names(stale)}{_also_missing(missing)}{partial}"
    if missing:
        return "partial", f"never run: {_names(missing)}{partial}"
    return "analyzed", f"{len(checkpoints)} checkpoints analyzed{partial}"


def _names(names: list[str]) -> str:
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return ", ".join(names[:3]) + more


def _also_missing(missing: list[str]) -> str:
    return f"; never run: {_names(missing)}" if missing else ""


def analysis_status(
    paths: VariantPaths, record: dict | None = None, checkpoints: list[int] | None = None
) -> list[dict[str, Any]]:
    """Per analyzer: complete, missing, stale or not applicable, with a short reason."""
    from miscope_core.analysis.registry import CROSS_EPOCH, list_analyzers

    record = record if record is not None else _read_record(paths)
    checkpoints = checkpoints if checkpoints is not None else list_checkpoint_epochs(paths)
    family = get_family(record["family"])
    cfg = family.model_config(record["params"])
    manifest = _read_manifest(paths)
    rows = []
    for spec in list_analyzers():
        reason = spec.not_applicable_reason(family.context_keys(), cfg, family.name)
        entry = manifest.get(spec.name, {})
        if reason:
            status = "not applicable"
        elif not entry:
            status, reason = "missing", "never computed"
        elif entry.get("fingerprint") != spec.fingerprint(spec.resolve_params()):
            status, reason = "stale", "analyzer version or parameters changed"
        elif spec.kind == CROSS_EPOCH:
            done = entry.get("cross_epoch", {}).get("epochs") == checkpoints
            status, reason = ("complete", "") if done else ("stale", "new checkpoints since")
        else:
            todo = sorted(set(checkpoints) - {int(e) for e in entry.get("epochs", {})})
            status, reason = (
                ("complete", "")
                if not todo
                else ("stale", f"{len(todo)} of {len(checkpoints)} checkpoints to analyze")
            )
        rows.append(
            {
                "analyzer": spec.name,
                "kind": spec.kind,
                "description": spec.description,
                "default": spec.in_default_battery,
                "status": status,
                "reason": reason,
            }
        )
    return rows


def pending_analyzers(paths: VariantPaths, record: dict, checkpoints: list[int]) -> dict[str, str]:
    """Default-battery analyzers that are missing or stale for this variant, with which."""
    if not record:
        return {}
    rows = analysis_status(paths, record, checkpoints)
    return {
        r["analyzer"]: r["status"]
        for r in rows
        if r["default"] and r["status"] in ("missing", "stale")
    }


def _read_manifest(paths: VariantPaths) -> dict[str, Any]:
    """The manifest's analyzer table (a damaged one falls back to its previous copy)."""
    from miscope_core.analysis.artifacts import ArtifactStore

    return ArtifactStore(paths.artifacts).read_manifest()["analyzers"]


def list_variant_states(workspace: Workspace, family: str | None = None) -> list[VariantState]:
    """Every variant in the workspace with its state, newest first."""
    store = JobStore(workspace.jobs_db)
    states = [
        variant_state(workspace, fam, vid, store) for fam, vid in workspace.list_variants(family)
    ]
    mtime = {s.variant_id: _mtime(workspace.variant_paths(s.family, s.variant_id)) for s in states}
    return sorted(states, key=lambda s: mtime[s.variant_id], reverse=True)


def _mtime(paths: VariantPaths) -> float:
    try:
        return paths.variant_json.stat().st_mtime
    except OSError:
        return 0.0
