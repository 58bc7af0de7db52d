"""Training end to end on tiny real models: checkpoints, metrics, cancel, extend, exact resume."""

import numpy as np
import pytest
import torch

from miscope_core.families import get_family
from miscope_core.io import read_json, save_npz_atomic, write_json_atomic
from miscope_core.training.checkpoints import list_checkpoint_epochs, load_checkpoint
from miscope_core.training.determinism import THREADS_ENV, resolve_threads
from miscope_core.training.trainer import TrainingDiverged, load_metrics, train_variant
from miscope_core.variants import VariantSpec
from miscope_core.workspace import Workspace

FAMILY = get_family("modulo_addition")


def tiny_spec(epochs=30, checkpoints="every:10", **training):
    params, config = FAMILY.resolve(
        "tiny",
        params={"prime": 11},
        training={"epochs": epochs, "checkpoints": checkpoints, **training},
    )
    return VariantSpec("modulo_addition", params, config)


def test_training_writes_checkpoints_metrics_and_record(tmp_path):
    workspace = Workspace.open(tmp_path)
    result = train_variant(tiny_spec(), workspace, device="cpu")
    assert result.status == "complete"
    assert list_checkpoint_epochs(result.paths.checkpoints) == [0, 10, 20, 30]
    metrics = load_metrics(result.paths)
    assert len(metrics["train_loss"]) == 31 and not np.isnan(metrics["test_loss"]).any()
    assert metrics["train_loss"][0] == pytest.approx(np.log(11), abs=0.3)
    assert metrics["train_loss"][-1] < metrics["train_loss"][0]
    record = read_json(result.paths.variant_json)
    assert record["status"] == "complete" and record["epochs_completed"] == 30
    assert record["probe"]["hash"] == FAMILY.build_probe(record["params"]).hash
    state = load_checkpoint(result.paths.checkpoints, 30)
    assert torch.count_nonzero(state["blocks.0.mlp.in.bias"]) == 0, "biases stay frozen at 0"


def test_rerun_reports_complete_and_longer_run_extends(tmp_path):
    workspace = Workspace.open(tmp_path)
    train_variant(tiny_spec(), workspace, device="cpu")
    again = train_variant(tiny_spec(), workspace, device="cpu")
    assert again.status == "already_complete"
    longer = train_variant(tiny_spec(epochs=50), workspace, device="cpu")
    assert longer.status == "complete" and longer.variant_id == again.variant_id
    assert list_checkpoint_epochs(longer.paths.checkpoints) == [0, 10, 20, 30, 40, 50]
    straight = train_variant(tiny_spec(epochs=50), Workspace.open(tmp_path / "b"), device="cpu")
    for key, value in load_checkpoint(straight.paths.checkpoints, 50).items():
        assert torch.equal(value, load_checkpoint(longer.paths.checkpoints, 50)[key]), key


def test_training_overrides_make_a_distinct_variant(tmp_path):
    base, other = tiny_spec(), tiny_spec(weight_decay=0.5)
    assert base.variant_id != other.variant_id and other.variant_id.startswith(base.variant_id)


def test_cancel_keeps_checkpoints_and_resumes(tmp_path):
    workspace = Workspace.open(tmp_path)
    calls = {"n": 0}

    def stop_after_15():
        calls["n"] += 1
        return calls["n"] > 15

    result = train_variant(tiny_spec(), workspace, device="cpu", should_stop=stop_after_15)
    assert result.status == "cancelled"
    assert list_checkpoint_epochs(result.paths.checkpoints) == [0, 10]
    assert read_json(result.paths.variant_json)["status"] == "cancelled"
    finished = train_variant(tiny_spec(), workspace, device="cpu")
    assert finished.status == "complete"


def test_truncated_checkpoint_error_names_the_file(tmp_path):
    result = train_variant(tiny_spec(epochs=10), Workspace.open(tmp_path), device="cpu")
    target = result.paths.checkpoints / "epoch_000010.safetensors"
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(Exception, match="epoch_000010.safetensors"):
        load_checkpoint(result.paths.checkpoints, 10)


def test_variant_record_shows_the_epoch_reached_while_training(tmp_path):
    seen = []

    def look(progress):
        if progress.checkpoint_saved and progress.epoch in (10, 20):
            record = read_json(paths.variant_json)
            seen.append((progress.epoch, record["status"], record["epochs_completed"]))

    spec = tiny_spec()
    paths = Workspace.open(tmp_path).variant_paths(spec.family, spec.variant_id)
    train_variant(spec, Workspace.open(tmp_path), device="cpu", on_progress=look)
    assert seen == [(10, "training", 11), (20, "training", 21)]


def test_nan_loss_fails_the_run_and_names_the_epoch(tmp_path):
    spec = tiny_spec(epochs=20, lr=10)  # the largest lr the resolver accepts diverges here
    with pytest.raises(TrainingDiverged, match=r"loss became NaN at epoch \d+"):
        train_variant(spec, Workspace.open(tmp_path), device="cpu")
    paths = Workspace.open(tmp_path).variant_paths(spec.family, spec.variant_id)
    record = read_json(paths.variant_json)
    assert record["status"] == "failed" and "loss became NaN" in record["error"]


def test_threads_come_from_the_environment_and_stay_with_the_variant(tmp_path, monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "2")
    calls = {"n": 0}

    def stop_after_5():
        calls["n"] += 1
        return calls["n"] > 5

    result = train_variant(
        tiny_spec(), Workspace.open(tmp_path), device="cpu", should_stop=stop_after_5
    )
    assert read_json(result.paths.variant_json)["threads"] == 2
    monkeypatch.delenv(THREADS_ENV)
    train_variant(tiny_spec(), Workspace.open(tmp_path), device="cpu")
    assert read_json(result.paths.variant_json)["threads"] == 2, "a resume keeps its count"


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_thread_setting_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(THREADS_ENV, value)
    with pytest.raises(ValueError, match=f"{THREADS_ENV} must be a whole number.*{value}"):
        resolve_threads()


def test_kill_before_the_final_metrics_redoes_the_last_epoch(tmp_path):
    result = train_variant(tiny_spec(epochs=20), Workspace.open(tmp_path), device="cpu")
    full = load_metrics(result.paths)
    # what a kill after the last resume save but before the final writes leaves behind
    save_npz_atomic(result.paths.metrics, {k: v[:20] for k, v in full.items()})
    record = read_json(result.paths.variant_json)
    write_json_atomic(result.paths.variant_json, {**record, "status": "training"})
    again = train_variant(tiny_spec(epochs=20), Workspace.open(tmp_path), device="cpu")
    assert again.status == "complete"
    for key, values in load_metrics(result.paths).items():
        np.testing.assert_array_equal(values, full[key], err_msg=key)
