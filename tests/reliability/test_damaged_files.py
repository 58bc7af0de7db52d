"""Every damaged file is contained, named and repaired where possible (issue 12, item 4).

One small real variant is trained and analyzed once for the module; each case copies it,
damages one kind of file one way, and checks the required outcome (see damage_matrix.py).
"""

from __future__ import annotations

import pytest

from tests.reliability.damage_matrix import DAMAGES, KINDS, build_base, run_case


@pytest.fixture(scope="module")
def base_workspace(tmp_path_factory):
    """A workspace with the matrix's trained, analyzed variant and a second trained one."""
    return build_base(tmp_path_factory.mktemp("damage_base"))


@pytest.fixture(scope="module")
def dash_app(base_workspace):
    """The dashboard over the base workspace (each case points it at its own copy)."""
    from app.server import create_app

    return create_app(base_workspace)


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_damaged_file_has_its_required_outcome(kind, damage, base_workspace, dash_app, tmp_path):
    outcome = run_case(base_workspace, tmp_path / "workspace", kind, damage, dash_app)
    assert outcome


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["checkpoint", "variant.json"])
def test_cli_names_the_damaged_file_without_traceback(kind, base_workspace, tmp_path):
    """`miscope analyze` runs a job process; its failure reaches the terminal as one line."""
    assert run_case(base_workspace, tmp_path / "workspace", kind, "truncated", cli=True)


def test_stale_temps_of_a_dead_writer_are_removed(tmp_path):
    import os
    import subprocess
    import sys

    from miscope_core.io import clean_stale_temps, scratch_directory, temp_owner_tag

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tag = temp_owner_tag().replace(f"~{os.getpid()}~", f"~{dead}~")
    left = tmp_path / "checkpoints" / f".resume.safetensors.{tag}abcd1234.tmp"
    left.parent.mkdir()
    left.write_bytes(b"half")
    scratch = tmp_path / ".tmp" / f"{tag}xyz"
    scratch.mkdir(parents=True)
    (scratch / "all.f32").write_bytes(b"rows")
    with scratch_directory(tmp_path) as mine:  # a live writer's scratch is kept
        removed = clean_stale_temps(tmp_path)
        assert mine.exists()
    assert sorted(removed) == sorted([left, scratch])
    assert not left.exists() and not scratch.exists()


def test_trajectory_scratch_stays_inside_the_workspace(base_workspace, tmp_path, monkeypatch):
    import shutil
    import tempfile

    from tests.reliability.damage_matrix import Case, analyze, damage_file

    system_tmp = tmp_path / "system_tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    shutil.copytree(base_workspace, tmp_path / "ws")
    case = Case(tmp_path / "ws", base_workspace, None, "zero_filled")
    damage_file(case.paths.artifacts / "parameters.trajectory/cross_epoch.npz", "zero_filled")
    report = analyze(case, ["parameters.trajectory"])
    assert "parameters.trajectory/cross_epoch" in report.derived
    assert list(system_tmp.iterdir()) == []
    assert list((case.paths.root / ".tmp").iterdir()) == []


def test_core_warnings_reach_the_job_log(tmp_path):
    """A resume fallback is logged by the core; a job's record (CLI, Jobs page) shows it."""
    import logging

    from services.jobs import JobStore
    from services.runner import _warnings_in_job_log

    store = JobStore(tmp_path / "jobs.sqlite")
    job = store.create("train", "modulo_addition", "p11_seed0_dseed0_tf0.5", {})
    lost = "Resume: resumed from checkpoint epoch 20 with the optimizer's moments reset"
    with _warnings_in_job_log(store, job.id):
        logging.getLogger("miscope_core.training.state").warning(lost)
    logging.getLogger("miscope_core.training.state").warning("after the job: not recorded")
    lines = store.get(job.id).log.splitlines()
    assert [line for line in lines if "warning: " in line] == [lines[-1]]
    assert lines[-1].endswith(f"warning: {lost}")
