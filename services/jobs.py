"""Durable job records in SQLite (WAL): every training or analysis run, whoever launched it."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from services.job_db import connect, open_job_db

ACTIVE = ("queued", "running", "cancelling")
FINISHED = ("cancelled", "done", "failed", "interrupted")
RESUMABLE = ("cancelled", "failed", "interrupted")
JOB_KINDS = ("train", "analyze", "train_analyze", "densify", "train_seeds")
STALE_AFTER_S = 20.0
ORPHAN_AFTER_S = 3.0  # a queued job nobody claimed for this long is started by the server
LOG_LINES = 60


class JobConflictError(RuntimeError):
    """A second job would write the same variant while one is active."""


class JobStateError(RuntimeError):
    """An operation does not fit the job's status (e.g. resuming a finished job)."""


@dataclass(frozen=True)
class Job:
    """One job record, as plain data."""

    id: str
    kind: str
    family: str
    variant_id: str
    params: dict[str, Any]
    status: str
    progress: float
    message: str
    heartbeat: float | None
    created: float
    started: float | None
    finished: float | None
    error: str | None
    log: str
    pid: int | None
    host: str | None
    attempts: int
    stage: str | None = None
    queued: float | None = None
    queue_position: int | None = None  # 1 = next to start; computed on read, not stored

    @property
    def active(self) -> bool:
        """Queued, running or cancelling."""
        return self.status in ACTIVE

    @property
    def resumable(self) -> bool:
        """Can be resumed (interrupted, cancelled or failed)."""
        return self.status in RESUMABLE

    @property
    def status_text(self) -> str:
        """The status as a person reads it: 'queued, 2nd in line' while waiting."""
        if self.status == "queued" and self.queue_position:
            return f"queued, {_ordinal(self.queue_position)} in line"
        return self.status

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish (or to now while running)."""
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {**asdict(self), "duration_s": self.duration_s, "status_text": self.status_text}


class JobStore:
    """The jobs table of one workspace (`jobs.sqlite`)."""

    def __init__(self, path: str | Path, check: bool = False):
        """Open (creating or migrating) the DB; `check` runs a full integrity check first."""
        self.path = Path(path)
        open_job_db(self.path, check)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = connect(self.path)
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- creating and reading -----------------------------------------------------------
    def create(self, kind: str, family: str, variant_id: str, params: dict[str, Any]) -> Job:
        """Add a queued job; refuse when an active job already writes this variant."""
        if kind not in JOB_KINDS:
            raise ValueError(f"Unknown job kind {kind!r}; valid kinds: {list(JOB_KINDS)}")
        job_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        now = time.time()
        with self._transaction() as db:
            self._refuse_conflict(db, variant_id)
            db.execute(
                "INSERT INTO jobs (id, kind, family, variant_id, params, status, created, "
                "queued, log) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
                (
                    job_id,
                    kind,
                    family,
                    variant_id,
                    json.dumps(params),
                    now,
                    now,
                    _log_line(f"queued {kind} of {variant_id}"),
                ),
            )
        return self.get(job_id)

    def _refuse_conflict(self, db: sqlite3.Connection, variant_id: str, own: str = "") -> None:
        row = db.execute(
            f"SELECT id, kind, status FROM jobs WHERE variant_id = ? AND id != ? AND status IN "
            f"({','.join('?' * len(ACTIVE))})",
            (variant_id, own, *ACTIVE),
        ).fetchone()
        if row:
            raise JobConflictError(
                f"Variant {variant_id} is already being written by {row['kind']} job "
                f"{row['id']} ({row['status']}); wait for it or cancel it on the Jobs page"
            )

    def get(self, job_id: str) -> Job:
        """One job; an unknown id raises KeyError."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (str(job_id),)).fetchone()
            if row is None:
                raise KeyError(f"No job {job_id!r} in {self.path}")
            positions = self._queue_positions(db) if row["status"] == "queued" else {}
        return _with_position(_job_from_row(row), positions)

    def list(
        self, limit: int = 100, variant_id: str | None = None, status: tuple[str, ...] | None = None
    ) -> list[Job]:
        """Jobs, newest first, optionally for one variant or some statuses."""
        query, args = "SELECT * FROM jobs WHERE 1=1", []
        if variant_id:
            query, args = query + " AND variant_id = ?", [variant_id]
        if status:
            query += f" AND status IN ({','.join('?' * len(status))})"
            args += list(status)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY created DESC LIMIT ?", (*args, limit)).fetchall()
            positions = self._queue_positions(db)
        return [_with_position(_job_from_row(r), positions) for r in rows]

    def _queue_positions(self, db: sqlite3.Connection) -> dict[str, int]:
        rows = db.execute(
            "SELECT id FROM jobs WHERE status = 'queued' ORDER BY queued, created"
        ).fetchall()
        return {row["id"]: index for index, row in enumerate(rows, start=1)}

    def active_for(self, variant_id: str) -> Job | None:
        """The active job writing a variant, if any."""
        jobs = self.list(limit=1, variant_id=variant_id, status=ACTIVE)
        return jobs[0] if jobs else None

    # --- the running job's side -----------------------------------------------------------
    def claim(self, job_id: str) -> Job:
        """Make this process the one that runs a queued job; refuse if another live one has it.

        This is what keeps a job to one process however many starters race (the page's
        start callback, the server's supervisor, a resume click).
        """
        with self._transaction() as db:
            job = self._row(db, job_id)
            if job.status != "queued":
                raise JobStateError(f"Job {job_id} is {job.status}, not queued; not starting it")
            if _claimant_alive(job, socket.gethostname(), time.time()):
                raise JobStateError(
                    f"Job {job_id} is already being started by pid {job.pid} on {job.host}"
                )
            db.execute(
                "UPDATE jobs SET pid=?, host=?, heartbeat=?, message=? WHERE id=?",
                (os.getpid(), socket.gethostname(), time.time(), "waiting for a job slot", job_id),
            )
        return self.get(job_id)

    def check_startable(self, job_id: str) -> Job:
        """The job if it exists, is queued and no live process has claimed it; else raise."""
        with self._connect() as db:
            job = self._row(db, job_id)
        if job.status != "queued":
            raise JobStateError(f"Job {job_id} is {job.status}, not queued; not starting it")
        if _claimant_alive(job, socket.gethostname(), time.time()):
            raise JobStateError(f"Job {job_id} is already being started by pid {job.pid}")
        return job

    def waiting_ahead(self, job_id: str) -> int:
        """Queued jobs ahead of this one whose process is alive and waiting for a slot."""
        host, now = socket.gethostname(), time.time()
        with self._connect() as db:
            own = self._row(db, job_id)
            rows = db.execute(
                "SELECT * FROM jobs WHERE status='queued' AND id != ? AND "
                "(queued < ? OR (queued = ? AND created < ?))",
                (job_id, own.queued, own.queued, own.created),
            ).fetchall()
        return sum(_claimant_alive(_job_from_row(r), host, now) for r in rows)

    def orphans(self, grace_s: float = ORPHAN_AFTER_S) -> list[Job]:
        """Queued jobs that no live process has claimed for `grace_s` seconds (oldest first)."""
        host, now = socket.gethostname(), time.time()
        jobs = self.list(limit=1000, status=("queued",))
        return sorted(
            (
                j
                for j in jobs
                if not _claimant_alive(j, host, now) and now - (j.queued or j.created) >= grace_s
            ),
            key=lambda j: j.queued or 0,
        )

    def mark_running(self, job_id: str) -> Job:
        """Start a queued job in this process; a job cancelled before it started stays so."""
        with self._transaction() as db:
            job = self._row(db, job_id)
            if job.status != "queued":
                raise JobStateError(f"Job {job_id} is {job.status}, not queued; not starting it")
            if job.pid not in (None, os.getpid()) and _claimant_alive(
                job, socket.gethostname(), time.time()
            ):
                raise JobStateError(f"Job {job_id} is claimed by pid {job.pid}; not starting it")
            now = time.time()
            db.execute(
                "UPDATE jobs SET status='running', started=?, heartbeat=?, pid=?, "
                "host=?, attempts=attempts+1, finished=NULL, error=NULL, message='', "
                "log=? WHERE id=?",
                (now, now, os.getpid(), socket.gethostname(), _append(job.log, "started"), job_id),
            )
        return self.get(job_id)

    def set_stage(self, job_id: str, stage: str) -> None:
        """Record what the job is doing now ('train' or 'analyze')."""
        if stage not in ("train", "analyze"):
            raise ValueError(f"stage must be 'train' or 'analyze', got {stage!r}")
        with self._connect() as db:
            db.execute("UPDATE jobs SET stage=? WHERE id=?", (stage, job_id))

    @staticmethod
    def _row(db: sqlite3.Connection, job_id: str) -> Job:
        row = db.execute("SELECT * FROM jobs WHERE id = ?", (str(job_id),)).fetchone()
        if row is None:
            raise KeyError(f"No job {job_id!r}")
        return _job_from_row(row)

    def report(
        self,
        job_id: str,
        progress: float | None = None,
        message: str | None = None,
        log: str | None = None,
    ) -> None:
        """Record progress (0..1), a status message and/or a log line; refreshes the heartbeat."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT progress, message, log FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                return
            db.execute(
                "UPDATE jobs SET progress=?, message=?, log=?, heartbeat=? WHERE id=?",
                (
                    row["progress"] if progress is None else float(progress),
                    row["message"] if message is None else message,
                    row["log"] if log is None else _append(row["log"], log),
                    time.time(),
                    job_id,
                ),
            )

    def beat(self, job_id: str) -> None:
        """Refresh the heartbeat only."""
        with self._connect() as db:
            db.execute("UPDATE jobs SET heartbeat=? WHERE id=?", (time.time(), job_id))

    def cancel_requested(self, job_id: str) -> bool:
        """Whether someone asked this job to stop (the trainer and pipeline poll this)."""
        with self._connect() as db:
            row = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row is None or row["status"] == "cancelling"

    def finish(self, job_id: str, status: str, message: str = "", error: str | None = None):
        """Close a job as done, cancelled or failed."""
        if status not in ("done", "cancelled", "failed"):
            raise ValueError(f"finish status must be done, cancelled or failed, got {status!r}")
        with self._transaction() as db:
            log = db.execute("SELECT log FROM jobs WHERE id=?", (job_id,)).fetchone()["log"]
            db.execute(
                "UPDATE jobs SET status=?, message=?, error=?, finished=?, heartbeat=?, "
                "progress=CASE WHEN ?='done' THEN 1 ELSE progress END, log=? WHERE id=?",
                (
                    status,
                    message,
                    error,
                    time.time(),
                    time.time(),
                    status,
                    _append(log, f"{status}: {message or error or ''}"),
                    job_id,
                ),
            )

    # --- the user's side ------------------------------------------------------------------
    def request_cancel(self, job_id: str) -> Job:
        """Ask a job to stop: a queued job is cancelled at once, a running one at its next check."""
        with self._transaction() as db:
            job = self._row(db, job_id)
            if job.status == "queued":
                db.execute(
                    "UPDATE jobs SET status='cancelled', finished=?, log=? WHERE id=?",
                    (time.time(), _append(job.log, "cancelled before start"), job_id),
                )
            elif job.status == "running":
                db.execute(
                    "UPDATE jobs SET status='cancelling', log=? WHERE id=?",
                    (_append(job.log, "cancel requested"), job_id),
                )
            elif job.status != "cancelling":
                raise JobStateError(
                    f"Job {job_id} is {job.status}; only queued or running jobs can be cancelled"
                )
        return self.get(job_id)

    def requeue(self, job_id: str) -> Job:
        """Put an interrupted, cancelled or failed job back in the queue (resume)."""
        with self._transaction() as db:
            job = self._row(db, job_id)
            if job.status not in RESUMABLE:
                raise JobStateError(
                    f"Job {job_id} is {job.status}; only {list(RESUMABLE)} jobs can be resumed"
                )
            self._refuse_conflict(db, job.variant_id, own=job_id)
            db.execute(
                "UPDATE jobs SET status='queued', error=NULL, pid=NULL, host=NULL, "
                "queued=?, message='queued (resume)', log=? WHERE id=?",
                (time.time(), _append(job.log, "resume requested"), job_id),
            )
        return self.get(job_id)

    def mark_stale_interrupted(self, stale_after_s: float = STALE_AFTER_S) -> list[str]:
        """Running jobs whose heartbeat stopped (or whose local process is gone) -> interrupted.

        A job that was being cancelled when its process died is closed as cancelled: the
        user asked it to stop, and its state on disk is as resumable as after any cancel.
        """
        now, host, found = time.time(), socket.gethostname(), []
        with self._transaction() as db:
            rows = db.execute("SELECT * FROM jobs WHERE status IN ('running', 'cancelling')")
            for job in map(_job_from_row, rows.fetchall()):
                dead = job.host == host and job.pid is not None and not _pid_alive(job.pid)
                if not (dead or now - (job.heartbeat or 0) > stale_after_s):
                    continue
                status = "cancelled" if job.status == "cancelling" else "interrupted"
                if status == "interrupted":
                    found.append(job.id)
                db.execute(
                    "UPDATE jobs SET status=?, finished=?, message=?, log=? WHERE id=?",
                    (
                        status,
                        now,
                        f"process stopped; {status}, resumable",
                        _append(job.log, f"process gone: {status}"),
                        job.id,
                    ),
                )
        return found


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as dead
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _claimant_alive(job: Job, host: str, now: float) -> bool:
    """Whether the process that claimed a queued job still exists (heartbeat if remote)."""
    if job.pid is None:
        return False
    if job.host == host:
        return _pid_alive(job.pid)
    return now - (job.heartbeat or 0) <= STALE_AFTER_S


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _with_position(job: Job, positions: dict[str, int]) -> Job:
    return replace(job, queue_position=positions.get(job.id)) if job.id in positions else job


def _log_line(text: str) -> str:
    return f"{time.strftime('%H:%M:%S')} {text}"


def _append(log: str, text: str) -> str:
    lines = (log.splitlines() if log else []) + [_log_line(text)]
    return "\n".join(lines[-LOG_LINES:])


def _job_from_row(row: sqlite3.Row | None) -> Job:
    if row is None:
        raise KeyError("No such job")
    data = dict(row)
    data["params"] = json.loads(data["params"])
    return Job(**data)
