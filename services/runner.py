"""Executing a job record: training and/or analysis, with progress, heartbeat and cancel.

`run_job` runs in a job process (a Dash background-callback process, a spawned subprocess or
a test); it is the only place that imports torch (through the trainer and the pipeline).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import traceback
from contextlib import ExitStack, contextmanager
from pathlib import Path

from miscope_core.io import CorruptFileError
from miscope_core.locking import VariantBusyError, variant_write_lock
from miscope_core.workspace import Workspace
from services.jobs import Job, JobStateError, JobStore
from services.slots import SLOTS_ENV, THREADS_ENV, Slot, job_slots, job_threads, try_acquire_slot

HEARTBEAT_S = 2.0
REPORT_EVERY_S = 0.5
SLOT_POLL_S = 0.25


def run_job(job_id: str, data_dir: str | Path | None = None, use_slots: bool = True) -> str:
    """Claim a queued job, wait for a slot, hold the variant's write lock, run it to its end.

    Without use_slots (a Celery worker, whose concurrency is its slot count) the job starts
    at once. Returns the final status. A job another live process has claimed, or that is no longer
    queued, is left alone (its current status is returned).
    """
    workspace = Workspace.open(data_dir)
    store = JobStore(workspace.jobs_db)
    try:
        job = store.claim(job_id)
    except JobStateError:
        return store.get(job_id).status
    stop_beating = _start_heartbeat(store, job_id)
    try:
        _run_claimed(job, workspace, store, use_slots)
    finally:
        stop_beating.set()
    return store.get(job_id).status


def _run_claimed(job: Job, workspace: Workspace, store: JobStore, use_slots: bool) -> None:
    try:
        with _write_locks(job, workspace):
            slot = _wait_for_slot(job.id, workspace, store) if use_slots else _NO_SLOT
            if slot is None:
                return  # cancelled while queued
            try:
                store.mark_running(job.id)
                _apply_thread_budget()  # imports torch: seconds, so look at the cancel flag after
                if store.cancel_requested(job.id):
                    status, message = "cancelled", "cancelled before it began; resumable"
                else:
                    with _warnings_in_job_log(store, job.id):
                        status, message = _dispatch(job, workspace, store)
                store.finish(job.id, status, message)
            finally:
                slot.release()
    except JobStateError:
        return
    except BaseException as exc:  # the record must say why the job died
        store.finish(job.id, "failed", error=_describe_failure(exc))
        if not isinstance(exc, Exception):
            raise


@contextmanager
def _write_locks(job: Job, workspace: Workspace):
    """Hold the write lock of every variant the job writes (a seed group writes several)."""
    with ExitStack() as stack:
        for variant_id in job.params.get("members") or [job.variant_id]:
            root = workspace.variant_paths(job.family, variant_id).root
            stack.enter_context(variant_write_lock(root, owner=f"job {job.id}"))
        yield


@contextmanager
def _warnings_in_job_log(store: JobStore, job_id: str):
    """Core warnings (a damaged file, a resume fallback and what it lost) go to the job log."""

    class ToJobLog(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                store.report(job_id, log=f"warning: {record.getMessage()}")
            except Exception:  # a busy DB must not fail the job over a log line
                self.handleError(record)

    handler = ToJobLog(logging.WARNING)
    core = logging.getLogger("miscope_core")
    core.addHandler(handler)
    try:
        yield
    finally:
        core.removeHandler(handler)


class _NoSlot:
    """Stands in for a slot when the job's runner (a Celery worker) limits concurrency itself."""

    def release(self) -> None:
        """Nothing to free."""


_NO_SLOT = _NoSlot()


def _wait_for_slot(job_id: str, workspace: Workspace, store: JobStore) -> Slot | None:
    """Wait in line (first come, first served) until a slot is free; None if cancelled."""
    while True:
        if store.get(job_id).status != "queued":
            return None
        if store.waiting_ahead(job_id) == 0:
            slot = try_acquire_slot(workspace.root)
            if slot is not None:
                return slot
        time.sleep(SLOT_POLL_S)


def _apply_thread_budget() -> None:
    import torch

    torch.set_num_threads(job_threads())


def _describe_failure(exc: BaseException) -> str:
    if isinstance(exc, VariantBusyError | CorruptFileError):  # the message says it all
        return str(exc)
    return f"{type(exc).__name__}: {exc}\n" + traceback.format_exc(limit=6)[-1500:]


def spawn_job(job_id: str, data_dir: str | Path | None = None) -> subprocess.Popen:
    """Run a job in a detached Python process with the job's thread budget in its env."""
    workspace = Workspace.open(data_dir)
    threads = str(job_threads())
    env = {
        **os.environ,
        THREADS_ENV: threads,
        SLOTS_ENV: str(job_slots()),
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }
    log = open(workspace.root / "jobs.log", "ab")  # noqa: SIM115 - owned by the child
    return subprocess.Popen(
        [sys.executable, "-m", "services.job_process", job_id, str(workspace.root)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
        cwd=str(Path(__file__).resolve().parents[1]),
    )


def _start_heartbeat(store: JobStore, job_id: str) -> threading.Event:
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                store.beat(job_id)
            except Exception:  # a locked DB must not kill the job; the next beat retries
                pass

    threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True).start()
    return stop


