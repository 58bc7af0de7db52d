"""Job records: durable across restarts, conflicts refused, killed jobs interrupted and resumed."""

from __future__ import annotations

import os
import signal
import time

import pytest

from miscope_core.families import ValidationError
from miscope_core.workspace import Workspace
from services.jobs import JobConflictError, JobStateError, JobStore
from services.launch import (
    cancel_job,
    launch_training,
    list_jobs,
    resume_job,
    validate_training_request,
)
from services.registry import list_checkpoint_epochs, variant_state
from services.runner import run_job

TINY = {"prime": 7, "train_fraction": 0.5, "seed": 0, "data_seed": 0}


def test_records_survive_a_new_store(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    job = store.create("train", "modulo_addition", "p7_x", {"a": 1})
    store.report(job.id, 0.25, "epoch 5/20", log="checkpoint epoch 5")
    reopened = JobStore(tmp_path / "jobs.sqlite").get(job.id)
    assert (reopened.status, reopened.progress, reopened.params) == ("queued", 0.25, {"a": 1})
    assert "checkpoint epoch 5" in reopened.log


def test_second_job_on_same_variant_is_refused(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    first = store.create("train", "modulo_addition", "p7_x", {})
    with pytest.raises(JobConflictError, match=first.id):
        store.create("analyze", "modulo_addition", "p7_x", {})
    store.create("train", "modulo_addition", "p7_other", {})  # another variant is fine


def test_cancel_queued_and_resume_rules(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    job = store.create("train", "modulo_addition", "p7_x", {})
    assert store.request_cancel(job.id).status == "cancelled"
    with pytest.raises(JobStateError, match="cancelled"):
        store.request_cancel(job.id)
    assert store.requeue(job.id).status == "queued"


def test_stale_heartbeat_marks_interrupted(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite")
    job = store.create("train", "modulo_addition", "p7_x", {})
    store.mark_running(job.id)
    assert store.mark_stale_interrupted(stale_after_s=60) == []
    assert store.mark_stale_interrupted(stale_after_s=-1) == [job.id]
    assert store.get(job.id).status == "interrupted"


@pytest.mark.parametrize(
    "params, training, message",
    [
        ({"prime": 100}, {}, "prime must be a prime number"),
        ({"primes": 7}, {}, "Unknown parameter"),
        ({"prime": "seven"}, {}, "prime must be an integer"),
        ({}, {"epochs": 0}, "epochs must be a positive integer"),
        ({}, {"checkpoints": "every:x"}, "not valid"),
    ],
)
def test_validation_errors_name_the_value(params, training, message):
    with pytest.raises(ValidationError, match=message):
        validate_training_request("modulo_addition", "tiny", params, training)


def test_unknown_family_is_a_validation_error():
    with pytest.raises(ValidationError, match="Unknown family.*miscope families"):
        validate_training_request("modulo_subtraction")


def test_training_job_runs_to_done_in_process(tmp_path):
    workspace = Workspace.open(tmp_path)
    request = validate_training_request(
        "modulo_addition", "tiny", TINY, {"epochs": 20, "checkpoints": "every:10"}
    )
    job = launch_training(workspace, request, start=False)
    assert JobStore(workspace.jobs_db).get(job.id).stage is None
    assert run_job(job.id, tmp_path) == "done"
    assert JobStore(workspace.jobs_db).get(job.id).stage == "train"  # a field, not message text
    paths = workspace.variant_paths("modulo_addition", request.variant_id)
    assert list_checkpoint_epochs(paths) == [0, 10, 20]
    assert variant_state(workspace, "modulo_addition", request.variant_id).state == "trained"


@pytest.mark.slow
def test_killed_job_is_interrupted_and_resumes_to_completion(tmp_path):
    workspace = Workspace.open(tmp_path)
    request = validate_training_request(
        "modulo_addition", "tiny", TINY, {"epochs": 1000, "checkpoints": "every:250"}
    )
    job = launch_training(workspace, request, start=True)
    store = JobStore(workspace.jobs_db)
    deadline = time.time() + 120
    while store.get(job.id).progress < 0.3 and time.time() < deadline:
        time.sleep(0.2)
    assert store.get(job.id).status == "running"
    os.kill(store.get(job.id).pid, signal.SIGKILL)
    time.sleep(0.5)
    assert [j.status for j in list_jobs(workspace)] == ["interrupted"]  # restart-time sweep
    resumed = resume_job(workspace, job.id, start=False)
    assert resumed.status == "queued"
    assert run_job(job.id, tmp_path) == "done"
    final = store.get(job.id)
    assert final.attempts == 2 and final.progress == 1.0
    paths = workspace.variant_paths("modulo_addition", request.variant_id)
    assert list_checkpoint_epochs(paths) == list(range(0, 1001, 250))


@pytest.mark.slow
def test_cooperative_cancel_keeps_checkpoints(tmp_path):
    workspace = Workspace.open(tmp_path)
    request = validate_training_request(
        "modulo_addition", "tiny", TINY, {"epochs": 3000, "checkpoints": "every:100"}
    )
    job = launch_training(workspace, request, start=True)
    store = JobStore(workspace.jobs_db)
    deadline = time.time() + 240  # importing torch alone takes a minute on a busy machine
    while store.get(job.id).progress < 0.1 and time.time() < deadline:
        time.sleep(0.2)
    assert store.get(job.id).progress >= 0.1, store.get(job.id)
    cancel_job(workspace, job.id)
    deadline = time.time() + 60  # its own budget: the trainer checks the flag every epoch
    while store.get(job.id).status == "cancelling" and time.time() < deadline:
        time.sleep(0.2)
    assert store.get(job.id).status == "cancelled"
    paths = workspace.variant_paths("modulo_addition", request.variant_id)
    assert len(list_checkpoint_epochs(paths)) >= 3


@pytest.mark.slow
def test_demo_job_trains_analyzes_then_is_reused(tmp_path):
    from app.server import start_demo_job

    job_id = start_demo_job(tmp_path, preset="tiny")
    store = JobStore(Workspace.open(tmp_path).jobs_db)
    assert start_demo_job(tmp_path, preset="tiny") == job_id  # still running: same job
    deadline = time.time() + 900  # training plus the whole default battery, on a busy CPU
    while store.get(job_id).active and time.time() < deadline:
        time.sleep(0.5)
    job = store.get(job_id)
    assert job.status == "done", job.error
    state = variant_state(Workspace.open(tmp_path), "modulo_addition", job.variant_id)
    assert state.state == "analyzed", state.detail
    assert start_demo_job(tmp_path, preset="tiny") is None  # everything exists: reused
