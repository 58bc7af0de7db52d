"""Zoom-in retraining as a job: plan a window, launch it, run it, then analyze the new checkpoints.

The densify job re-trains from the nearest exact resume point (miscope_core.training.densify),
then runs the analyzers the variant already has, with the parameters they were run with, so
the incremental pipeline computes the new checkpoints only (the summary and cross-epoch tiers,
which span every checkpoint, are rebuilt).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from miscope_core.checkpoint_names import list_resume_point_epochs, resume_points_bytes
from miscope_core.families import ValidationError
from miscope_core.training.densify import DensifyPlan, plan_densify
from miscope_core.workspace import Workspace
from services.jobs import Job, JobStore
from services.registry import locate_variant


@dataclass(frozen=True)
class ResumePoints:
    """The exact resume states a variant keeps for densify, and their disk cost."""

    variant_id: str
    epochs: list[int]
    bytes: int
    every: int | None

    @property
    def summary(self) -> str:
        """One line for the CLI and the Explore page."""
        every = f"every {self.every} epochs" if self.every else "none kept"
        if not self.epochs:
            return f"resume points: {every}; none saved yet (densify replays from epoch 0)"
        return (
            f"resume points: {every}, {len(self.epochs)} saved "
            f"({self.bytes / 2**20:.1f} MiB on disk)"
        )


def resume_points(workspace: Workspace, variant_id: str) -> ResumePoints:
    """Which exact resume states a variant keeps and what they cost on disk."""
    _, paths = locate_variant(workspace, variant_id)
    record = workspace.read_variant_record(paths)
    every = record.get("training", {}).get("resume_every")
    return ResumePoints(
        variant_id,
        list_resume_point_epochs(paths.checkpoints),
        resume_points_bytes(paths.checkpoints),
        every if isinstance(every, int) else None,
    )


def plan_densify_request(
    workspace: Workspace, variant_id: str, start: Any, stop: Any, every: Any
) -> DensifyPlan:
    """Validate a densify window (form or CLI input) and say what it would add and cost."""
    _, paths = locate_variant(workspace, variant_id)
    return plan_densify(
        paths, _integer("from", start), _integer("to", stop), _integer("every", every)
    )


def launch_densify(
    workspace: Workspace,
    variant_id: str,
    start: Any,
    stop: Any,
    every: Any,
    analyze: bool = True,
    start_job: bool = True,
) -> Job:
    """Record a densify job (refused when the window adds nothing) and, with start_job, run it."""
    from services.launch import start_job as spawn

    family, _ = locate_variant(workspace, variant_id)
    plan = plan_densify_request(workspace, variant_id, start, stop, every)
    if not plan.new_epochs:
        raise ValidationError(
            f"Every epoch of {plan.start}..{plan.stop} every {plan.every} already has a "
            f"checkpoint; nothing to densify"
        )
    params = {"start": plan.start, "stop": plan.stop, "every": plan.every, "analyze": analyze}
    job = JobStore(workspace.jobs_db).create("densify", family, variant_id, params)
    if start_job:
        spawn(workspace, job.id, reap=True)
    return job


def run_densify_job(job: Job, workspace: Workspace, store: JobStore) -> tuple[str, str]:
    """The job process's side: replay the window, then analyze what it added."""
    from miscope_core.analysis.recorded import recorded_analyzers
    from miscope_core.training.densify import densify_variant
    from services.runner import _analyze, _Reporter

    paths = workspace.variant_paths(job.family, job.variant_id)
    p = job.params
    store.set_stage(job.id, "train")  # a replay of training
    reporter = _Reporter(store, job.id)
    share = 0.6 if p.get("analyze") else 1.0

    def on_progress(progress) -> None:
        message = f"densify: epoch {progress.epoch}/{progress.epochs}"
        log = f"checkpoint epoch {progress.epoch} written" if progress.checkpoint_saved else None
        reporter.report(share * progress.epoch / max(progress.epochs, 1), message, log)

    result = densify_variant(
        paths, p["start"], p["stop"], p["every"], on_progress, reporter.should_stop
    )
    message = (
        f"densified {p['start']}..{p['stop']} every {p['every']}: {len(result.written)} new "
        f"checkpoints, replayed from epoch {result.plan.replay_from}"
    )
    if result.status == "cancelled":
        return "cancelled", f"{message}; cancelled (written checkpoints kept)"
    if not p.get("analyze") or not result.written:
        return "done", message
    names, params = recorded_analyzers(paths)
    if not names:
        return "done", f"{message}; no analysis to extend"
    store.set_stage(job.id, "analyze")
    analysis_job = replace(job, params={"analyzers": names, "analyzer_params": params})
    status, analysis = _analyze(analysis_job, workspace, store, start=share)
    return status, f"{message}; {analysis}"


def _integer(name: str, value: Any) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(
            f"densify {name} must be a whole number of epochs, got {value!r}"
        ) from None
    return number
