"""Known answers: an embedding that is a Fourier row puts all its norm on that row/frequency."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.weight_spectra import (
    compute_basis_spectra,
    compute_frequency_spectra,
)
from miscope_core.families.fourier import fourier_basis
from tests.analysis.analysis_helpers import synthetic_inputs


def fourier_row_weights(p: int, row: int, d_model: int = 16, d_mlp: int = 8, n_layers: int = 2):
    """W_E, W_U, W_out whose token axes are basis row `row` times a random feature vector."""
    rng = np.random.default_rng(1)
    f = fourier_basis(p)[row]
    direction = rng.normal(size=d_model)
    w_e = np.vstack([np.outer(f, direction), rng.normal(size=(1, d_model))])  # '=' row ignored
    w_u = np.outer(direction, f)
    w_out = rng.normal(size=(n_layers, d_mlp, d_model))
    return {"W_E": w_e, "W_U": w_u, "W_out": w_out}, np.linalg.norm(direction)


@pytest.mark.parametrize("row", [1, 6, 11])
def test_fourier_row_embedding_has_all_norm_on_that_row(row):
    p = 13
    weights, scale = fourier_row_weights(p, row)
    out = compute_basis_spectra(synthetic_inputs(p, weights=weights, n_layers=2))
    for key in ("W_E", "W_U"):
        assert out[key].shape == (p,)
        assert out[key][row] == pytest.approx(scale, rel=1e-5)
        np.testing.assert_allclose(np.delete(out[key], row), 0.0, atol=1e-5)
    assert out["W_L"].shape == (2, p)
    np.testing.assert_allclose(np.delete(out["W_L"], row, axis=1), 0.0, atol=1e-4)


def test_frequency_norms_combine_cos_and_sin():
    p = 13
    a = np.arange(p)
    rng = np.random.default_rng(2)
    u, v = rng.normal(size=(2, 16))
    w_e = np.outer(np.cos(2 * np.pi * 4 * a / p), u) + np.outer(np.sin(2 * np.pi * 4 * a / p), v)
    weights = {
        "W_E": np.vstack([w_e, np.zeros((1, 16))]),
        "W_U": w_e.T,
        "W_out": rng.normal(size=(1, 8, 16)),
    }
    out = compute_frequency_spectra(synthetic_inputs(p, weights=weights))
    assert out["W_E"].shape == (p // 2,)
    expected = np.sqrt(p / 2 * (u @ u + v @ v))
    assert out["W_E"][3] == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(np.delete(out["W_E"], 3), 0.0, atol=1e-4)
    assert out["W_L.neurons"].shape == (1, 8, p // 2)
    assert out["W_L.neurons"].dtype == np.float16
    peak = np.argmax(out["W_L.neurons"][0].astype(np.float32), axis=1)
    np.testing.assert_array_equal(peak, 3)
