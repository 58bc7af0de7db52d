"""A 'train_seeds' job: one job record trains several seeds in one process, through the runner."""

import pytest

from miscope_core.families import ValidationError
from miscope_core.io import read_json
from miscope_core.locking import variant_write_lock
from services.jobs import JobStore
from services.launch import launch_seed_group, validate_training_request
from services.runner import run_job
from services.workspace import Workspace

TRAINING = {"epochs": 12, "checkpoints": "every:6"}


def request():
    return validate_training_request("modulo_addition", "tiny", {"prime": 7}, TRAINING)


@pytest.mark.slow
def test_a_seed_group_job_writes_every_member(tmp_path):
    workspace = Workspace.open(tmp_path)
    job = launch_seed_group(workspace, request(), [3, 4], start=False, device="cpu")
    assert job.kind == "train_seeds" and job.params["members"][1].startswith("p7_seed4")
    assert run_job(job.id, tmp_path) == "done"
    done = JobStore(workspace.jobs_db).get(job.id)
    assert done.progress == 1.0 and "2 seeds together" in done.message
    for variant_id in job.params["members"]:
        record = read_json(workspace.variant_paths("modulo_addition", variant_id).variant_json)
        assert record["status"] == "complete" and record["epochs_completed"] == 12


def test_a_busy_member_fails_the_group_job_with_its_name(tmp_path):
    workspace = Workspace.open(tmp_path)
    job = launch_seed_group(workspace, request(), [3, 4], start=False, device="cpu")
    busy = workspace.variant_paths("modulo_addition", job.params["members"][1]).root
    with variant_write_lock(busy, owner="another job"):
        assert run_job(job.id, tmp_path) == "failed"
    error = JobStore(workspace.jobs_db).get(job.id).error
    assert "another job" in error and job.params["members"][1] in error


def test_bad_seeds_are_refused_before_a_record_is_written(tmp_path):
    workspace = Workspace.open(tmp_path)
    with pytest.raises(ValidationError, match="distinct"):
        launch_seed_group(workspace, request(), [1, 1], start=False)
    assert JobStore(workspace.jobs_db).list() == []
