"""Validating and launching training and analysis, cancelling and resuming jobs."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from miscope_core.families import TrainingConfig, ValidationError, get_family
from miscope_core.specs import check_device, resolve_variant_spec, seed_specs
from miscope_core.variants import VariantSpec, check_stored_settings
from miscope_core.workspace import Workspace
from services.jobs import Job, JobStore
from services.registry import list_checkpoint_epochs, locate_variant

JOB_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")


@dataclass(frozen=True)
class TrainingRequest:
    """A validated training request: the variant it makes and the settings it uses."""

    family: str
    variant_id: str
    params: dict[str, Any]
    training: dict[str, Any]
    checkpoint_epochs: list[int]

    def job_params(self, device: str | None = None, analyzers: list[str] | None = None):
        """What the job record stores (enough to run or resume it)."""
        return {
            "params": self.params,
            "training": self.training,
            "device": device,
            "analyzers": analyzers,
        }


def validate_training_request(
    family: str,
    preset: str | None = None,
    params: Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
) -> TrainingRequest:
    """Resolve and validate form input; raises ValidationError naming the bad value."""
    spec = resolve_variant_spec(family, preset, params, training)
    return TrainingRequest(
        spec.family,
        spec.variant_id,
        dict(spec.params),
        spec.training.as_dict(),
        spec.checkpoint_epochs(),
    )


def launch_training(
    workspace: Workspace,
    request: TrainingRequest,
    start: bool = True,
    analyze_after: bool = False,
    device: str | None = None,
) -> Job:
    """Record a training job (refused if the variant is busy) and, with start, spawn it.

    A bad device, or a variant already on disk with other settings, is refused before the
    job record is written.
    """
    device = check_device(device)
    spec = VariantSpec(request.family, request.params, TrainingConfig.from_dict(request.training))
    check_stored_settings(workspace.variant_paths(spec.family, spec.variant_id), spec)
    kind = "train_analyze" if analyze_after else "train"
    job = JobStore(workspace.jobs_db).create(
        kind, request.family, request.variant_id, request.job_params(device)
    )
    return _maybe_start(workspace, job, start)


def launch_seed_group(
    workspace: Workspace,
    request: TrainingRequest,
    seeds: list[int],
    start: bool = True,
    device: str | None = None,
    seed_param: str = "seed",
) -> Job:
    """Record one job that trains `request` once per seed in one process (a 'train_seeds' job).

    Each member becomes an ordinary variant; the record names them all (`members`) and the
    job holds every member's write lock while it runs. Refused before anything is written
    when a seed is invalid or a member exists with other settings.
    """
    device = check_device(device)
    spec = VariantSpec(request.family, request.params, TrainingConfig.from_dict(request.training))
    members = seed_specs(spec, seeds, seed_param)
    for member in members:
        check_stored_settings(workspace.variant_paths(spec.family, member.variant_id), member)
    params = {
        **request.job_params(device),
        "seeds": [m.params[seed_param] for m in members],
        "seed_param": seed_param,
        "members": [m.variant_id for m in members],
    }
    job = JobStore(workspace.jobs_db).create(
        "train_seeds", request.family, members[0].variant_id, params
    )
    return _maybe_start(workspace, job, start)


def launch_analysis(
    workspace: Workspace,
    variant_id: str,
    analyzers: list[str] | None = None,
    start: bool = True,
    device: str | None = None,
    analyzer_params: dict[str, dict[str, Any]] | None = None,
) -> Job:
    """Record an analysis job for a trained variant and, with start, spawn it.

    analyzer_params: {analyzer: {parameter: value}} overrides of declared defaults.
    """
    from miscope_core.analysis.registry import get_analyzer

    family, paths = locate_variant(workspace, variant_id)
    if not list_checkpoint_epochs(paths):
        raise ValidationError(f"Variant {variant_id} has no checkpoints yet; train it first")
    for name in analyzers or []:
        get_analyzer(name)  # unknown names raise KeyError with close matches
    job = JobStore(workspace.jobs_db).create(
        "analyze",
        family,
        variant_id,
        {
            "analyzers": list(analyzers) if analyzers else None,
            "device": device,
            "analyzer_params": analyzer_params,
        },
    )
    return _maybe_start(workspace, job, start)


def cancel_job(workspace: Workspace, job_id: str) -> Job:
    """Ask a job to stop cooperatively (keeps every finished checkpoint and artifact)."""
    return JobStore(workspace.jobs_db).request_cancel(job_id)


def resume_job(workspace: Workspace, job_id: str, start: bool = True) -> Job:
    """Re-queue an interrupted, cancelled or failed job; training resumes from its state."""
    job = JobStore(workspace.jobs_db).requeue(job_id)
    return _maybe_start(workspace, job, start)


def list_jobs(workspace: Workspace, limit: int = 100) -> list[Job]:
    """Recent jobs, newest first (stale running jobs are marked interrupted first)."""
    store = JobStore(workspace.jobs_db)
    store.mark_stale_interrupted()
    return store.list(limit=limit)


def get_job(workspace: Workspace, job_id: str) -> Job:
    """One job record."""
    return JobStore(workspace.jobs_db).get(job_id)


def start_job(workspace: Workspace, job_id: object, reap: bool = False):
    """Spawn the process of a queued job nobody has claimed; returns the Popen.

    With MISCOPE_JOBS=celery the job is sent to the Celery workers instead and None is
    returned (services/celery_jobs.py).

    Refuses (KeyError / JobStateError) an id that is malformed, unknown, not queued or
    already claimed by a live process, so a repeated or forged start never runs a job twice;
    the job process's own claim settles any remaining race. With reap, a thread waits for
    the child so it never lingers as a zombie.
    """
    from services.celery_jobs import dispatch_job, job_backend
    from services.runner import spawn_job

    if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
        raise KeyError(f"No job {job_id!r}: job ids look like 20261202-001500-1a2b3c")
    JobStore(workspace.jobs_db).check_startable(job_id)
    if job_backend() == "celery":
        dispatch_job(workspace.root, job_id)
        return None
    process = spawn_job(job_id, workspace.root)
    if reap:
        threading.Thread(target=process.wait, name=f"reap-{job_id}", daemon=True).start()
    return process


def _maybe_start(workspace: Workspace, job: Job, start: bool) -> Job:
    if start:
        start_job(workspace, job.id, reap=True)
    return job


def training_form(family: str, preset: str | None = None) -> dict[str, Any]:
    """What a training form shows: parameter specs with the preset's values, training settings."""
    fam = get_family(family)
    chosen = preset or fam.default_preset
    params, config = fam.resolve(chosen)
    described = fam.describe()
    fields = [{**spec, "value": params[spec["name"]]} for spec in described["parameters"]]
    settings = [
        {"name": key, "value": _form_value(value)} for key, value in config.as_dict().items()
    ]
    return {
        "family": family,
        "preset": chosen,
        "presets": described["presets"],
        "parameters": fields,
        "training": settings,
    }


def _form_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return "full" if value is None else value
