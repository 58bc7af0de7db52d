"""Known answers for trajectory shape metrics and transition epochs."""

import numpy as np
import pytest

from miscope_core.analysis.trajectory_metrics import (
    loop_area,
    path_length,
    self_intersections,
    trajectory_shape,
    transition_epochs,
)


def circle(n=400, radius=2.0):
    t = np.linspace(0, 2 * np.pi, n)
    return np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)


def test_circle_has_expected_area_length_and_closes():
    shape = trajectory_shape(circle())
    assert shape["loop_area"] == pytest.approx(np.pi * 4, rel=1e-3)
    assert shape["path_length"] == pytest.approx(4 * np.pi, rel=1e-3)
    assert shape["closes"] == 1.0 and shape["closure_ratio"] < 1e-3


def test_straight_line_has_zero_area_and_does_not_close():
    line = np.stack([np.linspace(0, 5, 50), np.linspace(0, 2, 50)], axis=1)
    shape = trajectory_shape(line)
    assert shape["loop_area"] == pytest.approx(0.0, abs=1e-9)
    assert shape["self_intersections"] == 0 and shape["closes"] == 0.0
    assert shape["path_length"] == pytest.approx(np.hypot(5, 2))


def test_figure_eight_crosses_itself_once():
    t = 0.5 + np.linspace(0, 2 * np.pi, 301)[:-1]
    eight = np.stack([np.sin(t), np.sin(t) * np.cos(t)], axis=1)
    assert self_intersections(eight) == 1
    assert loop_area(np.array([[0, 0], [1, 0], [1, 1], [0, 1]])) == 1.0
    assert path_length(np.array([[0, 0], [3, 4]])) == 5.0


def test_transition_epochs_of_a_grokking_curve():
    epochs = np.arange(0, 3000, 10)
    train_acc = np.where(epochs >= 300, 1.0, epochs / 400)
    test_acc = np.where(epochs >= 2400, 1.0, 0.1 + epochs / 4000)
    drop = 10 / (1 + np.exp((epochs - 1500) / 100))
    test_loss = np.where(epochs < 600, 4 + epochs / 100, drop)
    found = transition_epochs(
        {
            "epoch": epochs,
            "train_accuracy": train_acc,
            "test_accuracy": test_acc,
            "test_loss": test_loss,
        }
    )
    assert found["train_accuracy_99"] == 300
    assert found["test_accuracy_99"] == 2400
    assert found["test_loss_peak"] == 600
    assert 1450 <= found["test_loss_steepest_drop"] <= 1550


def test_never_generalising_run_has_no_test_transition():
    epochs = np.arange(10)
    found = transition_epochs(
        {
            "epoch": epochs,
            "train_accuracy": np.ones(10),
            "test_accuracy": np.full(10, 0.3),
            "test_loss": np.ones(10),
        }
    )
    assert found["train_accuracy_99"] == 0 and found["test_accuracy_99"] is None
