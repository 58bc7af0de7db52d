"""Known answers for the progress measures on planted Fourier logits."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.logit_projections import compute_logit_projections
from miscope_core.analysis.analyzers.progress_measures import (
    compute_progress_measures,
    cross_entropy,
    key_frequencies,
)
from miscope_core.analysis.analyzers.weight_spectra import (
    compute_basis_spectra,
    compute_frequency_spectra,
)
from tests.analysis.analysis_helpers import grid_ab, series_from, synthetic_inputs

P = 11


def clock_logits(k: int, scale: float, noise: float, rng) -> np.ndarray:
    """Logits [p^2, 3, p]: scale * cos(w_k (a + b - c)) at the readout, plus noise."""
    a, b = grid_ab(P)
    c = np.arange(P)
    readout = scale * np.cos(2 * np.pi * k * ((a + b)[:, None] - c) / P)
    readout = readout + noise * rng.normal(size=readout.shape)
    logits = np.zeros((P * P, 3, P))
    logits[:, 2] = readout
    return logits


def embedding_weights(k: int, rng) -> dict:
    """W_E using only frequency k, random W_U / W_out."""
    a = np.arange(P)
    u, v = rng.normal(size=(2, 16))
    w_e = np.outer(np.cos(2 * np.pi * k * a / P), u) + np.outer(np.sin(2 * np.pi * k * a / P), v)
    return {
        "W_E": np.vstack([w_e, np.zeros((1, 16))]),
        "W_U": rng.normal(size=(16, P)),
        "W_out": rng.normal(size=(1, 8, 16)),
    }


def test_key_frequencies_use_the_max_over_four_rule():
    norms = {"W_E": np.array([0.1, 1.0, 0.3, 0.2, 0.26])}
    keys, gap = key_frequencies(norms, "W_E", 0.25, min_gap=1.0)
    assert keys.tolist() == [2, 3, 5] and np.isclose(gap, 0.26 / 0.2)
    with pytest.raises(ValueError, match="key_source must be one of"):
        key_frequencies(norms, "W_X", 0.25)


def test_key_frequencies_need_a_spectral_gap():
    """Before the fix an ungrokked run passed every frequency (29 of 29 at p = 59)."""
    flat = {"W_E": np.linspace(0.9, 1.0, 29)}  # init: every norm within 10% of the max
    keys, gap = key_frequencies(flat, "W_E", 0.25)
    assert keys.tolist() == [] and gap == 0.0
    weak = {"W_E": np.r_[1.0, 0.9, 0.8, np.full(9, 0.3), np.full(17, 0.28)]}  # gap 1.07
    assert key_frequencies(weak, "W_E", 0.25)[0].tolist() == []
    grokked = {"W_E": np.r_[np.full(3, 0.2), 1.0, 0.92, np.full(9, 0.2), 0.81, np.full(14, 0.2)]}
    keys, gap = key_frequencies(grokked, "W_E", 0.25)  # the quick run's end: gap 3.9-4
    assert keys.tolist() == [4, 5, 15] and np.isclose(gap, 0.81 / 0.2)


def test_restricted_keeps_and_excluded_removes_the_planted_frequency(tmp_path, rng):
    k = 3
    epochs = [0, 100]
    rows = {
        name: []
        for name in (
            "progress.logit_projections",
            "weights.basis_spectra",
            "weights.frequency_spectra",
        )
    }
    originals = []
    for scale in (1.0, 8.0):
        logits = clock_logits(k, scale, noise=0.05, rng=rng)
        originals.append(logits[:, 2])
        inputs = synthetic_inputs(
            P, cache={"hook_unembed": logits}, weights=embedding_weights(k, rng)
        )
        rows["progress.logit_projections"].append(compute_logit_projections(inputs))
        rows["weights.basis_spectra"].append(compute_basis_spectra(inputs))
        rows["weights.frequency_spectra"].append(compute_frequency_spectra(inputs))
    series = series_from(
        tmp_path,
        epochs,
        rows,
        P,
        summaries={"parameters.snapshot": {"total_sum_squares": np.array([10.0, 5.0])}},
    )
    out = compute_progress_measures(series)

    labels = np.asarray(series.context["probe_labels"])
    train = np.asarray(series.context["probe_train_mask"])
    assert out["key_frequencies"].tolist() == [k]
    for i, logits in enumerate(originals):
        assert out["train_loss"][i] == pytest.approx(
            cross_entropy(logits[train], labels[train]), rel=1e-3
        )
        # restricted keeps the signal: close to the loss of the noise-free logits
        clean = clock_logits(k, [1.0, 8.0][i], 0.0, rng)[:, 2]
        assert out["restricted_loss"][i] == pytest.approx(
            cross_entropy(clean[~train], labels[~train]), rel=1e-2
        )
        # excluded removes it: only noise is left, so the loss is about ln p
        assert out["excluded_loss"][i] == pytest.approx(np.log(P), abs=0.05)
    np.testing.assert_allclose(out["key_share_W_E"], 1.0, atol=1e-6)
    assert np.all(out["gini_W_E"] > 0.7)
    np.testing.assert_array_equal(out["sum_squares"], [10.0, 5.0])
    assert out["W_L_frequency_norms"].shape == (2, 1, P // 2)
    assert out["gini_W_L"].shape == (2, 1)


def test_projection_pieces_rebuild_the_training_logits(rng):
    from miscope_core.analysis.analyzers.logit_projections import grid_sum_directions

    logits = clock_logits(2, 4.0, 0.5, rng)
    inputs = synthetic_inputs(P, cache={"hook_unembed": logits}, weights=embedding_weights(2, rng))
    arrays = compute_logit_projections(inputs)
    train = np.asarray(inputs.context["probe_train_mask"])
    assert arrays["sum_projections"].shape == (P - 1, P)
    assert arrays["direction_frequency"].tolist() == [k for k in range(1, 6) for _ in (0, 1)]
    assert arrays["train_residual"].shape == (int(train.sum()), P)
    directions, _ = grid_sum_directions(inputs.context)
    rebuilt = (
        arrays["mean_logits"]
        + directions[:, train].T @ arrays["sum_projections"]
        + arrays["train_residual"]
    )
    np.testing.assert_allclose(rebuilt, logits[train, 2], atol=2e-3)


def test_real_variant_rebuilt_losses_match_the_trainer(tiny_variant):
    from miscope_core.analysis.artifacts import ArtifactStore
    from miscope_core.training.trainer import load_metrics

    _, paths = tiny_variant
    store = ArtifactStore(paths.artifacts)
    measures = store.load_cross_epoch("progress.measures")
    metrics = load_metrics(paths)
    epochs = measures["epochs"]
    # hook_unembed really is the model's logits: the rebuilt train loss is the trainer's
    np.testing.assert_allclose(measures["train_loss"], metrics["train_loss"][epochs], rtol=2e-3)
    # flatness evaluates the same loss (all 84 training rows fit under max_rows)
    flatness = store.load_summary("landscape.flatness")
    np.testing.assert_allclose(flatness["base_loss"], metrics["train_loss"][epochs], rtol=1e-4)
    # p = 13 never groks: no spectral gap, so no key frequencies and the measures that need
    # them are NaN (not yet interpretable) rather than numbers computed over every frequency
    assert measures["key_frequencies"].tolist() == [] and measures["key_frequency_gap"] < 2
    assert np.all(np.isnan(measures["restricted_loss"])) and np.all(
        np.isnan(measures["excluded_loss"])
    )
