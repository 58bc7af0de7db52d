"""One sign-fixed PCA behind trajectory, centroid and embedding PCA."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.class_geometry import centroid_pca
from miscope_core.analysis.analyzers.embedding_rings import embedding_pca
from miscope_core.analysis.analyzers.parameter_trajectory import pca_from_gram
from miscope_core.analysis.pca import fix_signs, pca_of_rows

RNG = np.random.default_rng(0)
ROWS = RNG.normal(size=(12, 40)) * np.linspace(3, 0.1, 40)


def reference_pca(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Textbook PCA by SVD of the centred rows (the pre-refactor embedding route)."""
    centred = rows - rows.mean(axis=0)
    u, sigma, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :k] * sigma[:k], sigma**2 / np.sum(sigma**2)


def assert_equal_up_to_sign(a: np.ndarray, b: np.ndarray) -> None:
    for column in range(a.shape[1]):
        sign = np.sign(a[:, column] @ b[:, column]) or 1.0
        np.testing.assert_allclose(a[:, column], sign * b[:, column], atol=1e-9)


def assert_sign_convention(projections: np.ndarray) -> None:
    for column in projections.T:
        if np.any(column):
            assert column[np.abs(column).argmax()] > 0


def test_fix_signs_makes_the_largest_entry_positive_and_is_idempotent():
    flipped = fix_signs(np.array([[1.0, -3.0], [-2.0, 1.0]]))
    np.testing.assert_array_equal(flipped, [[-1.0, 3.0], [2.0, -1.0]])
    np.testing.assert_array_equal(fix_signs(flipped), flipped)


@pytest.mark.parametrize("caller", ["trajectory", "centroid", "embedding"])
def test_each_caller_matches_textbook_pca_up_to_sign_and_follows_the_convention(caller):
    expected, ratio = reference_pca(ROWS, 3)
    if caller == "trajectory":
        projections, got_ratio = pca_from_gram(ROWS @ ROWS.T, 3)
        np.testing.assert_allclose(got_ratio, ratio[:3], atol=1e-12)
    elif caller == "centroid":
        projections, eigvals = centroid_pca(ROWS, 3)
        np.testing.assert_allclose(eigvals[:3] / eigvals.sum(), ratio[:3], atol=1e-12)
    else:
        projections, got_ratio = embedding_pca(ROWS, 3)
        np.testing.assert_allclose(got_ratio, ratio[:3], atol=1e-12)
    assert_equal_up_to_sign(projections, expected)
    assert_sign_convention(projections)


def test_a_flipped_input_gives_the_same_projections():
    """Negating every row flips every eigenvector; the convention undoes it."""
    np.testing.assert_allclose(pca_of_rows(-ROWS, 3)[0], pca_of_rows(ROWS, 3)[0], atol=1e-9)
    np.testing.assert_allclose(
        pca_from_gram(ROWS @ ROWS.T, 3)[0], pca_of_rows(ROWS, 3)[0], atol=1e-9
    )


def test_fewer_rows_than_components_are_zero_padded():
    projections, eigvals = pca_of_rows(ROWS[:2], 4)
    assert projections.shape == (2, 4) and not projections[:, 2:].any()
    coords, ratio = embedding_pca(ROWS[:2], 4)
    assert coords.shape == (2, 4) and ratio[0] == pytest.approx(1.0)
