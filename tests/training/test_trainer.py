"""Training end to end on tiny real models: checkpoints, metrics, cancel, extend, exact resume."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from miscope_core.families import get_family
from miscope_core.io import read_json
from miscope_core.training.checkpoints import list_checkpoint_epochs, load_checkpoint
from miscope_core.training.trainer import load_metrics, train_variant
from miscope_core.variants import VariantSpec
from miscope_core.workspace import Workspace

FAMILY = get_family("modulo_addition")


def tiny_spec(epochs=30, checkpoints="every:10", **training):
    params, config = FAMILY.resolve("tiny", params={"prime": 11},
                                    training={"epochs": epochs, "checkpoints": checkpoints,
                                              **training})
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


TRAIN_SCRIPT = textwrap.dedent("""
    import sys
    from miscope_core.families import get_family
    from miscope_core.training.trainer import train_variant
    from miscope_core.variants import VariantSpec
    from miscope_core.workspace import Workspace
    fam = get_family("modulo_addition")
    params, config = fam.resolve("tiny", params={"prime": 11},
                                 training={"epochs": 400, "checkpoints": "every:50"})
    def progress(p):
        print(p.epoch, flush=True)
    train_variant(VariantSpec("modulo_addition", params, config), Workspace.open(sys.argv[1]),
                  device="cpu", on_progress=progress, resume_every_s=0.05)
""")


def run_training_subprocess(root, kill_after_epoch=None):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", TRAIN_SCRIPT, str(root)], env=env,
                            stdout=subprocess.PIPE, text=True)
    if kill_after_epoch is None:
        proc.communicate(timeout=300)
        assert proc.returncode == 0
        return None
    for line in proc.stdout:
        if int(line) >= kill_after_epoch:
            break
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return int(line)


@pytest.mark.slow
def test_sigkill_and_resume_gives_bit_identical_weights(tmp_path):
    run_training_subprocess(tmp_path / "straight")
    killed_at = run_training_subprocess(tmp_path / "killed", kill_after_epoch=170)
    spec = tiny_spec(epochs=400, checkpoints="every:50")
    paths = Workspace.open(tmp_path / "killed").variant_paths("modulo_addition", spec.variant_id)
    assert read_json(paths.variant_json)["status"] == "training", "the kill left it unfinished"
    assert 170 <= killed_at < 400
    run_training_subprocess(tmp_path / "killed")
    straight = Workspace.open(tmp_path / "straight").variant_paths("modulo_addition",
                                                                  spec.variant_id)
    for epoch in (200, 400):
        a = load_checkpoint(straight.checkpoints, epoch)
        b = load_checkpoint(paths.checkpoints, epoch)
        for key in a:
            assert torch.equal(a[key], b[key]), f"{key} differs at epoch {epoch}"
    np.testing.assert_array_equal(load_metrics(straight)["test_loss"],
                                  load_metrics(paths)["test_loss"])


def test_truncated_checkpoint_error_names_the_file(tmp_path):
    result = train_variant(tiny_spec(epochs=10), Workspace.open(tmp_path), device="cpu")
    target = result.paths.checkpoints / "epoch_000010.safetensors"
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(Exception, match="epoch_000010.safetensors"):
        load_checkpoint(result.paths.checkpoints, 10)
