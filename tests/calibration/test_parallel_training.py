"""Calibration runs train and analyze in parallel processes, with the same result as one at a
time."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from miscope_core.calibration.runner import (
    CalibrationRun,
    analyze_run,
    prepare_in_parallel,
    variant_spec,
)
from miscope_core.io import read_json
from miscope_core.training.checkpoints import load_checkpoint
from miscope_core.training.trainer import train_variant
from miscope_core.workspace import Workspace


@pytest.mark.slow
def test_parallel_preparation_matches_a_sequential_run(tmp_path):
    runs = [
        CalibrationRun(
            "quick", "tiny", {"seed": s, "data_seed": s}, {"epochs": 10, "checkpoints": "every:5"}
        )
        for s in (0, 1)
    ]
    parallel = Workspace.open(tmp_path / "parallel")
    seconds = prepare_in_parallel(runs, parallel, "cpu", workers=2, log=lambda _: None)
    assert set(seconds) == {variant_spec(r).variant_id for r in runs}
    assert all(train_s > 0 and analyze_s > 0 for train_s, analyze_s in seconds.values())
    for run in runs:  # a worker analyzed each run with the run's own analyzer parameters
        spec = variant_spec(run)
        paths = parallel.variant_paths(spec.family, spec.variant_id)
        assert analyze_run(run, paths, "cpu").work_done == 0, spec.variant_id
    # No thread setting here: the trainer sets its own, so both sides compute alike.
    check_sequential_matches(runs, parallel, Workspace.open(tmp_path / "sequential"))


def check_sequential_matches(runs, parallel, sequential):
    for run in runs:
        spec = variant_spec(run)
        train_variant(spec, sequential, device="cpu")
        a = load_checkpoint(parallel.variant_paths(spec.family, spec.variant_id).checkpoints, 10)
        b = load_checkpoint(sequential.variant_paths(spec.family, spec.variant_id).checkpoints, 10)
        assert all(torch.equal(a[k], b[k]) for k in a), spec.variant_id


PREPARE_SCRIPT = """
import sys
from miscope_core.calibration.runner import CalibrationRun, prepare_in_parallel
from miscope_core.workspace import Workspace
runs = [CalibrationRun("quick", "tiny", {"seed": s, "data_seed": s},
                       {"epochs": 200000, "checkpoints": "every:100000"}) for s in (0, 1)]
prepare_in_parallel(runs, Workspace.open(sys.argv[1]), "cpu", workers=2)
"""


@pytest.mark.slow
def test_workers_stop_resumably_when_the_parent_is_killed(tmp_path):
    """SIGKILL of the calibrating process: each worker notices its parent is gone, saves its
    resume state, marks the variant 'cancelled' instead of training on alone, and exits."""
    variants = [
        Workspace.open(tmp_path).variant_paths(
            "modulo_addition",
            variant_spec(
                CalibrationRun(
                    "quick",
                    "tiny",
                    {"seed": s, "data_seed": s},
                    {"epochs": 200000, "checkpoints": "every:100000"},
                )
            ).variant_id,
        )
        for s in (0, 1)
    ]
    parent = subprocess.Popen([sys.executable, "-c", PREPARE_SCRIPT, str(tmp_path)])
    workers: list[int] = []
    try:
        check_workers_stop(parent, variants, workers)
    finally:  # a failed check must not leave 200,000 epochs training behind the test session
        for pid in {*workers, *children_of(parent.pid), parent.pid}:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        parent.wait(timeout=30)


def check_workers_stop(parent, variants, workers: list[int]) -> None:
    """Kill `parent` once both workers train; each must save, mark 'cancelled' and exit."""
    records = [paths.variant_json for paths in variants]
    deadline = time.time() + 120
    while not all(r.exists() for r in records) and time.time() < deadline:
        time.sleep(0.2)
    assert all(r.exists() for r in records), "the workers never started training"
    time.sleep(1.0)
    workers.extend(children_of(parent.pid))
    assert len(workers) >= 2, workers
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.time() + 60
    while time.time() < deadline and not all(
        read_json(r).get("status") == "cancelled" for r in records
    ):
        time.sleep(0.2)
    statuses = [read_json(r).get("status") for r in records]
    assert statuses == ["cancelled", "cancelled"], statuses
    assert all(paths.resume.exists() for paths in variants)
    deadline = time.time() + 30
    while time.time() < deadline and any(running(pid) for pid in workers):
        time.sleep(0.2)
    assert not any(running(pid) for pid in workers), "idle workers outlived their parent"


def children_of(pid: int) -> list[int]:
    """Live child processes of `pid` (Linux /proc)."""
    from pathlib import Path

    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def running(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    from pathlib import Path

    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
