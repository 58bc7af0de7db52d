"""Opening `jobs.sqlite`: schema, migration of older files, and recovery from a damaged one.

A damaged job DB (truncated, zero-filled, random bytes, not a database) must never stop the
server: it is moved aside to `jobs.sqlite.corrupt-<timestamp>`, the move is logged with both
paths, and a fresh DB is created. Job records are bookkeeping; the results on disk are intact.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)
# WAL (the default) needs shared memory between the processes, so one host. Machines sharing
# the data dir over a network filesystem set this to "delete" (rollback journal, file locks)
# on every process: docs/scaling.md.
JOURNAL_ENV = "MISCOPE_JOB_DB_JOURNAL"
JOURNAL_MODES = ("wal", "delete")


def journal_mode() -> str:
    """The job DB's journal mode: $MISCOPE_JOB_DB_JOURNAL ('wal' or 'delete'), else 'wal'."""
    value = os.environ.get(JOURNAL_ENV, "").strip().lower() or "wal"
    if value not in JOURNAL_MODES:
        raise ValueError(
            f"{JOURNAL_ENV} must be one of {list(JOURNAL_MODES)}, got {value!r}; unset it "
            f"for 'wal' (one machine)"
        )
    return value


SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, family TEXT NOT NULL, variant_id TEXT NOT NULL,
    params TEXT NOT NULL, status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '', heartbeat REAL, created REAL NOT NULL, started REAL,
    finished REAL, error TEXT, log TEXT NOT NULL DEFAULT '', pid INTEGER, host TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_variant ON jobs (variant_id, status);
"""
# Columns added after the first release: (name, SQL type). Older files gain them on open.
ADDED_COLUMNS = (
    ("stage", "TEXT"),  # what the job is doing now: 'train' or 'analyze' (a field, not text)
    ("queued", "REAL"),  # when it entered the queue (created, or resumed): queue order
)


def connect(path: Path) -> sqlite3.Connection:
    """A connection that returns rows by name and never fails on a non-UTF-8 text value."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.text_factory = lambda raw: raw.decode("utf-8", "replace")
    return db


def open_job_db(path: Path, check: bool = False) -> None:
    """Create or migrate the DB at `path`; move a damaged one aside and start fresh.

    A file that is not a database is always caught; `check` also reads every page
    (`PRAGMA quick_check`), which finds truncation: done at server start, not per request.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _prepare(path, check)
    except sqlite3.DatabaseError as exc:
        with _recovery_lock(path):
            try:  # another process may have replaced it while we waited
                _prepare(path, check)
                return
            except sqlite3.DatabaseError:
                pass
            aside = move_aside(path)
            log.error(
                "Job database %s is damaged (%s); moved it to %s and started a fresh "
                "one. Results on disk are untouched.",
                path,
                exc,
                aside,
            )
            _prepare(path, check)


def _prepare(path: Path, check: bool) -> None:
    db = connect(path)
    try:
        if check and db.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("integrity check failed")
        db.execute(f"PRAGMA journal_mode={journal_mode().upper()}")
        db.executescript(SCHEMA)
        present = {row["name"] for row in db.execute("PRAGMA table_info(jobs)")}
        for name, sql_type in ADDED_COLUMNS:
            if name not in present:
                try:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {sql_type}")
                except sqlite3.OperationalError as exc:  # a concurrent opener added it first
                    if "duplicate column" not in str(exc):
                        raise
        if "queued" not in present:  # rows from before queue order existed
            db.execute("UPDATE jobs SET queued = created WHERE queued IS NULL")
    finally:
        db.close()


def move_aside(path: Path) -> Path:
    """Rename the DB (and its WAL/SHM side files) to `<name>.corrupt-<timestamp>`."""
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.rename(aside.with_name(aside.name + suffix))
    return aside


@contextmanager
def _recovery_lock(path: Path) -> Iterator[None]:
    lock = path.with_name(path.name + ".recover.lock")
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
