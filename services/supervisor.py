"""The server's job supervisor: no job record is left waiting for a process that never comes.

A page writes a job record and then asks a background callback to start it; if the browser
closes in between, the record would stay queued forever. A daemon thread in the server process
(`JobSupervisor`) therefore starts every queued job that no live process has claimed for a few
seconds, and marks running jobs whose process died as interrupted. At server start,
`resume_interrupted_jobs` puts interrupted jobs back in the queue, so a restart resumes them.
With MISCOPE_JOBS=celery the supervisor sends orphans to the Celery workers (once per server
process) and re-queues jobs whose worker died, as each worker's watchdog does.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from services.jobs import ORPHAN_AFTER_S, JobConflictError, JobStateError, JobStore

log = logging.getLogger(__name__)
SPAWN_PATIENCE_S = 20.0  # a process this supervisor spawned gets this long to claim its job


def resume_interrupted_jobs(workspace_root: str | Path) -> list[str]:
    """Mark dead running jobs interrupted, then requeue every interrupted job; return their ids."""
    from miscope_core.workspace import Workspace

    store = JobStore(Workspace.open(workspace_root).jobs_db, check=True)  # server start
    store.mark_stale_interrupted()
    resumed = []
    for job in reversed(store.list(limit=1000, status=("interrupted",))):  # oldest first
        try:
            store.requeue(job.id)
        except (JobConflictError, JobStateError) as exc:
            log.warning("Not resuming interrupted job %s: %s", job.id, exc)
            continue
        resumed.append(job.id)
    if resumed:
        log.warning("Resuming %d interrupted job(s) after a restart: %s", len(resumed), resumed)
    return resumed


class JobSupervisor:
    """A daemon thread that starts orphaned queued jobs and sweeps dead running ones."""

    def __init__(
        self, workspace_root: str | Path, interval_s: float = 1.0, grace_s: float = ORPHAN_AFTER_S
    ):
        self.root, self.interval_s, self.grace_s = Path(workspace_root), interval_s, grace_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started: dict[str, float] = {}  # job id -> when this supervisor spawned it

    def start(self) -> JobSupervisor:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="miscope-job-supervisor", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def tick(self) -> list[str]:
        """One sweep: mark dead jobs interrupted, start orphaned queued jobs; return started ids."""
        from miscope_core.workspace import Workspace
        from services.celery_jobs import job_backend, recover_lost_jobs
        from services.launch import start_job

        workspace = Workspace.open(self.root)
        store = JobStore(workspace.jobs_db)
        celery = job_backend() == "celery"
        if celery:  # a job whose worker died goes back to the workers
            recover_lost_jobs(workspace.root)
        store.mark_stale_interrupted()
        started, now = [], time.monotonic()
        # a job sent to Celery waits in the broker unclaimed: send it once per server
        patience = float("inf") if celery else SPAWN_PATIENCE_S
        self._started = {k: t for k, t in self._started.items() if now - t < patience}
        for job in store.orphans(self.grace_s):
            if job.id in self._started:
                continue  # spawned moments ago; its process may still be importing
            self._started[job.id] = now
            try:
                start_job(workspace, job.id, reap=True)
            except (KeyError, JobStateError):
                continue  # cancelled or claimed meanwhile
            log.info("Started job %s (queued with no process for %.0f s)", job.id, self.grace_s)
            started.append(job.id)
        return started

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception:  # a locked or damaged DB must not kill the supervisor
                log.exception("Job supervisor sweep failed; retrying")
