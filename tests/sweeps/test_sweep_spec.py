"""Sweep grids, seed ranges, the durable record and outcome rules (no training)."""

from __future__ import annotations

import pytest

from miscope_core.families import ValidationError
from miscope_core.io import CorruptFileError
from miscope_core.outcomes import classify_outcomes
from miscope_core.sweeps import (
    MAX_VARIANTS,
    SweepSpec,
    list_sweep_ids,
    load_sweep,
    parse_grid,
    parse_seeds,
    save_sweep,
    set_sweep_cancelled,
    sweep_path,
)
from miscope_core.workspace import Workspace


@pytest.mark.parametrize(
    "text, seeds",
    [("0-3", [0, 1, 2, 3]), ("1,4,9", [1, 4, 9]), ("7", [7]), ("0-1,5", [0, 1, 5]), ("", [])],
)
def test_seed_ranges(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(
    "text, message",
    [
        ("5-2", "runs backwards"),
        ("a-b", "not valid"),
        ("-3", "not valid"),
        ("0-100000", "at most 512"),
    ],
)
def test_bad_seed_ranges_say_what_is_wrong(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_seeds(text)


def test_grid_items_parse_in_order():
    grid = parse_grid(["prime=53,59", "train_fraction=0.3, 0.4"])
    assert grid == {"prime": ["53", "59"], "train_fraction": ["0.3", "0.4"]}


@pytest.mark.parametrize(
    "items, message",
    [
        (["prime"], "name=v1,v2"),
        (["prime="], "empty value"),
        (["prime=53,,59"], "empty value"),
        (["prime=53", "prime=59"], "twice"),
    ],
)
def test_malformed_grid_items(items, message):
    with pytest.raises(ValidationError, match=message):
        parse_grid(items)


@pytest.mark.parametrize(
    "grid, seeds, message",
    [
        ({}, [], "needs a grid"),
        ({"primes": ["7"]}, [], r"Unknown grid parameter.*primes.*valid"),
        ({"prime": ["100"]}, [], "prime must be a prime"),
        ({"seed": ["1", "2"]}, [0, 1], "do not also put them in --grid"),
        ({"prime": [str(p) for p in (7, 11, 13, 17)]}, list(range(200)), "800 variants"),
    ],
)
def test_absurd_sweeps_are_refused(grid, seeds, message):
    with pytest.raises(ValidationError, match=message):
        SweepSpec.build("modulo_addition", grid, seeds, "tiny")


def test_ten_thousand_variants_are_refused_before_resolving():
    grid = {"train_fraction": [str(0.1 + i / 1000) for i in range(100)]}
    with pytest.raises(ValidationError, match=f"10,000 variants.*at most {MAX_VARIANTS}"):
        SweepSpec.build("modulo_addition", grid, list(range(100)), "tiny")


def test_seeds_set_model_and_data_seed_and_ids_are_stable():
    spec = SweepSpec.build("modulo_addition", {"prime": ["7", "11"]}, [0, 1], "tiny")
    assert [v.variant_id for v in spec.variant_specs()] == [
        "p7_seed0_dseed0_tf0.5",
        "p7_seed1_dseed1_tf0.5",
        "p11_seed0_dseed0_tf0.5",
        "p11_seed1_dseed1_tf0.5",
    ]
    again = SweepSpec.build("modulo_addition", {"prime": [7, 11]}, [0, 1], "tiny")
    other = SweepSpec.build("modulo_addition", {"prime": [7, 13]}, [0, 1], "tiny")
    assert spec.sweep_id == again.sweep_id != other.sweep_id


def test_record_round_trip_cancel_flag_and_listing(tmp_path):
    workspace = Workspace.open(tmp_path)
    spec = SweepSpec.build("modulo_addition", {"prime": [7]}, [0, 1], "tiny", {"epochs": 5})
    record = save_sweep(workspace, spec, analyze=True)
    assert load_sweep(workspace, spec.sweep_id) == record
    assert [v["variant_id"] for v in record["variants"]] == [
        "p7_seed0_dseed0_tf0.5",
        "p7_seed1_dseed1_tf0.5",
    ]
    assert set_sweep_cancelled(workspace, spec.sweep_id, True)["cancelled"] is True
    again = save_sweep(workspace, spec)  # a rerun clears the cancel, keeps analysis asked
    assert again["analyze"] and not again["cancelled"] and again["created"] == record["created"]
    assert list_sweep_ids(workspace) == [spec.sweep_id]


def test_damaged_records_raise_corrupt_file_error_naming_the_path(tmp_path):
    workspace = Workspace.open(tmp_path)
    spec = SweepSpec.build("modulo_addition", {"prime": [7]}, [0], "tiny")
    save_sweep(workspace, spec)
    path = sweep_path(workspace, spec.sweep_id)
    text = path.read_text()
    path.write_text(text.replace('"prime": 7', '"prime": 9'))  # same size, other content
    with pytest.raises(CorruptFileError, match=str(path)):
        load_sweep(workspace, spec.sweep_id)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(CorruptFileError, match="invalid JSON"):
        load_sweep(workspace, spec.sweep_id)


def test_unknown_and_malformed_sweep_ids(tmp_path):
    workspace = Workspace.open(tmp_path)
    with pytest.raises(KeyError, match="No sweep"):
        load_sweep(workspace, "sweep-modulo_addition-00000000")
    with pytest.raises(ValueError, match="not a sweep id"):
        load_sweep(workspace, "../../etc/passwd")


def _row(generalization, final=1.0, finished=True):
    return {"generalization": generalization, "final_test_accuracy": final, "finished": finished}


def test_outcome_classes_follow_the_documented_rules():
    rows = [
        _row(1000),
        _row(1100),
        _row(1200),
        _row(3000),  # > 1.5 x median 1150
        _row(1000, final=0.5),  # lost its generalization
        _row(None),  # finished, never generalized
        _row(None, finished=False),
    ]
    assert classify_outcomes(rows) == [
        "healthy",
        "healthy",
        "healthy",
        "late grokker",
        "degraded",
        "no grokking",
        "in progress",
    ]
