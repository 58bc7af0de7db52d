"""Zoom-in retraining: a densified window is byte-identical to the same epochs of a dense run.

Acceptance test of issue 16 (`cmp` of the files); slow: two tiny trainings in the fixture.
"""

import filecmp
import shutil

import pytest

from miscope_core.checkpoint_names import (
    checkpoint_path,
    list_checkpoint_epochs,
    list_resume_point_epochs,
)
from miscope_core.families import ValidationError, get_family
from miscope_core.io import read_json
from miscope_core.training.densify import densify_variant, plan_densify
from miscope_core.training.trainer import ReplayDiverged, train_variant
from miscope_core.variants import VariantPaths, VariantSpec
from miscope_core.workspace import Workspace

FAMILY = get_family("modulo_addition")


DENSE = "0,3,4,5,10,13,15,17,19,20,30"  # a superset of every:10 holding the windows below


def spec(checkpoints: str, resume_every: int = 12, epochs: int = 30) -> VariantSpec:
    params, config = FAMILY.resolve(
        "tiny",
        params={"prime": 11},
        training={"epochs": epochs, "checkpoints": checkpoints, "resume_every": resume_every},
    )
    return VariantSpec("modulo_addition", params, config)


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sparse_and_dense(tmp_path_factory):
    """The same variant trained with checkpoints every 10 epochs and densely."""
    root = tmp_path_factory.mktemp("densify")
    sparse = train_variant(spec("every:10"), Workspace.open(root / "sparse"), device="cpu")
    dense = train_variant(spec(DENSE), Workspace.open(root / "dense"), device="cpu")
    return sparse.paths, dense.paths


def test_resume_points_are_kept_every_n_epochs(sparse_and_dense):
    sparse, _ = sparse_and_dense
    assert list_resume_point_epochs(sparse.checkpoints) == [12, 24]
    assert list_checkpoint_epochs(sparse.checkpoints) == [0, 10, 20, 30]


def test_densified_window_equals_dense_run_byte_for_byte(sparse_and_dense):
    sparse, dense = sparse_and_dense
    before = {p.name: p.stat().st_mtime_ns for p in sparse.root.iterdir() if p.is_file()}
    plan = plan_densify(sparse, 13, 19, 2)
    assert plan.new_epochs == [13, 15, 17, 19] and plan.replay_from == 12
    result = densify_variant(sparse, 13, 19, 2)
    assert result.status == "complete" and result.written == [13, 15, 17, 19]
    for epoch in result.written:
        new, reference = (checkpoint_path(p.checkpoints, epoch) for p in (sparse, dense))
        assert filecmp.cmp(new, reference, shallow=False), epoch
    # metrics, variant.json and the run's resume file are the original run's, untouched
    after = {p.name: p.stat().st_mtime_ns for p in sparse.root.iterdir() if p.is_file()}
    assert after == before
    assert read_json(sparse.variant_json)["epochs_completed"] == 30
    assert densify_variant(sparse, 13, 19, 2).status == "nothing_to_do"


def test_window_before_the_first_resume_point_replays_from_initialisation(sparse_and_dense):
    sparse, dense = sparse_and_dense
    result = densify_variant(sparse, 3, 5, 1)
    assert result.plan.replay_from == 0 and result.written == [3, 4, 5]
    for epoch in result.written:
        new, reference = (checkpoint_path(p.checkpoints, epoch) for p in (sparse, dense))
        assert filecmp.cmp(new, reference, shallow=False), epoch


def test_a_replay_that_drifts_stops_and_removes_what_it_wrote(sparse_and_dense, tmp_path):
    sparse, _ = sparse_and_dense
    copy = tmp_path / "copy"
    shutil.copytree(sparse.root, copy)
    paths = VariantPaths(copy)
    # epoch 10's weights saved as epoch 30 stand in for a run on another torch, device or
    # thread count: the replay writes 25..27, runs on to the next saved epoch and notices
    source = checkpoint_path(paths.checkpoints, 10).read_bytes()
    checkpoint_path(paths.checkpoints, 30).write_bytes(source)
    with pytest.raises(ReplayDiverged, match="epoch 30"):
        densify_variant(paths, 25, 27, 1)
    assert 25 not in list_checkpoint_epochs(paths.checkpoints)


def test_a_truncated_resume_point_is_skipped_for_the_one_before(sparse_and_dense, tmp_path):
    from miscope_core.checkpoint_names import resume_point_path

    sparse, dense = sparse_and_dense
    copy = tmp_path / "copy"
    shutil.copytree(sparse.root, copy)
    paths = VariantPaths(copy)
    for epoch in (13, 15, 17, 19):  # an earlier test may have densified this window already
        checkpoint_path(paths.checkpoints, epoch).unlink(missing_ok=True)
    damaged = resume_point_path(paths.checkpoints, 12)
    damaged.write_bytes(damaged.read_bytes()[:100])
    result = densify_variant(paths, 13, 19, 2)
    assert result.plan.replay_from == 0 and result.written == [13, 15, 17, 19]
    for epoch in result.written:
        new, reference = (checkpoint_path(p.checkpoints, epoch) for p in (paths, dense))
        assert filecmp.cmp(new, reference, shallow=False), epoch


@pytest.mark.parametrize(
    ("start", "stop", "every", "message"),
    [
        (30, 20, 1, "0 <= from < to <= 30"),
        (0, 31, 1, "0 <= from < to <= 30"),
        (0, 10, 0, "every must be >= 1"),
        (0, 10, 1.5, "every must be an integer"),
    ],
)
def test_absurd_windows_are_refused(sparse_and_dense, start, stop, every, message):
    with pytest.raises(ValidationError, match=message):
        plan_densify(sparse_and_dense[0], start, stop, every)


def test_resume_every_is_validated():
    with pytest.raises(ValidationError, match="resume_every"):
        spec("every:10", resume_every=-1)


def test_service_plan_takes_form_text_and_reports_disk_cost(sparse_and_dense):
    from services.densify import plan_densify_request, resume_points

    sparse, _ = sparse_and_dense
    workspace = Workspace.open(sparse.root.parents[2])
    plan = plan_densify_request(workspace, sparse.root.name, "1", " 2 ", "1")
    assert plan.new_epochs == [1, 2] and plan.replay_epochs == 2
    points = resume_points(workspace, sparse.root.name)
    assert points.epochs == [12, 24] and points.every == 12 and points.bytes > 0
    assert "every 12 epochs, 2 saved" in points.summary and "MiB on disk" in points.summary
    with pytest.raises(ValidationError, match="whole number of epochs, got 'x'"):
        plan_densify_request(workspace, sparse.root.name, "x", 5, 1)


def test_explore_densify_control_previews_the_plan(sparse_and_dense):
    from dash import Dash

    from app.components.densify import densify_card, plan_text, register_densify_callbacks

    sparse, _ = sparse_and_dense
    workspace = Workspace.open(sparse.root.parents[2])
    assert "densify-plan" in {getattr(c, "id", None) for c in densify_card([0, 10]).children}
    text = plan_text(workspace, sparse.root.name, 21, 22, 1)
    assert text.startswith("2 new checkpoints; replays 10 epochs from epoch 12.")
    assert "resume points: every 12 epochs, 2 saved" in text
    assert "0 <= from < to <= 30" in plan_text(workspace, sparse.root.name, 5, 99, 1)
    app = Dash(__name__)
    register_densify_callbacks(app, str(workspace.root))
    assert any("densify-plan.children" in key for key in app.callback_map)
