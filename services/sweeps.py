"""Sweeps as a service: plan (count + time estimate), launch, follow, cancel, resume.

A sweep runs its variants through the ordinary job runner, one job per variant, so the
Jobs page, the slot queue, the variant lock and exact resume all apply. A scheduler
(`run_sweep`: in the foreground for `miscope sweep`, in a detached `services.sweep_process`
for the Train page) keeps at most `job_slots()` of the sweep's jobs active and starts the
next missing variant as one ends; one scheduler per sweep (a lock beside its record).

The seam for other executors is `sweep_launches`: the variants still missing, each as a
`SweepLaunch` (training request + what to run). An executor that trains several seeds of
one configuration in one process can take a group of them instead of one job each.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from miscope_core.families import ValidationError, get_family
from miscope_core.io import CorruptFileError, read_json
from miscope_core.locking import VariantBusyError, variant_write_lock, variant_writer
from miscope_core.sweeps import (
    SweepSpec,
    load_sweep,
    parse_grid,
    parse_seeds,
    save_sweep,
    set_sweep_cancelled,
    sweeps_dir,
)
from miscope_core.workspace import Workspace
from services.jobs import ACTIVE, Job, JobConflictError, JobStore
from services.launch import TrainingRequest, cancel_job, launch_analysis, launch_training
from services.slots import job_slots

log = logging.getLogger(__name__)
POLL_S = 1.0
JOBS_SCANNED = 100_000  # job records read per progress poll (all of them, in practice)
# Measured seconds per epoch of each family's quick preset on one loaded CPU core (FACTS.md,
# docs/sweeps.md); a variant's time scales with its probe size relative to the quick preset.
SECONDS_PER_EPOCH = {"modulo_addition": 0.05, "induction": 0.15}
FALLBACK_SECONDS_PER_EPOCH = 0.1
ANALYSIS_SECONDS_PER_CHECKPOINT = 1.5


@dataclass(frozen=True)
class SweepPlan:
    """A validated sweep before launch: its spec, variant ids and estimated wall time."""

    spec: SweepSpec
    variant_ids: list[str]
    estimate_s: float
    slots: int

    @property
    def sweep_id(self) -> str:
        """The sweep's stable id."""
        return self.spec.sweep_id


@dataclass(frozen=True)
class SweepLaunch:
    """One variant of a sweep still to run: 'train' (maybe + analysis) or 'analyze' only."""

    variant_id: str
    request: TrainingRequest
    kind: str


def plan_sweep(
    family: str,
    grid: Sequence[str] | Mapping[str, Sequence[Any]],
    seeds: str | Sequence[int] | None = None,
    preset: str | None = None,
    training: Mapping[str, Any] | None = None,
    analyze: bool = False,
) -> SweepPlan:
    """Validate CLI or form input (grid items 'name=v1,v2' or a dict) into a plan."""
    parsed = parse_grid(grid) if not isinstance(grid, Mapping) else dict(grid)
    seed_list = parse_seeds(seeds) if isinstance(seeds, str | None) else list(seeds)
    overrides = {k: v for k, v in (training or {}).items() if v not in (None, "")}
    spec = SweepSpec.build(family, parsed, seed_list, preset, overrides)
    slots = job_slots()
    return SweepPlan(
        spec,
        [v.variant_id for v in spec.variant_specs()],
        estimate_seconds(spec, analyze, slots),
        slots,
    )


def estimate_seconds(spec: SweepSpec, analyze: bool, slots: int) -> float:
    """Wall time for the whole sweep with `slots` jobs at once (documented constants)."""
    fam = get_family(spec.family)
    reference = fam.resolve("quick")[0] if "quick" in fam.presets else fam.resolve()[0]
    base = SECONDS_PER_EPOCH.get(spec.family, FALLBACK_SECONDS_PER_EPOCH)
    total = 0.0
    for variant in spec.variant_specs():
        scale = fam.probe_rows(variant.params) / max(fam.probe_rows(reference), 1)
        total += variant.training.epochs * base * scale
        if analyze:
            total += len(variant.checkpoint_epochs()) * ANALYSIS_SECONDS_PER_CHECKPOINT
    return total / max(1, min(slots, len(spec.variant_specs())))


