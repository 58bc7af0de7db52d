"""Known-answer tests for phase detection and the calibration check records."""

from __future__ import annotations

import math

import numpy as np

from miscope_core.analysis.phases import detect_phases, phases_as_arrays, phases_from_arrays
from miscope_core.calibration.checks import FAIL, NOT_RUN, PASS, make


def synthetic_grokking(p: int = 59, epochs: int = 3000):
    """Memorise by 400, test loss peaks at 200, drops below ln p at 2000, < 0.01 at 2400."""
    e = np.arange(epochs + 1)
    train_acc = np.where(e >= 400, 1.0, e / 400 * 0.98)
    test_loss = np.where(e < 200, np.log(p) + e / 20, 14.0)
    test_loss = np.where(e >= 2000, np.log(p) * 0.99 * np.exp(-(e - 2000) / 60.0), test_loss)
    test_acc = np.where(e >= 2300, 1.0, 0.1)
    metrics = {
        "epoch": e,
        "train_accuracy": train_acc,
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "train_loss": np.where(e >= 400, 1e-6, 1.0),
    }
    checkpoints = np.arange(0, epochs + 1, 100)
    squares = np.where(checkpoints < 2000, 3000.0, 3000.0 - (checkpoints - 2000) * 2.0)
    squares = np.maximum(squares, 1200.0)
    return metrics, checkpoints, squares


def test_phase_boundaries_of_a_synthetic_grokking_run():
    metrics, checkpoints, squares = synthetic_grokking()
    phases = detect_phases(metrics, 59, checkpoints, squares)
    assert phases["memorized"] == 400 and phases["memorization_end"] == 400
    assert phases["cleanup_start"] == 2000
    assert phases["generalization"] == 2300
    # Σw² falls 3000 -> 1200 over 2000..2900; 90% of the fall (to 1380) is done at 2810,
    # so the first checkpoint past it is 2900.
    assert phases["cleanup_end"] == 2900
    assert 2000 < phases["drop_end"] < 2400


def test_memorization_end_is_the_test_loss_peak_when_it_comes_later():
    metrics, checkpoints, squares = synthetic_grokking()
    metrics["test_loss"] = np.where(metrics["epoch"] == 1400, 30.0, metrics["test_loss"])
    assert detect_phases(metrics, 59, checkpoints, squares)["memorization_end"] == 1400


def test_a_run_that_never_generalizes_has_no_cleanup():
    metrics, checkpoints, squares = synthetic_grokking()
    metrics["test_loss"] = np.full(metrics["epoch"].shape, 14.0)
    phases = detect_phases(metrics, 59, checkpoints, squares)
    assert math.isnan(phases["cleanup_start"]) and math.isnan(phases["cleanup_end"])


def test_phases_round_trip_through_the_artifact_form():
    metrics, checkpoints, squares = synthetic_grokking()
    phases = detect_phases(metrics, 59, checkpoints, squares)
    back = phases_from_arrays(phases_as_arrays(phases))
    assert back.keys() == phases.keys()
    assert all(
        back[k] == phases[k] or (math.isnan(back[k]) and math.isnan(phases[k])) for k in phases
    )


def test_check_records_name_their_verdict():
    assert make("x", "claim", 0.5, "< 0.9", True, "src").status == PASS
    assert make("x", "claim", 0.95, "< 0.9", False, "src").status == FAIL
    missing = make("x", "claim", float("nan"), "< 0.9", False, "src")
    assert missing.status == NOT_RUN and missing.measured is None


class SyntheticRun:
    """The fields the signature checks read, for a known-answer test."""

    def __init__(self, displacement, cosine, phases):
        edges = np.arange(0, 1000 * (len(displacement) + 1), 1000)
        self.dynamics = {
            "window_epochs": edges,
            "displacement": np.array(displacement),
            "turning_cosine": np.array(cosine),
        }
        self.phases = phases
        self.metrics = {"epoch": np.arange(edges[-1] + 1)}


