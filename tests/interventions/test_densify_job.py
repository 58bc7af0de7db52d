"""`miscope densify` as a job: new checkpoints, then analysis of the new checkpoints only."""

import shutil

import pytest

from app.cli.main import main
from miscope_core.analysis.artifacts import ArtifactStore
from miscope_core.checkpoint_names import list_checkpoint_epochs
from miscope_core.workspace import Workspace
from services.jobs import JobStore

pytestmark = pytest.mark.slow


def test_densify_command_adds_checkpoints_and_analyzes_only_them(tiny_variant, tmp_path, capsys):
    workspace, paths = tiny_variant
    root = tmp_path / "ws"
    shutil.copytree(workspace.root, root)
    paths = Workspace.open(root).locate(paths.root.name)
    store = ArtifactStore(paths.artifacts)
    analyzers = sorted(store.read_manifest()["analyzers"])
    old = {p: p.stat().st_mtime_ns for p in paths.artifacts.rglob("epoch_*.npz")}

    args = ["densify", paths.root.name, "--from", "11", "--to", "14", "--data-dir", str(root)]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "4 new checkpoints in 11..14 every 1; replays 14 epochs from epoch 0" in out
    assert "none saved yet" in out
    assert main(args) == 0

    assert list_checkpoint_epochs(paths.checkpoints) == [0, 10, 11, 12, 13, 14, 20, 30, 40]
    job = JobStore(root / "jobs.sqlite").list(limit=1)[0]
    assert (job.kind, job.status) == ("densify", "done"), job.message
    manifest = ArtifactStore(paths.artifacts).read_manifest()["analyzers"]
    assert sorted(manifest) == analyzers
    for name, entry in manifest.items():
        if entry.get("kind") == "per_epoch":
            assert {"11", "12", "13", "14"} <= set(entry["epochs"]), name
    # the checkpoints analyzed before were not recomputed
    assert {p: p.stat().st_mtime_ns for p in old} == old
    assert main(args) == 2  # nothing left to densify: a usage error naming why
    assert "nothing to densify" in capsys.readouterr().err
