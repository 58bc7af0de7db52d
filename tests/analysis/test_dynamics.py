"""Known answers for the cross-epoch dynamics: straight paths, switches, training curves."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.essential_dynamics import (
    compute_essential_dynamics,
    compute_probe_sample,
    sample_rows,
)
from miscope_core.analysis.analyzers.neuron_dynamics import compute_neuron_dynamics
from miscope_core.analysis.analyzers.training_curves import compute_training_curves
from tests.analysis.analysis_helpers import series_from, synthetic_inputs

P = 7


def test_straight_output_path_has_one_component(tmp_path, rng):
    epochs = [0, 10, 30, 60, 100]
    start, step = rng.normal(size=(2, 16, P))
    rows = [
        {"rows": np.arange(16, dtype=np.int32), "log_probs": (start + e / 100 * step)}
        for e in epochs
    ]
    out = compute_essential_dynamics(
        series_from(tmp_path, epochs, {"logits.probe_sample": rows}, P), n_components=3
    )
    assert out["explained_variance_ratio"][0] == pytest.approx(1.0, abs=1e-6)
    assert out["projections"].shape == (5, 3)
    np.testing.assert_allclose(out["speed"], np.linalg.norm(step) / 100, rtol=1e-5)


def test_probe_sample_is_seeded_and_normalised(rng):
    logits = rng.normal(size=(P * P, 3, P))
    inputs = synthetic_inputs(P, cache={"hook_unembed": logits})
    out = compute_probe_sample(inputs, n_rows=10, seed=1)
    assert out["rows"].tolist() == sample_rows(P * P, 10, 1).tolist()
    np.testing.assert_allclose(np.exp(out["log_probs"]).sum(axis=1), 1.0, rtol=1e-5)
    assert compute_probe_sample(inputs, n_rows=1000)["rows"].shape == (P * P,)


def test_neuron_switches_and_commitment(tmp_path):
    epochs = [0, 5, 10, 20]
    dominant = np.array([[[1, 2, 3]], [[2, 2, 3]], [[1, 2, 4]], [[1, 2, 3]]], dtype=np.int16)
    fraction = np.full((1, 3), 0.9, dtype=np.float32)
    rows = [
        {"dominant_frequency": d, "max_fraction": fraction * (i == 3)}
        for i, d in enumerate(dominant)
    ]
    out = compute_neuron_dynamics(
        series_from(tmp_path, epochs, {"neurons.frequency_specialization": rows}, P)
    )
    assert out["final_frequency"].tolist() == [[1, 2, 3]]
    assert out["switch_count"].tolist() == [[2, 0, 2]]
    assert out["commitment_epoch"].tolist() == [[10, 0, 20]]
    assert out["specialized_final"].tolist() == [[True, True, True]]
    assert out["dominant_frequency"].shape == (4, 1, 3)


def test_training_curves_copy_metrics_and_pack_task_metrics(tmp_path):
    metrics = {
        "epoch": np.arange(4),
        "train_loss": np.ones(4),
        "train_accuracy": np.zeros(4),
        "test_loss": np.ones(4),
        "test_accuracy": np.zeros(4),
        "z_metric": np.arange(4.0),
    }
    out = compute_training_curves(series_from(tmp_path, [0], {}, P, metrics=metrics))
    assert out["task_metric_names"].tolist() == ["z_metric"]
    np.testing.assert_array_equal(out["task_metrics"], [[0, 1, 2, 3]])
    with pytest.raises(ValueError, match="lacks"):
        compute_training_curves(series_from(tmp_path, [0], {}, P, metrics={"epoch": [0]}))
