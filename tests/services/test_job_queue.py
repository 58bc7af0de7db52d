"""The job queue: slots, one writer per variant, claims, queue positions, a damaged job DB."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from miscope_core.locking import VariantBusyError, variant_write_lock, variant_writer
from miscope_core.workspace import Workspace
from services.jobs import JobStateError, JobStore
from services.launch import launch_training, validate_training_request
from services.runner import run_job, spawn_job
from services.slots import job_slots, try_acquire_slot

TINY = {"prime": 7, "train_fraction": 0.5, "seed": 0, "data_seed": 0}
HOLD_LOCK = """
import sys, time
from miscope_core.locking import variant_write_lock
with variant_write_lock(sys.argv[1], owner=sys.argv[2]):
    print("held", flush=True)
    time.sleep(60)
"""


def _holder(root, owner: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(root), owner], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process


# --- slots ---------------------------------------------------------------------------------
def test_slots_are_limited_and_freed(tmp_path):
    first, second = try_acquire_slot(tmp_path, 2), try_acquire_slot(tmp_path, 2)
    assert {first.index, second.index} == {0, 1}
    assert try_acquire_slot(tmp_path, 2) is None
    second.release()
    third = try_acquire_slot(tmp_path, 2)
    assert third is not None and third.index == second.index


def test_slot_count_comes_from_env_or_cores(monkeypatch):
    monkeypatch.setenv("MISCOPE_THREADS", "1")
    monkeypatch.delenv("MISCOPE_JOB_SLOTS", raising=False)
    assert job_slots() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("MISCOPE_THREADS", "1000")
    assert job_slots() == 1  # never fewer than one slot
    monkeypatch.setenv("MISCOPE_JOB_SLOTS", "3")
    assert job_slots() == 3
    monkeypatch.setenv("MISCOPE_JOB_SLOTS", "zero")
    with pytest.raises(
        ValueError,
        match="MISCOPE_JOB_SLOTS must be a positive integer, got 'zero'",
    ):
        job_slots()


@pytest.mark.slow
def test_two_slots_run_three_real_jobs_two_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setenv("MISCOPE_JOB_SLOTS", "2")
    workspace = Workspace.open(tmp_path)
    jobs = []
    for seed in range(3):
        request = validate_training_request(
            "modulo_addition",
            "tiny",
            {**TINY, "seed": seed},
            {"epochs": 300, "checkpoints": "every:100"},
        )
        jobs.append(launch_training(workspace, request, start=False))
    store = JobStore(workspace.jobs_db)
    assert [store.get(j.id).status_text for j in jobs] == [
        "queued, 1st in line",
        "queued, 2nd in line",
        "queued, 3rd in line",
    ]
    processes = [spawn_job(j.id, tmp_path) for j in jobs]
    for process in processes:
        assert process.wait(timeout=300) == 0
    done = sorted((store.get(j.id) for j in jobs), key=lambda j: j.started)
    assert [j.status for j in done] == ["done"] * 3
    # the last one started only after one of the first two had finished: never three at once
    assert done[2].started >= min(done[0].finished, done[1].finished)


# --- one writer per variant ----------------------------------------------------------------
def test_lock_conflict_names_the_job_pid_and_time(tmp_path):
    holder = _holder(tmp_path / "p7_x", "job 20261202-000000-abcdef")
    try:
        assert variant_writer(tmp_path / "p7_x")["pid"] == holder.pid
        with pytest.raises(VariantBusyError) as info:
            with variant_write_lock(tmp_path / "p7_x", owner="job other"):
                pass
        message = str(info.value)
        assert message.startswith(
            f"p7_x is already being written by job 20261202-000000-abcdef "
            f"(pid {holder.pid}) since {time.strftime('%Y-%m-%d')}"
        )
    finally:
        holder.kill()
        holder.wait()
    assert variant_writer(tmp_path / "p7_x") is None  # SIGKILL released it
    with variant_write_lock(tmp_path / "p7_x", owner="job next"):
        assert variant_writer(tmp_path / "p7_x")["owner"] == "job next"


def test_job_on_a_locked_variant_fails_fast_with_the_holder(tmp_path):
    workspace = Workspace.open(tmp_path)
    request = validate_training_request("modulo_addition", "tiny", TINY, {"epochs": 20})
    job = launch_training(workspace, request, start=False)
    root = workspace.variant_paths("modulo_addition", request.variant_id).root
    holder = _holder(root, "job 20261202-000000-cli001")
    try:
        started = time.monotonic()
        assert run_job(job.id, tmp_path) == "failed"
        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()
    record = JobStore(workspace.jobs_db).get(job.id)
    assert (
        f"is already being written by job 20261202-000000-cli001 (pid {holder.pid})" in record.error
    )
    assert "Traceback" not in record.error


# --- claims, positions, stage ----------------------------------------------------------------
def test_a_job_is_claimed_by_one_process_only(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    job = store.create("train", "modulo_addition", "p7_x", {})
    assert [j.id for j in store.orphans(grace_s=0)] == [job.id]
    store.claim(job.id)
    assert store.orphans(grace_s=0) == []
    with pytest.raises(JobStateError, match=f"already being started by pid {os.getpid()}"):
        store.claim(job.id)
    with pytest.raises(KeyError, match="nope"):
        store.claim("nope")


def test_resume_clears_the_claim_and_requeues_at_the_back(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    first = store.create("train", "modulo_addition", "p7_a", {})
    second = store.create("train", "modulo_addition", "p7_b", {})
    store.claim(first.id)
    store.mark_running(first.id)
    store.mark_stale_interrupted(stale_after_s=-1)
    resumed = store.requeue(first.id)
    assert (resumed.status, resumed.pid, resumed.queue_position) == ("queued", None, 2)
    assert store.get(second.id).status_text == "queued, 1st in line"


def test_dead_cancelling_job_is_closed_as_cancelled(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    job = store.create("train", "modulo_addition", "p7_x", {})
    store.mark_running(job.id)
    store.request_cancel(job.id)
    assert store.mark_stale_interrupted(stale_after_s=-1) == []
    assert store.get(job.id).status == "cancelled"


def test_old_job_db_gains_the_new_columns(tmp_path):
    path = tmp_path / "jobs.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE jobs (id TEXT PRIMARY KEY, kind TEXT NOT NULL, family TEXT NOT NULL,
        variant_id TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL,
        progress REAL NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '', heartbeat REAL,
        created REAL NOT NULL, started REAL, finished REAL, error TEXT,
        log TEXT NOT NULL DEFAULT '', pid INTEGER, host TEXT,
        attempts INTEGER NOT NULL DEFAULT 0);
        INSERT INTO jobs (id, kind, family, variant_id, params, status, created)
        VALUES ('old', 'train_analyze', 'modulo_addition', 'p7_x', '{}', 'done', 5.0);
    """)
    db.commit()
    db.close()
    job = JobStore(path).get("old")
    assert (job.kind, job.stage, job.queued) == ("train_analyze", None, 5.0)


