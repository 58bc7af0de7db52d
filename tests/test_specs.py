"""resolve_variant_spec and the input checks every front end shares: bad input never runs."""

import pytest
import torch

from app.cli.main import main as cli_main
from miscope_core import specs
from miscope_core.families import ValidationError, get_family
from miscope_core.families.modulo_addition import is_prime
from miscope_core.specs import check_device, resolve_variant_spec
from miscope_core.workspace import Workspace
from services.jobs import JobStore
from services.launch import launch_training, validate_training_request


@pytest.mark.parametrize(
    ("params", "training", "message"),
    [
        ({}, {"epochs": 0}, r"epochs must be a positive integer in 1..1,000,000, got 0"),
        ({}, {"epochs": 1_000_001}, r"epochs must be a positive integer in 1..1,000,000"),
        ({}, {"epochs": 2.5}, "epochs must be an integer, got 2.5"),
        ({}, {"lr": "abc"}, "lr must be a number, got 'abc'"),
        ({}, {"lr": 0}, r"lr must be in \(0, 10\], got 0.0"),
        ({}, {"lr": 11}, r"lr must be in \(0, 10\]"),
        ({}, {"lr": float("nan")}, "lr must be a finite number, got nan"),
        ({}, {"lr": "inf"}, "lr must be a finite number, got 'inf'"),
        ({}, {"lr": True}, "lr must be a number, got True"),
        ({}, {"weight_decay": -1}, r"weight_decay must be in \[0, 100\], got -1.0"),
        ({}, {"weight_decay": 101}, r"weight_decay must be in \[0, 100\]"),
        ({}, {"weight_decay": float("inf")}, "weight_decay must be a finite number"),
        ({}, {"betas": "0.9,1.0"}, r"betas must be two numbers in \[0, 1\)"),
        ({}, {"betas": "0.9,nan"}, "betas must be a finite number"),
        ({}, {"betas": "0.9"}, r"betas must be two numbers in \[0, 1\) like 0.9,0.98"),
        ({}, {"batch_size": 0}, r"batch_size must be 'full' or an integer in 1..100,000, got 0"),
        ({}, {"checkpoints": "every:0"}, "Checkpoint interval must be >= 1"),
        ({}, {"epochs": 100_000, "checkpoints": "every:1"}, "at most 10,000 are allowed"),
        ({}, {"learning_rate": 1}, r"Unknown training setting\(s\) \['learning_rate'\]"),
        ({"prime": True}, {}, "prime must be an integer, got True"),
        ({"prime": 59.5}, {}, "prime must be an integer, got 59.5"),
        ({"prime": 10**40}, {}, r"prime must be a prime number in 3..10007"),
        ({"train_fraction": float("nan")}, {}, "train_fraction must be a finite number"),
        (
            {"prime": 13, "train_fraction": 0.001},
            {},
            r"train_fraction=0.001 with prime=13 leaves 0 of the 169 pairs for training; "
            r"use train_fraction >= 0.00592",
        ),
        ({"train_fraction": 1.0}, {}, "train_fraction must be strictly between 0 and 1"),
        ({3: 1}, {}, r"Unknown parameter\(s\) \[3\]"),
    ],
)
def test_bad_input_names_the_setting_and_the_valid_range(params, training, message):
    with pytest.raises(ValidationError, match=message):
        resolve_variant_spec("modulo_addition", "tiny", params, training)


def test_blank_form_values_fall_back_to_the_preset():
    spec = resolve_variant_spec(
        "modulo_addition", "tiny", {"prime": "", "seed": None}, {"lr": " ", "epochs": None}
    )
    assert spec == resolve_variant_spec("modulo_addition", "tiny")
    assert resolve_variant_spec("modulo_addition", "tiny", epochs=90).training.epochs == 90


def test_unknown_family_and_preset_are_validation_errors():
    with pytest.raises(ValidationError, match="Did you mean"):
        resolve_variant_spec("modulo_additon")
    with pytest.raises(ValidationError, match="available presets"):
        resolve_variant_spec("modulo_addition", "fast")


def test_prime_bound_comes_from_this_machines_memory(monkeypatch):
    family = get_family("modulo_addition")
    params = family.validate_params({"prime": 59})
    budget = family.estimate_memory_bytes(params) - 1  # p=59 just does not fit
    monkeypatch.setattr(specs, "memory_budget_bytes", lambda: budget)
    with pytest.raises(ValidationError, match=r"prime=59 needs about .* GB") as caught:
        resolve_variant_spec("modulo_addition", "quick")
    largest = int(str(caught.value).rsplit("at most ", 1)[1])
    assert largest == 53 and is_prime(largest)
    assert family.estimate_memory_bytes({**params, "prime": largest}) <= budget
    resolve_variant_spec("modulo_addition", "quick", {"prime": largest})


def test_the_real_memory_budget_admits_the_presets_and_refuses_huge_primes():
    for preset in ("tiny", "quick", "canonical"):
        resolve_variant_spec("modulo_addition", preset)
    with pytest.raises(ValidationError, match="on this machine prime must be at most"):
        resolve_variant_spec("modulo_addition", "quick", {"prime": 10007})


@pytest.mark.parametrize("device", ["tpu", "gpu", "cuda:x", 3])
def test_unknown_devices_are_refused(device):
    with pytest.raises(ValidationError, match="Unknown device"):
        check_device(device)


def test_cpu_and_auto_devices_pass():
    assert check_device("cpu") == "cpu" and check_device(None) is None
    assert check_device("auto") is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU refusal")
def test_cuda_without_a_gpu_is_refused():
    with pytest.raises(ValidationError, match="no CUDA GPU is available"):
        check_device("cuda")


def test_launch_refuses_a_bad_device_before_recording_a_job(tmp_path):
    workspace = Workspace.open(tmp_path)
    request = validate_training_request("modulo_addition", "tiny")
    with pytest.raises(ValidationError, match="Unknown device 'tpu'"):
        launch_training(workspace, request, start=False, device="tpu")
    assert JobStore(workspace.jobs_db).list() == []
    assert not any((workspace.root / "results").iterdir()), "no variant directory"


def test_cli_set_lr_abc_names_the_setting_and_writes_nothing(tmp_path, capsys):
    data_dir = tmp_path / "ws"
    code = cli_main(
        [
            "train",
            "modulo_addition",
            "--preset",
            "tiny",
            "--set",
            "lr=abc",
            "--data-dir",
            str(data_dir),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "lr must be a number, got 'abc'" in err and "Traceback" not in err
    assert not data_dir.exists()


def test_cli_device_tpu_is_refused_before_writing(tmp_path, capsys):
    data_dir = tmp_path / "ws"
    code = cli_main(
        [
            "train",
            "modulo_addition",
            "--preset",
            "tiny",
            "--device",
            "tpu",
            "--data-dir",
            str(data_dir),
        ]
    )
    assert code == 2 and "Unknown device 'tpu'" in capsys.readouterr().err
    assert not data_dir.exists()
