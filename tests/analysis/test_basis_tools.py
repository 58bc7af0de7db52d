"""Known answers for the shared basis linear algebra."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.basis_tools import (
    grid_frequency_fractions,
    hurley_rickard_gini,
    participation_ratio,
    sum_directions,
)
from miscope_core.families.fourier import fourier_basis, fourier_row_frequencies
from tests.analysis.analysis_helpers import grid_ab


@pytest.mark.parametrize("k", [1, 3, 6])
def test_pure_cosine_neuron_is_fully_explained_by_its_frequency(k):
    p = 13
    a, b = grid_ab(p)
    values = np.stack(
        [np.cos(2 * np.pi * k * a / p), np.cos(2 * np.pi * k * (a + b) / p) + 5.0], axis=1
    )
    fractions = grid_frequency_fractions(
        values, (p, p), fourier_basis(p), fourier_row_frequencies(p)
    )
    assert fractions.shape == (2, p // 2)
    np.testing.assert_allclose(fractions[:, k - 1], 1.0, atol=1e-9)
    np.testing.assert_allclose(np.delete(fractions, k - 1, axis=1), 0.0, atol=1e-9)


def test_two_frequencies_split_variance_by_power():
    p = 11
    a, b = grid_ab(p)
    values = (np.cos(2 * np.pi * 2 * a / p) + 2 * np.sin(2 * np.pi * 4 * b / p))[:, None]
    fractions = grid_frequency_fractions(
        values, (p, p), fourier_basis(p), fourier_row_frequencies(p)
    )[0]
    np.testing.assert_allclose(fractions[[1, 3]], [0.2, 0.8], atol=1e-9)


def test_constant_unit_has_zero_fractions():
    p = 7
    fractions = grid_frequency_fractions(
        np.ones((p * p, 1)), (p, p), fourier_basis(p), fourier_row_frequencies(p)
    )
    np.testing.assert_array_equal(fractions, 0.0)


def test_gini_known_values():
    assert hurley_rickard_gini(np.ones(10)) == pytest.approx(0.0)
    one_hot = np.zeros(100)
    one_hot[3] = 2.0
    assert hurley_rickard_gini(one_hot) == pytest.approx(1 - 1 / 100)
    assert hurley_rickard_gini(np.zeros(5)) == 0.0


@pytest.mark.parametrize("rank", [1, 3, 5])
def test_participation_ratio_of_equal_singular_values_is_rank(rank, rng):
    u, _ = np.linalg.qr(rng.normal(size=(20, rank)))
    v, _ = np.linalg.qr(rng.normal(size=(12, rank)))
    matrix = 3.0 * u @ v.T
    s = np.linalg.svd(matrix, compute_uv=False)
    assert participation_ratio(s) == pytest.approx(rank, rel=1e-6)


def test_sum_directions_are_orthonormal_cosines_of_a_plus_b():
    p = 11
    directions, labels = sum_directions(fourier_basis(p), fourier_row_frequencies(p))
    assert directions.shape == (p - 1, p * p)
    np.testing.assert_allclose(directions @ directions.T, np.eye(p - 1), atol=1e-10)
    a, b = grid_ab(p)
    target = np.cos(2 * np.pi * 3 * (a + b) / p)
    target /= np.linalg.norm(target)
    assert labels[4] == 3
    assert abs(directions[4] @ target) == pytest.approx(1.0)
