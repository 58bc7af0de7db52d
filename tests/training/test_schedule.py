"""Checkpoint schedules."""

import pytest

from miscope_core.families import ValidationError
from miscope_core.training.schedule import resolve_checkpoint_epochs


def family_default(epochs):
    return [0, epochs // 2, epochs]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("default", [0, 50, 100]),
        ("every:25", [0, 25, 50, 75, 100]),
        ("every 40", [0, 40, 80, 100]),
        ("10,30", [0, 10, 30, 100]),
    ],
)
def test_schedules_always_include_both_ends(spec, expected):
    assert resolve_checkpoint_epochs(spec, 100, family_default) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("0,150", r"Checkpoint epochs \[150\] lie outside the run \(0..100\)"),
        ("every:0", "Checkpoint interval must be >= 1, got 0"),
        ("sometimes", "is not valid; use 'default', 'every:N'"),
    ],
)
def test_bad_schedules_are_explained(spec, message):
    with pytest.raises(ValidationError, match=message):
        resolve_checkpoint_epochs(spec, 100, family_default)
