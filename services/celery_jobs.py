"""The second job backend: Celery workers over Redis, on any machine that shares the data dir.

`MISCOPE_JOBS=celery` (with `MISCOPE_REDIS_URL`, default redis://127.0.0.1:6379/0) makes the
dashboard's background callbacks run on Celery (Dash's CeleryManager) and makes starting a job
send a `miscope.run_job` task instead of spawning a local process. The job records in
`jobs.sqlite` stay the source of truth: a task only runs a job it can claim, so a duplicate
delivery is harmless, and each worker runs a watchdog that marks a job whose process died as
interrupted, re-queues it and sends it again, so another worker resumes it from its resume
file (bit-identical to an unbroken run). docs/scaling.md has the commands.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import cache
from pathlib import Path

from services.jobs import JobConflictError, JobStateError, JobStore

log = logging.getLogger(__name__)
JOBS_ENV = "MISCOPE_JOBS"
REDIS_ENV = "MISCOPE_REDIS_URL"
BACKENDS = ("local", "celery")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
TASK_NAME = "miscope.run_job"
MAX_ATTEMPTS = 3  # a job that killed its worker this often is left interrupted for a person
WATCHDOG_S = 1.0
# Set by `miscope worker`: its own path to the shared data dir, which may be mounted at
# another path than on the machine that sent the job.
WORKER_DATA_ENV = "MISCOPE_WORKER_DATA_DIR"


def job_backend() -> str:
    """'local' (spawned job processes, the default) or 'celery', from $MISCOPE_JOBS."""
    value = os.environ.get(JOBS_ENV, "").strip().lower() or "local"
    if value not in BACKENDS:
        raise ValueError(
            f"{JOBS_ENV} must be one of {list(BACKENDS)}, got {value!r}; unset it for 'local'"
        )
    return value


def redis_url() -> str:
    """The broker and result backend: $MISCOPE_REDIS_URL, else the local default."""
    url = os.environ.get(REDIS_ENV, "").strip() or DEFAULT_REDIS_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"{REDIS_ENV} must be a redis:// URL, got {url!r}")
    return url


@cache
def celery_app(url: str | None = None):
    """The Celery application (one per URL and process) with the job task registered."""
    try:
        from celery import Celery
    except ImportError:
        raise RuntimeError(
            "The celery job backend needs the celery extra: `uv sync --extra celery`"
        ) from None
    url = url or redis_url()
    app = Celery("miscope", broker=url, backend=url)
    app.conf.update(
        # A task stays on the broker until it ends; a worker that dies returns it (the
        # claim in the job record keeps a second delivery from running it twice).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a busy worker does not hoard queued jobs
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @app.task(name=TASK_NAME)
    def run_job_task(job_id: str, data_dir: str) -> str:
        from services.runner import run_job

        data_dir = os.environ.get(WORKER_DATA_ENV) or data_dir
        recover_lost_jobs(data_dir)  # a redelivered task finds its job interrupted
        return run_job(job_id, data_dir, use_slots=False)

    return app


def dispatch_job(workspace_root: str | Path, job_id: str) -> None:
    """Send a queued job to the Celery workers."""
    celery_app().send_task(TASK_NAME, args=[job_id, str(workspace_root)])


def recover_lost_jobs(workspace_root: str | Path, dispatch: bool = True) -> list[str]:
    """Mark jobs whose process died interrupted, re-queue them and send them again.

    A job that has started MAX_ATTEMPTS times stays interrupted (it may be what kills its
    workers); `miscope jobs resume` or the Jobs page can still resume it.
    """
    from miscope_core.workspace import Workspace

    workspace = Workspace.open(workspace_root)
    root, store = workspace.root, JobStore(workspace.jobs_db)
    store.mark_stale_interrupted()
    resumed = []
    for job in reversed(store.list(limit=200, status=("interrupted",))):
        if job.attempts >= MAX_ATTEMPTS:
            continue
        try:
            store.requeue(job.id)
        except (JobConflictError, JobStateError):
            continue  # another watchdog won, or the variant is busy
        if dispatch:
            dispatch_job(root, job.id)
        log.warning("Job %s lost its worker; re-queued (attempt %d)", job.id, job.attempts + 1)
        resumed.append(job.id)
    return resumed


def start_watchdog(workspace_root: str | Path, interval_s: float = WATCHDOG_S) -> threading.Event:
    """A daemon thread running recover_lost_jobs every interval; set the event to stop it."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(interval_s):
            try:
                recover_lost_jobs(workspace_root)
            except Exception:  # a busy DB or broker must not kill the watchdog
                log.exception("Job watchdog sweep failed; retrying")

    threading.Thread(target=watch, name="miscope-job-watchdog", daemon=True).start()
    return stop


def _import_job_code() -> None:
    import torch
    import transformer_lens.model_bridge  # noqa: F401 - what building a model imports

    import miscope_core.analysis.pipeline  # noqa: F401
    import miscope_core.training.multiseed  # noqa: F401 - torch, the trainer, the group trainer

    # the first call imports torch's compiler stack (seconds); pay it before forking
    torch.use_deterministic_algorithms(torch.are_deterministic_algorithms_enabled())


def run_worker(workspace_root: str | Path, concurrency: int = 1, name: str | None = None) -> None:
    """Run a Celery worker for this workspace until it is stopped (blocks).

    The trainer's heavy imports happen once here, before the pool forks, so each job starts
    without paying them; the watchdog re-queues jobs whose worker died.
    """
    if not 1 <= int(concurrency) <= 256:
        raise ValueError(f"concurrency must be in 1..256 jobs, got {concurrency!r}")
    _import_job_code()

    start_watchdog(workspace_root)
    argv = ["worker", "--loglevel=INFO", f"--concurrency={int(concurrency)}"]
    if name:
        argv.append(f"--hostname={name}")
    celery_app().worker_main(argv)