def test_trajectory_signature_of_calibration_run_a():
    """Run A's published windows (CALIBRATION §6.4) pass; a monotone decrease does not."""
    from miscope_core.calibration.signature import check_speed, check_turning

    moves = [
        36.9,
        16.7,
        7.9,
        5.7,
        5.0,
        4.6,
        4.3,
        4.24,
        4.26,
        4.41,
        4.68,
        5.21,
        6.23,
        8.26,
        12.3,
        13.2,
        9.4,
        5.8,
        3.2,
    ]
    cosines = [0.8] * 12 + [0.7, 0.6, 0.7] + [0.9] * 2 + [0.9]
    phases = {"memorization_end": 1400.0, "cleanup_start": 14200.0, "drop_end": 15900.0}
    run = SyntheticRun(moves, cosines, phases)
    speed, turning = check_speed(run), check_turning(run)
    assert speed.status == PASS and np.isclose(speed.measured, 13.2 / 4.24)
    assert turning.status == PASS and np.isclose(turning.measured, 0.2)
    falling = SyntheticRun(sorted(moves, reverse=True), [0.9] * 18, phases)
    assert check_speed(falling).status == FAIL and check_turning(falling).status == FAIL


def test_trajectory_null_check_quotes_the_stored_matched_null():
    """The expected range names the run's own null, not the asymptotic 0.61/0.15/0.07."""
    from miscope_core.calibration.checks import check_trajectory_null

    run = SyntheticRun([1.0], [], {})
    run.dynamics["explained_variance_ratio"] = np.array([0.70, 0.20, 0.05])
    run.dynamics["null.explained_variance_ratio"] = np.array([0.583, 0.171, 0.069])
    check = check_trajectory_null(run)
    assert "0.58/0.17/0.07" in check.expected and "0.61" not in check.expected


def test_clock_pizza_checks_are_not_run_before_generalization():
    """Uniform attention at init gives symmetricity ≈ 1 ('Pizza'): never a verdict then."""
    from miscope_core.calibration.checks import (
        check_distance_irrelevance,
        check_gradient_symmetricity,
    )

    run = SyntheticRun([1.0], [], {"generalization": float("nan")})
    for check in (check_gradient_symmetricity(run), check_distance_irrelevance(run)):
        assert check.status == NOT_RUN and "not interpretable" in check.detail


class ExcludedRun:
    """Metrics, checkpoints and excluded loss for the excluded-loss-rise check."""

    def __init__(self):
        self.metrics = {"epoch": np.arange(0, 3001)}
        # train loss: 4 at init, < 1e-3 from 400, < 1e-5 from 800
        self.metrics["train_loss"] = np.where(
            self.metrics["epoch"] < 400, 4.0, np.where(self.metrics["epoch"] < 800, 1e-4, 1e-7)
        )
        self.checkpoints = np.arange(0, 3001, 100)
        excluded = np.full(len(self.checkpoints), 6.0)
        excluded[2] = 1.0  # a dip while still memorizing (epoch 200)
        excluded[8] = 4.0  # the value once memorized (epoch 800)
        excluded[17] = 16.0  # the peak (epoch 1700)
        self.progress = {"excluded_loss": excluded}
        self.phases = {"memorization_end": 400.0}


def test_excluded_rise_is_measured_from_the_first_epoch_with_train_loss_below_1e5():
    """Baseline 4.0 at epoch 800 (first checkpoint with train loss < 1e-5), not the 1.0 dip
    at 200 while the model was still memorizing (which read 16×)."""
    from miscope_core.calibration.checks import check_excluded_rise

    run = ExcludedRun()
    check = check_excluded_rise(run)
    assert np.isclose(check.measured, 4.0) and check.status == PASS
    assert "epoch 800" in check.detail and "4.00×" in check.detail
    # flat once memorized
    run.progress["excluded_loss"] = np.where(run.checkpoints >= 800, 2.0, 1.0)
    assert check_excluded_rise(run).status == FAIL
    # a drift of 1.5x is not the rise the paper describes
    run.progress["excluded_loss"] = np.where(run.checkpoints >= 800, 2.0, 1.0)
    run.progress["excluded_loss"][17] = 3.0
    check = check_excluded_rise(run)
    assert np.isclose(check.measured, 1.5) and check.status == FAIL
