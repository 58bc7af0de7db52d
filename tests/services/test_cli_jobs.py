"""`miscope train` / `miscope analyze` run through the job records and runner, in the foreground."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from app.cli.main import main
from miscope_core.workspace import Workspace
from services.jobs import JobStore
from services.registry import list_checkpoint_epochs

TRAIN = [
    "train",
    "modulo_addition",
    "--preset",
    "tiny",
    "--param",
    "prime=7",
    "--param",
    "train_fraction=0.5",
]


@pytest.mark.slow
def test_cli_train_and_analyze_are_job_records(tmp_path, capsys):
    assert (
        main([*TRAIN, "--epochs", "20", "--checkpoints", "every:10", "--data-dir", str(tmp_path)])
        == 0
    )
    store = JobStore(tmp_path / "jobs.sqlite")
    [train] = store.list()
    assert (train.kind, train.status, train.stage, train.progress) == ("train", "done", "train", 1)
    assert train.pid != os.getpid()  # ran in the same job process the dashboard uses
    out = capsys.readouterr().out
    assert f"Job {train.id}" in out and "checkpoint epoch 20" in out and "done:" in out

    assert (
        main(
            [
                "analyze",
                train.variant_id,
                "--analyzers",
                "neurons.frequency_specialization",
                "--param",
                "neurons.frequency_specialization.threshold=0.5",
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    analyze = store.list()[0]
    assert (analyze.kind, analyze.status, analyze.stage) == ("analyze", "done", "analyze")
    assert analyze.params["analyzer_params"] == {
        "neurons.frequency_specialization": {"threshold": 0.5}
    }
    paths = Workspace.open(tmp_path).variant_paths("modulo_addition", train.variant_id)
    manifest = json.loads((paths.artifacts / "manifest.json").read_text())
    assert "neurons.frequency_specialization" in json.dumps(manifest)


def test_cli_refuses_a_variant_another_job_is_writing(tmp_path, capsys):
    from services.launch import validate_training_request

    request = validate_training_request(
        "modulo_addition", "tiny", {"prime": 7, "train_fraction": 0.5}, {"epochs": 20}
    )
    busy = JobStore(tmp_path / "jobs.sqlite").create(
        "train", "modulo_addition", request.variant_id, request.job_params()
    )
    assert main([*TRAIN, "--epochs", "20", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{request.variant_id} is already being written by train job {busy.id}" in err
    assert "Traceback" not in err


def test_cli_rejects_bad_job_slots(tmp_path, capsys):
    assert main([*TRAIN, "--job-slots", "0", "--data-dir", str(tmp_path)]) == 2
    assert "--job-slots must be a positive integer, got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_cancels_cleanly_and_keeps_checkpoints(tmp_path):
    command = [
        sys.executable,
        "-m",
        "app.cli.main",
        *TRAIN,
        "--epochs",
        "200000",
        "--checkpoints",
        "every:50",
        "--data-dir",
        str(tmp_path),
    ]
    cli = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = JobStore(tmp_path / "jobs.sqlite")
    deadline = time.time() + 240
    while time.time() < deadline:
        jobs = store.list()
        if jobs and "checkpoint epoch 100" in jobs[0].log:
            break
        time.sleep(0.3)
    else:
        cli.kill()
        pytest.fail(f"training never reached epoch 100: {cli.communicate()}")
    cli.send_signal(signal.SIGINT)
    out, err = cli.communicate(timeout=120)
    job = store.list()[0]
    assert cli.returncode == 130, (out, err)
    assert job.status == "cancelled" and "Traceback" not in err
    assert "Cancelling at the next epoch" in err and "cancelled:" in out
    paths = Workspace.open(tmp_path).variant_paths("modulo_addition", job.variant_id)
    assert list_checkpoint_epochs(paths)[:3] == [0, 50, 100]
