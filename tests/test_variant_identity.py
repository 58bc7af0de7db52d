"""Variant ids: lossless, canonical across front ends, and guarded against resuming a mismatch."""

import pytest

from miscope_core.families import ValidationError, format_id_number, get_family
from miscope_core.specs import resolve_variant_spec
from miscope_core.training.records import RunEnvironment, write_variant_record
from miscope_core.training.trainer import train_variant
from miscope_core.variants import VariantSpec, check_stored_settings
from miscope_core.workspace import Workspace
from services.jobs import JobStore
from services.launch import launch_training, validate_training_request

CPU = RunEnvironment.current("cpu", 1)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.4, "0.4"),
        (0.3, "0.3"),
        (0.5, "0.5"),
        (1e-05, "1e-05"),
        (2.0, "2"),
        (0.4958676, "0.4958676"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e20, "1e20"),
    ],
)
def test_id_numbers_are_lossless_and_keep_exact_values_short(value, text):
    assert format_id_number(value) == text
    assert float(text) == value


def test_existing_ids_are_unchanged_for_exact_values():
    assert resolve_variant_spec("modulo_addition", "quick").variant_id == (
        "p59_seed999_dseed598_tf0.4"
    )
    assert resolve_variant_spec("modulo_addition", "canonical").variant_id == (
        "p113_seed999_dseed598_tf0.3"
    )
    assert resolve_variant_spec("modulo_addition", "tiny").variant_id == "p13_seed0_dseed0_tf0.5"
    assert (
        resolve_variant_spec("modulo_addition", "quick", overrides={"weight_decay": 2.0}).variant_id
        == "p59_seed999_dseed598_tf0.4_t0d928304"
    )


def test_nearby_train_fractions_get_different_ids():
    first = resolve_variant_spec("modulo_addition", "quick", {"train_fraction": 0.4958676})
    second = resolve_variant_spec("modulo_addition", "quick", {"train_fraction": 0.4958679})
    assert first.variant_id == "p59_seed999_dseed598_tf0.4958676"
    assert second.variant_id == "p59_seed999_dseed598_tf0.4958679"


@pytest.mark.parametrize("weight_decay", [2, 2.0, "2", "2.0", " 2 "])
def test_typed_values_are_canonical_whatever_the_front_end(weight_decay):
    cli = resolve_variant_spec(
        "modulo_addition",
        "quick",
        {"prime": "59"},
        {"weight_decay": weight_decay, "betas": "0.9,0.98"},
    )
    form = validate_training_request(
        "modulo_addition",
        "quick",
        {"prime": 59.0},
        {
            "weight_decay": 2.0,
            "betas": "0.9, 0.98",
            "batch_size": "full",
            "lr": 0.001,
            "checkpoints": "default",
            "epochs": 3500,
        },
    )
    assert cli.variant_id == form.variant_id == "p59_seed999_dseed598_tf0.4_t0d928304"
    assert isinstance(cli.training.weight_decay, float) and isinstance(cli.params["prime"], int)


def test_default_settings_typed_as_ints_keep_the_plain_id():
    spec = resolve_variant_spec("modulo_addition", "quick", overrides={"weight_decay": 1})
    assert spec.variant_id == "p59_seed999_dseed598_tf0.4"


def _collided(tmp_path):
    """A variant dir at the id of tf=0.495868 whose record says 0.4958676 (the old lossy id)."""
    workspace = Workspace.open(tmp_path / "ws")
    requested = resolve_variant_spec("modulo_addition", "tiny", {"train_fraction": 0.495868})
    stored = VariantSpec(
        "modulo_addition", {**requested.params, "train_fraction": 0.4958676}, requested.training
    )
    paths = workspace.variant_paths("modulo_addition", requested.variant_id)
    write_variant_record(paths, stored, get_family("modulo_addition"), CPU, "complete", 60)
    return workspace, requested, paths


def test_resuming_a_variant_with_other_settings_is_refused(tmp_path):
    workspace, requested, paths = _collided(tmp_path)
    message = "train_fraction: stored 0.4958676, requested 0.495868"
    with pytest.raises(ValidationError, match=message):
        check_stored_settings(paths, requested)
    with pytest.raises(ValidationError, match=message):
        train_variant(requested, workspace, device="cpu")
    assert not paths.checkpoints.exists(), "nothing trained into the other run's directory"


def test_launch_refuses_a_mismatch_before_recording_a_job(tmp_path):
    workspace, requested, _ = _collided(tmp_path)
    request = validate_training_request("modulo_addition", "tiny", {"train_fraction": 0.495868})
    with pytest.raises(ValidationError, match="train_fraction"):
        launch_training(workspace, request, start=False)
    assert JobStore(workspace.jobs_db).list() == []


def test_training_settings_mismatch_names_both_values(tmp_path):
    workspace = Workspace.open(tmp_path)
    base = resolve_variant_spec("modulo_addition", "tiny")
    paths = workspace.variant_paths("modulo_addition", base.variant_id)
    write_variant_record(paths, base, get_family("modulo_addition"), CPU, "complete", 60)
    check_stored_settings(paths, resolve_variant_spec("modulo_addition", "tiny", epochs=90))
    other = VariantSpec("modulo_addition", base.params, base.training.with_overrides({"lr": 0.002}))
    with pytest.raises(ValidationError, match=r"lr: stored 0.001, requested 0.002"):
        check_stored_settings(paths, other)