# --- a damaged job DB ----------------------------------------------------------------------
def _damage(path, how: str) -> None:
    size = path.stat().st_size
    if how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif how == "zero-filled":
        path.write_bytes(b"\0" * size)
    elif how == "random":
        path.write_bytes(os.urandom(size))
    else:  # non-UTF-8 text where the database was
        path.write_bytes(("caf\xe9 " * (size // 5)).encode("latin-1"))


@pytest.mark.parametrize("how", ["truncated", "zero-filled", "random", "non-utf8"])
def test_damaged_job_db_is_moved_aside_and_replaced(tmp_path, caplog, how):
    path = tmp_path / "jobs.sqlite"
    store = JobStore(path)
    for index in range(40):  # enough rows for several pages, so truncation loses some
        store.create("train", "modulo_addition", f"p7_{index}", {"pad": "x" * 400})
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    _damage(path, how)
    with caplog.at_level(logging.ERROR, logger="services.job_db"):
        fresh = JobStore(path, check=True)  # as the server does at start
    assert fresh.list() == []
    aside = list(tmp_path.glob("jobs.sqlite.corrupt-*"))
    assert [p.name for p in aside if not p.name.endswith(("-wal", "-shm"))]
    assert str(path) in caplog.text and "corrupt-" in caplog.text
    assert fresh.create("train", "modulo_addition", "p7_new", {}).status == "queued"


def test_non_utf8_text_in_a_record_does_not_break_listing(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    job = store.create("train", "modulo_addition", "p7_x", {})
    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    db.execute("UPDATE jobs SET message = CAST(X'fffe41' AS TEXT) WHERE id = ?", (job.id,))
    db.commit()
    db.close()
    assert store.get(job.id).message.endswith("A")


@pytest.mark.parametrize(
    "note", [b'{"owner": 5, "pid": "x", "since": "yesterday"}', b"\x00" * 40, b"\xff\xfe[1]"]
)
def test_busy_message_survives_a_damaged_lock_note(tmp_path, note):
    variant = tmp_path / "p7_x"
    variant.mkdir()
    with variant_write_lock(variant, owner="job first") as lock_path:
        lock_path.write_bytes(note)  # the flock holds; only the advisory note is damaged
        with pytest.raises(VariantBusyError, match="already being written by another process"):
            with variant_write_lock(variant, owner="job second"):
                pass