def describe_estimate(seconds: float) -> str:
    """'about 3 min' / 'about 1.5 h' / 'under a minute'."""
    if seconds < 60:
        return "under a minute"
    if seconds < 3600:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def launch_sweep(
    workspace: Workspace, plan: SweepPlan, analyze: bool = False, start: bool = True
) -> dict[str, Any]:
    """Write (or refresh) the sweep record; with start, run its scheduler detached."""
    record = save_sweep(workspace, plan.spec, analyze)
    if start:
        spawn_scheduler(workspace, record["id"])
    return record


def spawn_scheduler(workspace: Workspace, sweep_id: str) -> subprocess.Popen | None:
    """Start `python -m services.sweep_process` unless a scheduler of this sweep is alive."""
    if scheduler_alive(workspace, sweep_id):
        return None
    log = open(workspace.root / "jobs.log", "ab")  # noqa: SIM115 - owned by the child
    process = subprocess.Popen(
        [sys.executable, "-m", "services.sweep_process", sweep_id, str(workspace.root)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=str(Path(__file__).resolve().parents[1]),
    )
    log.close()
    # reaped by a thread so a finished scheduler never lingers as a zombie of the server
    threading.Thread(target=process.wait, name=f"reap-{sweep_id}", daemon=True).start()
    return process


def _lock_dir(workspace: Workspace, sweep_id: str) -> Path:
    return sweeps_dir(workspace) / f"{sweep_id}.run"


def scheduler_alive(workspace: Workspace, sweep_id: str) -> bool:
    """Whether a process is scheduling this sweep now."""
    return variant_writer(_lock_dir(workspace, sweep_id)) is not None


def sweep_launches(workspace: Workspace, record: Mapping[str, Any]) -> list[SweepLaunch]:
    """The sweep's variants that still need work and that no active job is writing."""
    store = JobStore(workspace.jobs_db)
    out = []
    for entry in record["variants"]:
        request = _request(record, entry)
        if store.active_for(request.variant_id) is not None:
            continue
        kind = _missing_work(workspace, request, bool(record.get("analyze")))
        if kind:
            out.append(SweepLaunch(request.variant_id, request, kind))
    return out


def _request(record: Mapping[str, Any], entry: Mapping[str, Any]) -> TrainingRequest:
    from miscope_core.specs import resolve_variant_spec

    spec = resolve_variant_spec(
        record["family"], record.get("preset"), entry["params"], record.get("training") or {}
    )
    return TrainingRequest(
        spec.family, spec.variant_id, dict(spec.params), spec.training.as_dict(), []
    )


def _missing_work(workspace: Workspace, request: TrainingRequest, analyze: bool) -> str | None:
    from services.registry import list_checkpoint_epochs, pending_analyzers

    paths = workspace.variant_paths(request.family, request.variant_id)
    record = _variant_record(paths.variant_json)
    trained = record.get("status") == "complete" and int(record.get("epochs_completed", 0)) >= int(
        request.training["epochs"]
    )
    if not trained:
        return "train"
    if analyze and pending_analyzers(paths, record, list_checkpoint_epochs(paths)):
        return "analyze"
    return None


def _variant_record(path: Path) -> dict[str, Any]:
    try:
        return read_json(path, expect=dict) if path.exists() else {}
    except CorruptFileError:
        return {}  # retraining reports the damage in its job log


def launch_variant(workspace: Workspace, launch: SweepLaunch, analyze: bool) -> Job:
    """Start one variant's job (the default executor: one job per variant)."""
    if launch.kind == "analyze":
        return launch_analysis(workspace, launch.variant_id)
    return launch_training(workspace, launch.request, analyze_after=analyze)


def run_sweep(
    workspace: Workspace,
    sweep_id: str,
    on_update: Callable[[dict[str, Any]], None] | None = None,
    slots: int | None = None,
    poll_s: float = POLL_S,
) -> dict[str, Any]:
    """Schedule the sweep's missing variants until none is left or it is cancelled.

    Returns the final progress (sweep_progress). Only one scheduler runs per sweep.
    """
    try:
        with variant_write_lock(_lock_dir(workspace, sweep_id), owner=f"sweep {sweep_id}"):
            return _schedule(workspace, sweep_id, on_update, slots or job_slots(), poll_s)
    except VariantBusyError as exc:
        raise JobConflictError(f"Sweep {sweep_id} is already being run: {exc}") from None


def _schedule(workspace, sweep_id, on_update, slots: int, poll_s: float) -> dict[str, Any]:
    record = load_sweep(workspace, sweep_id)
    store, running = JobStore(workspace.jobs_db), []
    # a job whose process died (killed, machine restarted) would stay "running" for ever and
    # the sweep would wait on it: close it as interrupted, as the server's supervisor does, so
    # its variant is launched again (it resumes from its last save)
    store.mark_stale_interrupted()
    todo = sweep_launches(workspace, record)
    while True:
        cancelled = load_sweep(workspace, sweep_id).get("cancelled")
        store.mark_stale_interrupted()
        running = [j for j in running if store.get(j).active]
        while todo and not cancelled and len(running) < slots:
            launch = todo.pop(0)
            try:
                running.append(launch_variant(workspace, launch, bool(record.get("analyze"))).id)
            except (JobConflictError, ValidationError, CorruptFileError) as exc:
                log.warning("Sweep %s: not starting %s: %s", sweep_id, launch.variant_id, exc)
        progress = sweep_progress(workspace, sweep_id)
        if on_update:
            on_update(progress)
        busy = sum(progress["counts"].get(s, 0) for s in ACTIVE)
        if not running and not busy and (cancelled or not todo):
            return progress
        time.sleep(poll_s)


def cancel_sweep(workspace: Workspace, sweep_id: str) -> list[str]:
    """Stop starting variants and cancel the sweep's active jobs; returns their ids."""
    record = set_sweep_cancelled(workspace, sweep_id, True)
    store, cancelled = JobStore(workspace.jobs_db), []
    for entry in record["variants"]:
        job = store.active_for(entry["variant_id"])
        if job is not None and job.status != "cancelling":
            cancelled.append(cancel_job(workspace, job.id).id)
    return cancelled


def resume_sweep(workspace: Workspace, sweep_id: str, start: bool = True) -> dict[str, Any]:
    """Clear a cancel and (with start) run the scheduler again for what is missing."""
    record = set_sweep_cancelled(workspace, sweep_id, False)
    if start:
        spawn_scheduler(workspace, sweep_id)
    return record


def sweep_progress(workspace: Workspace, sweep_id: str) -> dict[str, Any]:
    """Per variant: status (pending or its latest job's), progress, job id; and totals."""
    record = load_sweep(workspace, sweep_id)
    latest: dict[str, Job] = {}
    for job in JobStore(workspace.jobs_db).list(limit=JOBS_SCANNED):  # newest first, one query
        latest.setdefault(job.variant_id, job)
    rows = []
    for entry in record["variants"]:
        job = latest.get(entry["variant_id"])
        done = job is None and _is_finished(workspace, record, entry)
        rows.append(
            {
                "variant": entry["variant_id"],
                "status": job.status if job else ("done" if done else "pending"),
                "progress": job.progress if job else (1.0 if done else 0.0),
                "job": job.id if job else None,
                "message": (job.error or job.message) if job else "",
            }
        )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return {
        "id": sweep_id,
        "family": record["family"],
        "cancelled": bool(record.get("cancelled")),
        "analyze": bool(record.get("analyze")),
        "scheduler": scheduler_alive(workspace, sweep_id),
        "variants": rows,
        "counts": counts,
        "progress": sum(r["progress"] for r in rows) / max(len(rows), 1),
    }


def _is_finished(workspace: Workspace, record, entry) -> bool:
    request = _request(record, entry)
    return _missing_work(workspace, request, False) is None


def list_sweeps(workspace: Workspace) -> list[dict[str, Any]]:
    """Every sweep record (newest first); a damaged one is listed with its error."""
    from miscope_core.sweeps import list_sweep_ids

    out = []
    for sweep_id in list_sweep_ids(workspace):
        try:
            record = load_sweep(workspace, sweep_id)
        except CorruptFileError as exc:
            out.append({"id": sweep_id, "error": str(exc)})
            continue
        out.append({k: record[k] for k in ("id", "family", "grid", "seeds", "preset", "analyze")})
        out[-1]["variants"] = len(record["variants"])
    return out


def changed_settings(
    family: str, preset: str | None, params: Mapping[str, Any], settings: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's (domain parameters, training settings) that differ from the preset's, so a
    sweep launched from the Train page has the same id as the same `miscope sweep` command."""
    from services.launch import training_form

    form = training_form(family, preset)
    params_default = {p["name"]: p["value"] for p in form["parameters"]}
    settings_default = {s["name"]: s["value"] for s in form["training"]}
    changed_params = {
        k: v
        for k, v in params.items()
        if v not in (None, "") and str(v) != str(params_default.get(k))
    }
    changed = {
        k: v
        for k, v in settings.items()
        if v not in (None, "") and str(v) != str(settings_default.get(k))
    }
    return changed_params, changed