def _dispatch(job: Job, workspace: Workspace, store: JobStore) -> tuple[str, str]:
    if job.kind == "train":
        store.set_stage(job.id, "train")
        return _train(job, workspace, store, share=1.0)
    if job.kind == "analyze":
        store.set_stage(job.id, "analyze")
        return _analyze(job, workspace, store, start=0.0)
    if job.kind == "densify":
        from services.densify import run_densify_job

        return run_densify_job(job, workspace, store)
    if job.kind == "train_seeds":
        store.set_stage(job.id, "train")
        return _train_seeds(job, workspace, store)
    store.set_stage(job.id, "train")
    status, message = _train(job, workspace, store, share=0.6)
    if status != "done":
        return status, message
    if store.cancel_requested(job.id):
        return "cancelled", f"{message}; cancelled before analysis; resumable"
    store.set_stage(job.id, "analyze")
    return _analyze(job, workspace, store, start=0.6)


class _Reporter:
    """Throttles progress writes to the record; polls the cancel flag."""

    def __init__(self, store: JobStore, job_id: str):
        self.store, self.job_id = store, job_id
        self.last_report = self.last_poll = 0.0
        self.stop = False

    def report(self, progress: float, message: str, log: str | None = None, force=False):
        now = time.monotonic()
        if force or log or now - self.last_report >= REPORT_EVERY_S:
            self.store.report(self.job_id, progress, message, log)
            self.last_report = now

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self.last_poll >= 0.2:
            self.stop = self.store.cancel_requested(self.job_id)
            self.last_poll = now
        return self.stop


def _job_spec(job: Job):
    from miscope_core.families import TrainingConfig
    from miscope_core.variants import VariantSpec

    return VariantSpec(
        job.family, job.params["params"], TrainingConfig.from_dict(job.params["training"])
    )


def _progress_reporter(reporter: _Reporter, share: float):
    """A trainer progress callback that reports to the job record (a log line per checkpoint)."""

    def on_progress(p) -> None:
        loss = p.metrics.get("train_loss", float("nan"))
        test = p.metrics.get("test_accuracy", float("nan"))
        message = f"training: epoch {p.epoch}/{p.epochs}"
        log = (
            f"checkpoint epoch {p.epoch}: train loss {loss:.4g}, test accuracy {test:.3f}"
            if p.checkpoint_saved
            else None
        )
        reporter.report(share * p.epoch / max(p.epochs, 1), message, log)

    return on_progress


def _train(job: Job, workspace: Workspace, store: JobStore, share: float) -> tuple[str, str]:
    from miscope_core.training.trainer import train_variant

    reporter = _Reporter(store, job.id)
    result = train_variant(
        _job_spec(job),
        workspace,
        device=job.params.get("device"),
        on_progress=_progress_reporter(reporter, share),
        should_stop=reporter.should_stop,
    )
    if result.status == "cancelled":
        return "cancelled", f"cancelled at epoch {result.epochs_completed}; resumable"
    if result.status == "already_complete":
        return "done", (
            f"already trained to epoch {result.epochs_completed}; pass a larger epochs to extend it"
        )
    return "done", (
        f"trained to epoch {result.epochs_completed}, {len(result.checkpoint_epochs)} checkpoints"
    )


def _train_seeds(job: Job, workspace: Workspace, store: JobStore) -> tuple[str, str]:
    from miscope_core.training.multiseed import train_seeds_together

    reporter = _Reporter(store, job.id)
    results = train_seeds_together(
        _job_spec(job),
        job.params["seeds"],
        workspace,
        device=job.params.get("device"),
        on_progress=_progress_reporter(reporter, 1.0),
        should_stop=reporter.should_stop,
        seed_param=job.params.get("seed_param", "seed"),
    )
    statuses = {r.status for r in results}
    failed = [r.variant_id for r in results if r.status == "failed"]
    summary = f"{len(results)} seeds together, epoch {results[0].epochs_completed}"
    if "cancelled" in statuses:
        return "cancelled", f"{summary}: cancelled; resumable"
    if failed:
        return "failed", f"{summary}: loss diverged in {failed}"
    return "done", f"{summary}: trained"


def _analyze(job: Job, workspace: Workspace, store: JobStore, start: float) -> tuple[str, str]:
    from miscope_core.analysis.pipeline import AnalysisProgress, run_analysis

    paths = workspace.variant_paths(job.family, job.variant_id)
    reporter = _Reporter(store, job.id)
    reporter.report(start, "analysis: loading", "analysis started", force=True)

    def on_progress(p: AnalysisProgress) -> None:
        fraction = p.done / max(p.total, 1)
        if p.stage == "checkpoints":
            progress = start + (1 - start) * 0.9 * fraction
        else:
            progress = start + (1 - start) * (0.9 + 0.1 * fraction)
        reporter.report(progress, f"analysis: {p.stage} {p.done}/{p.total} ({p.message})")

    report = run_analysis(
        paths,
        analyzers=job.params.get("analyzers"),
        params=job.params.get("analyzer_params"),
        device=job.params.get("device"),
        on_progress=on_progress,
        should_stop=reporter.should_stop,
    )
    if report.status == "cancelled":
        return "cancelled", "analysis cancelled; finished artifacts kept; resumable"
    for name, reason in report.skipped.items():
        reporter.report(1.0, f"skipped {name}", f"skipped {name}: {reason}")
    for path in report.recovered:
        reporter.report(1.0, "recomputed damaged artifact", f"recomputed damaged artifact {path}")
    skipped = f", skipped {sorted(report.skipped)}" if report.skipped else ""
    return "done", (
        f"analysis complete: {report.work_done} files written in {report.seconds:.1f} s{skipped}"
    )
