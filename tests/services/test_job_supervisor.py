"""Jobs never hang: orphaned queued jobs are started by the server, restarts resume, starts
are guarded, and a damaged Dash cache does not stop the server."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest

from app.components.executor import open_diskcache, start_and_wait
from miscope_core.workspace import Workspace
from services.jobs import JobStateError, JobStore, _pid_alive
from services.launch import launch_training, start_job, validate_training_request
from services.slots import try_acquire_slot
from services.supervisor import JobSupervisor, resume_interrupted_jobs

TINY = {"prime": 7, "train_fraction": 0.5, "seed": 0, "data_seed": 0}


def _queued_job(root, epochs: int = 10):
    request = validate_training_request("modulo_addition", "tiny", TINY, {"epochs": epochs})
    return launch_training(Workspace.open(root), request, start=False)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _wait_for(predicate, timeout: float) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "timed out"
        time.sleep(0.1)
    return time.monotonic() - started


def test_server_starts_a_job_whose_browser_went_away(tmp_path, monkeypatch):
    from app.server import create_app

    monkeypatch.setenv("MISCOPE_JOB_SLOTS", "1")
    busy = try_acquire_slot(tmp_path, 1)  # the one slot is taken: the job waits in line
    job = _queued_job(tmp_path)  # launched; the page's start callback never ran
    store = JobStore(tmp_path / "jobs.sqlite")
    app = create_app(tmp_path)
    supervisor = app.server.extensions["miscope_job_supervisor"]
    try:
        waited = _wait_for(lambda: store.get(job.id).pid is not None, 30)
        claimed = store.get(job.id)
        assert claimed.pid != os.getpid() and claimed.message == "waiting for a job slot"
        assert claimed.status_text == "queued, 1st in line"
        print(f"orphan claimed by pid {claimed.pid} {waited:.1f} s after the server started")
    finally:
        supervisor.stop()
        store.request_cancel(job.id)
        busy.release()
    assert store.get(job.id).status == "cancelled"
    _wait_for(lambda: not _pid_alive(claimed.pid), 10)  # its process noticed and left


def test_supervisor_starts_each_orphan_once(tmp_path):
    job = _queued_job(tmp_path)
    supervisor = JobSupervisor(tmp_path, grace_s=0)
    try:
        assert supervisor.tick() == [job.id]
        assert supervisor.tick() == []  # its process is still starting: not spawned twice
    finally:
        JobStore(tmp_path / "jobs.sqlite").request_cancel(job.id)


def test_restart_resumes_interrupted_jobs(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    crashed = store.create("train", "modulo_addition", "p7_a", {})
    store.mark_running(crashed.id)
    with store._transaction() as db:  # its process died with the server
        db.execute("UPDATE jobs SET pid=? WHERE id=?", (_dead_pid(), crashed.id))
    cancelled = store.create("train", "modulo_addition", "p7_b", {})
    store.request_cancel(cancelled.id)
    assert resume_interrupted_jobs(tmp_path) == [crashed.id]
    resumed = store.get(crashed.id)
    assert (resumed.status, resumed.pid) == ("queued", None)
    assert "process gone: interrupted" in resumed.log and "resume requested" in resumed.log
    assert store.get(cancelled.id).status == "cancelled"  # the user's cancel stands
    assert [j.id for j in store.orphans(grace_s=0)] == [crashed.id]  # the supervisor's to start


def test_start_is_refused_for_unknown_finished_or_claimed_jobs(tmp_path):
    workspace = Workspace.open(tmp_path)
    store = JobStore(workspace.jobs_db)
    with pytest.raises(KeyError, match="job ids look like"):
        start_job(workspace, "../../etc/passwd")
    with pytest.raises(KeyError, match="No job '20261202-000000-abcdef'"):
        start_job(workspace, "20261202-000000-abcdef")
    claimed = store.create("train", "modulo_addition", "p7_a", {})
    store.claim(claimed.id)  # this test process is its live claimant
    with pytest.raises(JobStateError, match="already being started"):
        start_job(workspace, claimed.id)
    done = store.create("train", "modulo_addition", "p7_b", {})
    store.request_cancel(done.id)
    with pytest.raises(JobStateError, match="cancelled, not queued"):
        start_job(workspace, done.id)
    outcome = start_and_wait(str(tmp_path), [done.id, {"forged": 1}, 7, claimed.id])
    assert set(outcome) == {done.id, claimed.id}
    assert "not queued" in outcome[done.id] and "already being started" in outcome[claimed.id]
    assert start_and_wait(str(tmp_path), {"id": done.id}) == {}


@pytest.mark.parametrize("how", ["random", "zero-filled"])
def test_damaged_dash_cache_is_moved_aside(tmp_path, caplog, how):
    cache = open_diskcache(tmp_path / "cache")
    cache.set("k", "v")
    cache.close()
    db = tmp_path / "cache" / "cache.db"
    size = db.stat().st_size
    db.write_bytes(os.urandom(size) if how == "random" else b"\0" * size)
    with caplog.at_level(logging.ERROR, logger="app.components.executor"):
        fresh = open_diskcache(tmp_path / "cache")
    assert fresh.get("k") is None
    fresh.set("k", "new")
    assert fresh.get("k") == "new"
    assert len(list(tmp_path.glob("cache.corrupt-*"))) == 1
    assert "cache.corrupt-" in caplog.text
