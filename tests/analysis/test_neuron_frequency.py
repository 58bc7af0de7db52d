"""Known answers: a pure cos(2 pi k a / p) neuron is specialized 1.0 at frequency k."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.neuron_frequency import (
    compute_neuron_frequency_specialization,
    summarize_neuron_frequency_specialization,
)
from tests.analysis.analysis_helpers import grid_ab, synthetic_inputs


def planted_hook_post(p: int, ks_per_layer, d_mlp: int, rng) -> dict:
    """hook_post caches [p^2, 3, d_mlp] where neuron n of layer l is cos(2 pi k a/p) (+ b)."""
    a, b = grid_ab(p)
    cache = {}
    for layer, ks in enumerate(ks_per_layer):
        acts = rng.normal(size=(p * p, 3, d_mlp))
        for neuron, k in enumerate(ks):
            acts[:, 2, neuron] = np.cos(2 * np.pi * k * (a + (neuron % 2) * b) / p) + 1.0
        cache[f"blocks.{layer}.mlp.hook_post"] = acts
    return cache


def test_pure_cosine_neurons_are_fully_specialized(rng):
    p, d_mlp = 13, 8
    ks = [[1, 2, 3, 4], [6, 5, 2, 1]]
    inputs = synthetic_inputs(
        p, cache=planted_hook_post(p, ks, d_mlp, rng), n_layers=2, d_mlp=d_mlp
    )
    out = compute_neuron_frequency_specialization(inputs, threshold=0.85, grid_neurons=4)
    assert out["fractions"].shape == (2, d_mlp, p // 2)
    for layer in range(2):
        np.testing.assert_array_equal(out["dominant_frequency"][layer, :4], ks[layer])
        np.testing.assert_allclose(out["max_fraction"][layer, :4], 1.0, atol=1e-6)
        assert np.all(out["max_fraction"][layer, 4:] < 0.5)  # random neurons
    assert out["grid_neurons"].tolist() == [0, 2, 5, 7]
    assert out["activation_grids"].shape == (2, 4, p, p)
    a = np.arange(p)
    np.testing.assert_allclose(
        out["activation_grids"][0, 0, :, 0], np.cos(2 * np.pi * a / p) + 1, atol=1e-3
    )
    summary = summarize_neuron_frequency_specialization(out, threshold=0.85)
    assert summary["specialized_count"][0].tolist() == [1, 1, 1, 1, 0, 0]
    assert summary["specialized_count"][1].tolist() == [1, 1, 0, 0, 1, 1]
    np.testing.assert_array_equal(summary["specialized_total"], [4, 4])
    assert summary["mean_max_fraction"].shape == (2,)


@pytest.mark.parametrize("n_grid,expected", [(1, [0]), (100, list(range(8)))])
def test_grid_neurons_are_clipped_to_the_layer_width(rng, n_grid, expected):
    p = 7
    inputs = synthetic_inputs(p, cache=planted_hook_post(p, [[1]], 8, rng), d_mlp=8)
    out = compute_neuron_frequency_specialization(inputs, grid_neurons=n_grid)
    assert out["grid_neurons"].tolist() == expected


def test_dead_and_constant_neurons_are_labelled_dead_and_counted_apart(rng):
    """A ReLU neuron that never fires (or a constant one) has no frequency: before the fix it
    read as dominant k = 1 (argmax over all-zero fractions)."""
    from miscope_core.analysis.analyzers.neuron_frequency import DEAD

    p, d_mlp = 11, 6
    cache = planted_hook_post(p, [[3, 2]], d_mlp, rng)
    cache["blocks.0.mlp.hook_post"][:, 2, 4] = 0.0  # dead
    cache["blocks.0.mlp.hook_post"][:, 2, 5] = 0.7  # constant
    inputs = synthetic_inputs(p, cache=cache, d_mlp=d_mlp)
    out = compute_neuron_frequency_specialization(inputs, threshold=0.85, grid_neurons=2)
    assert out["dominant_frequency"][0].tolist()[:2] == [3, 2]
    assert out["dominant_frequency"][0, 4] == DEAD == out["dominant_frequency"][0, 5]
    assert out["dead"][0].tolist() == [False] * 4 + [True, True]
    assert not np.any(out["dominant_frequency"][0, :4] == DEAD)
    summary = summarize_neuron_frequency_specialization(out, threshold=0.85)
    assert summary["dead_count"].tolist() == [2]
    assert summary["specialized_count"][0].sum() == 2
