"""Sweeps through the services and the CLI: table, progress, resume, cancel, one scheduler."""

from __future__ import annotations

import shutil

import pytest

from app.cli.main import main
from miscope_core.locking import variant_write_lock
from miscope_core.sweeps import load_sweep, set_sweep_cancelled
from miscope_core.workspace import Workspace
from services.compare import sweep_table
from services.jobs import JobConflictError, JobStore
from services.sweeps import (
    _lock_dir,
    cancel_sweep,
    plan_sweep,
    resume_sweep,
    run_sweep,
    sweep_launches,
    sweep_progress,
)
from tests.conftest import TINY_SWEEP

CLI_SWEEP = [
    "sweep",
    "modulo_addition",
    "--grid",
    "prime=7,11",
    "--grid",
    "train_fraction=0.5,0.7",
    "--seeds",
    "0-3",
    "--preset",
    "tiny",
    "--epochs",
    "20",
    "--checkpoints",
    "0,10,20",
]


@pytest.fixture
def sweep_copy(tiny_sweep, tmp_path):
    """A private copy of the trained tiny sweep's workspace."""
    workspace, spec = tiny_sweep
    shutil.copytree(workspace.root, tmp_path / "ws")
    return Workspace.open(tmp_path / "ws"), spec


def test_the_cli_plans_the_same_sweep_as_the_record(tiny_sweep):
    _, spec = tiny_sweep
    plan = plan_sweep("modulo_addition", CLI_SWEEP[3:6:2], "0-3", "tiny", TINY_SWEEP["training"])
    assert plan.sweep_id == spec.sweep_id and len(plan.variant_ids) == 16
    assert plan.estimate_s > 0


def test_sweep_table_has_a_row_per_variant_with_outcome(tiny_sweep):
    workspace, spec = tiny_sweep
    rows = sweep_table(workspace, spec.sweep_id)
    assert [r["variant"] for r in rows] == [v.variant_id for v in spec.variant_specs()]
    first = rows[0]
    assert (first["prime"], first["train_fraction"], first["seed"]) == (7, 0.5, 0)
    assert first["epochs"] == "20/20" and first["outcome"] == "no grokking"
    assert {"memorized", "generalization", "cleanup_start", "final_test_accuracy"} <= set(first)


def test_a_finished_sweep_has_nothing_to_launch_and_reruns_at_once(sweep_copy, capsys):
    workspace, spec = sweep_copy
    record = load_sweep(workspace, spec.sweep_id)
    assert sweep_launches(workspace, record) == []
    assert main([*CLI_SWEEP, "--data-dir", str(workspace.root)]) == 0
    out = capsys.readouterr().out
    assert "16 variants" in out and "16 done" in out
    assert JobStore(workspace.jobs_db).list() == []  # nothing was missing, nothing ran


def test_missing_variants_are_what_a_rerun_launches(sweep_copy):
    workspace, spec = sweep_copy
    gone = spec.variant_specs()[5].variant_id
    shutil.rmtree(workspace.variant_paths("modulo_addition", gone).root)
    launches = sweep_launches(workspace, load_sweep(workspace, spec.sweep_id))
    assert [(x.variant_id, x.kind) for x in launches] == [(gone, "train")]
    progress = sweep_progress(workspace, spec.sweep_id)
    assert progress["counts"] == {"done": 15, "pending": 1}


def test_cancelled_sweep_starts_nothing_until_resumed(sweep_copy):
    workspace, spec = sweep_copy
    shutil.rmtree(
        workspace.variant_paths("modulo_addition", spec.variant_specs()[0].variant_id).root
    )
    assert cancel_sweep(workspace, spec.sweep_id) == []
    final = run_sweep(workspace, spec.sweep_id, poll_s=0.05)
    assert final["cancelled"] and final["counts"]["pending"] == 1
    assert JobStore(workspace.jobs_db).list() == []
    assert not resume_sweep(workspace, spec.sweep_id, start=False)["cancelled"]


def test_one_scheduler_per_sweep(sweep_copy):
    workspace, spec = sweep_copy
    with variant_write_lock(_lock_dir(workspace, spec.sweep_id), owner="another scheduler"):
        with pytest.raises(JobConflictError, match="already being run"):
            run_sweep(workspace, spec.sweep_id)


def test_cli_errors_are_usage_errors(tmp_path, capsys):
    code = main(["sweep", "modulo_addition", "--seeds", "5-2", "--data-dir", str(tmp_path)])
    assert code == 2 and "runs backwards" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_rerun_trains_the_missing_variant_through_the_job_runner(sweep_copy, capsys):
    workspace, spec = sweep_copy
    gone = spec.variant_specs()[-1].variant_id
    shutil.rmtree(workspace.variant_paths("modulo_addition", gone).root)
    set_sweep_cancelled(workspace, spec.sweep_id, True)  # a rerun clears an old cancel
    assert main([*CLI_SWEEP, "--data-dir", str(workspace.root)]) == 0
    jobs = JobStore(workspace.jobs_db).list()
    assert [(j.variant_id, j.status) for j in jobs] == [(gone, "done")]
    assert sweep_progress(workspace, spec.sweep_id)["counts"] == {"done": 16}
