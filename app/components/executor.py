"""Starting a job record from a page: a Dash background callback (DiskcacheManager, or
Dash's CeleryManager with MISCOPE_JOBS=celery, where it sends each job to the workers).

The background process starts the job in its own session and waits for it. Dash kills a
background callback's process when the page re-triggers it or a newer run replaces it; the job
itself survives that, reports through its durable record, and stops only on a cooperative
cancel (the record's status), so a reload, a second tab or a new launch never loses work.
Only ids of queued, unclaimed jobs start a process (`services.launch.start_job`); anything else
the browser sends is answered with the reason. If the browser closes before this callback
runs, the server's job supervisor starts the job within seconds.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from pathlib import Path

from dash import Input, Output, dcc, html

log = logging.getLogger(__name__)
MAX_IDS = 64  # one launch never names more jobs than this


def executor_stores(prefix: str) -> html.Div:
    """The stores a page writes a job id into (run) and the executor reports back on (done)."""
    return html.Div([dcc.Store(id=f"{prefix}-run"), dcc.Store(id=f"{prefix}-ran")])


def register_executor(app, data_dir: str, prefix: str) -> None:
    """Background callback: start the queued job(s) whose id (or ids) land in `<prefix>-run`."""

    @app.callback(
        Output(f"{prefix}-ran", "data"),
        Input(f"{prefix}-run", "data"),
        background=True,
        prevent_initial_call=True,
    )
    def execute(job_ids):
        return start_and_wait(data_dir, job_ids)


def start_and_wait(data_dir: str, job_ids) -> dict[str, object]:
    """Start each named queued job once and wait for it: {id: exit code or refusal reason}."""
    from services.jobs import JobStateError
    from services.launch import start_job
    from services.workspace import Workspace

    ids = [job_ids] if isinstance(job_ids, str) else job_ids
    if not isinstance(ids, list):
        return {}
    workspace, processes, outcome = Workspace.open(data_dir), {}, {}
    for job_id in dict.fromkeys(i for i in ids[:MAX_IDS] if isinstance(i, str)):
        try:
            process = start_job(workspace, job_id)
        except (KeyError, JobStateError) as exc:
            outcome[job_id] = str(exc.args[0] if exc.args else exc)
            continue
        if process is None:  # MISCOPE_JOBS=celery: a worker runs it; its record reports
            outcome[job_id] = "sent to the Celery workers"
        else:
            processes[job_id] = process
    return {**outcome, **{job_id: p.wait() for job_id, p in processes.items()}}


def open_diskcache(directory: str | Path):
    """The Dash background-callback cache; a damaged one is moved aside and recreated."""
    import diskcache

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        _check_cache_db(directory / "cache.db")
        return diskcache.Cache(str(directory))
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        aside = directory.with_name(f"{directory.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.move(str(directory), str(aside))
        log.error(
            "Background-job cache %s is damaged (%s); moved it to %s and started a fresh one",
            directory,
            exc,
            aside,
        )
        directory.mkdir(parents=True, exist_ok=True)
        return diskcache.Cache(str(directory))


def _check_cache_db(path: Path) -> None:
    if not path.exists():
        return
    db = sqlite3.connect(path, timeout=30)
    try:
        if db.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check of {path} failed")
    finally:
        db.close()
