"""Known-answer tests for the calibration analyzers' math (Clock/Pizza, rings, trajectories)."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.clock_pizza import (
    distance_irrelevance_of,
    random_triples,
    sum_distance_grid,
)
from miscope_core.analysis.analyzers.embedding_rings import (
    frequency_rows,
    phase_locking,
    ring_ratio_of,
)
from miscope_core.analysis.analyzers.trajectory_dynamics import (
    displacements,
    random_walk,
    trajectory_pca,
    window_epochs,
)
from miscope_core.families.fourier import fourier_basis, fourier_row_frequencies

P = 13


def grid_values(function) -> np.ndarray:
    """function(a, b) on the a-major p x p grid, as a flat array."""
    a, b = np.divmod(np.arange(P * P), P)
    return function(a, b).astype(float)


def test_distance_irrelevance_is_one_when_the_logit_ignores_the_distance():
    correct = grid_values(lambda a, b: np.cos(2 * np.pi * 3 * (a + b) / P))
    assert np.isclose(distance_irrelevance_of(sum_distance_grid(correct, P)), 1.0)


def test_distance_irrelevance_is_zero_when_the_logit_depends_only_on_the_distance():
    pizza = grid_values(lambda a, b: np.abs(np.cos(np.pi * 3 * (a - b) / P)))
    assert distance_irrelevance_of(sum_distance_grid(pizza, P)) < 1e-9


def test_sum_distance_grid_places_each_pair_once():
    correct = grid_values(lambda a, b: a * P + b)
    grid = sum_distance_grid(correct, P)
    assert sorted(grid.ravel()) == list(range(P * P))
    assert grid[(2 + 5) % P, (2 - 5) % P] == 2 * P + 5


def test_random_triples_are_distinct_seeded_and_in_range():
    first, second = random_triples(P, 100, 42), random_triples(P, 100, 42)
    assert np.array_equal(first, second)
    assert len({tuple(t) for t in first}) == 100
    assert first.min() >= 0 and first.max() < P


def test_ring_ratio_of_a_perfect_cos_sin_pair_is_one():
    rng = np.random.default_rng(0)
    basis = fourier_basis(P)
    mixing = np.linalg.qr(rng.standard_normal((32, 2)))[0].T  # orthonormal 2 x 32
    tokens = np.arange(P)
    embedding = (
        np.column_stack([np.cos(2 * np.pi * 4 * tokens / P), np.sin(2 * np.pi * 4 * tokens / P)])
        @ mixing
    )
    rows = frequency_rows(fourier_row_frequencies(P))
    coefficients = basis @ embedding
    assert np.isclose(ring_ratio_of(coefficients[list(rows[4])]), 1.0, atol=1e-9)
    locking, k = phase_locking(embedding @ mixing.T, P)
    assert k == 4 and np.isclose(locking, 1.0)


def test_ring_ratio_of_a_line_is_zero_and_of_an_ellipse_is_its_axis_ratio():
    assert ring_ratio_of(np.array([[1.0, 0, 0], [2.0, 0, 0]])) < 1e-12
    assert np.isclose(ring_ratio_of(np.array([[3.0, 0, 0], [0, 1.5, 0]])), 0.5)


def test_phase_locking_of_shuffled_points_is_low():
    rng = np.random.default_rng(1)
    angles = rng.uniform(0, 2 * np.pi, 59)
    locking, _ = phase_locking(np.column_stack([np.cos(angles), np.sin(angles)]), 59)
    assert locking < 0.5


def test_random_walk_pca_matches_the_antognini_null():
    epochs = np.arange(201)
    _, ratio = trajectory_pca(random_walk(epochs, 10000, seed=0), 3)
    assert np.allclose(ratio, [0.61, 0.15, 0.07], atol=0.05)


def test_straight_line_and_circle_pca():
    t = np.linspace(0, 1, 50)[:, None]
    direction = np.random.default_rng(2).standard_normal((1, 40))
    _, line = trajectory_pca(t * direction, 3)
    assert line[0] > 0.999
    angle = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    circle = np.column_stack([np.cos(angle), np.sin(angle), np.zeros((64, 5))])
    _, ratio = trajectory_pca(circle, 3)
    assert np.allclose(ratio[:2], 0.5, atol=1e-6)


def test_displacement_and_turning_of_known_paths():
    straight = np.outer(np.arange(5.0), [3.0, 4.0])
    norms, cosines = displacements(straight)
    assert np.allclose(norms, 5.0) and np.allclose(cosines, 1.0)
    zigzag = np.array([[0, 0], [1, 0], [1, 1], [2, 1]], dtype=float)
    assert np.allclose(displacements(zigzag)[1], 0.0)
    _, walk_cosines = displacements(random_walk(np.arange(0, 2001, 100), 10000, seed=3))
    assert np.abs(walk_cosines).max() < 0.05


def test_window_epochs_pick_the_nearest_checkpoints():
    epochs = np.array([0, 5, 10, 50, 100, 150, 200, 250, 300])
    assert window_epochs(epochs, 100).tolist() == [0, 100, 200, 300]


def tiny_bridge_weights(p: int = 13):
    """A freshly initialised modular-addition bridge and its weights (state dict)."""
    from miscope_core.families import get_family
    from miscope_core.models.bridge import build_bridge

    cfg = get_family("modulo_addition").model_config({"prime": p})
    bridge = build_bridge(cfg, seed=3)
    return cfg, bridge, {k: v.detach() for k, v in bridge.state_dict().items()}


@pytest.mark.slow
def test_gradient_symmetricity_is_one_with_uniform_attention_and_no_positions():
    """Q = K = 0 and W_pos = 0: the readout sees e_a + e_b symmetrically, so the gradients agree."""
    from miscope_core.analysis.analyzers.clock_pizza import gradient_symmetricity_of

    cfg, _, weights = tiny_bridge_weights()
    weights = dict(weights)
    for name in list(weights):
        if name.endswith(("attn.q.weight", "attn.k.weight")) or name == "pos_embed.weight":
            weights[name] = weights[name] * 0
    symmetric, cosines = gradient_symmetricity_of(weights, cfg, 13, 50, seed=0)
    assert np.isclose(symmetric, 1.0, atol=1e-5) and cosines.shape == (50,)
