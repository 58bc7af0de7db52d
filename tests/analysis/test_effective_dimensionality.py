"""Known answers: a rank-r matrix with equal singular values has participation ratio r."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.effective_dimensionality import (
    compute_effective_dimensionality,
    summarize_effective_dimensionality,
)
from tests.analysis.analysis_helpers import synthetic_inputs


def equal_rank_matrix(rows: int, cols: int, rank: int, rng) -> np.ndarray:
    """A rows x cols matrix with `rank` singular values all equal to 2."""
    u, _ = np.linalg.qr(rng.normal(size=(rows, rank)))
    v, _ = np.linalg.qr(rng.normal(size=(cols, rank)))
    return 2.0 * u @ v.T


def planted_weights(rng, n_layers=2, n_heads=2, d_model=16, d_head=4, d_mlp=8, p=7):
    """Weights with known ranks: W_E rank 3, W_in[l] rank l + 1, random heads."""
    return {
        "W_E": equal_rank_matrix(p + 1, d_model, 3, rng),
        "W_pos": rng.normal(size=(3, d_model)),
        "W_U": equal_rank_matrix(d_model, p, 5, rng),
        "W_Q": rng.normal(size=(n_layers, n_heads, d_model, d_head)),
        "W_K": rng.normal(size=(n_layers, n_heads, d_model, d_head)),
        "W_V": rng.normal(size=(n_layers, n_heads, d_model, d_head)),
        "W_O": rng.normal(size=(n_layers, n_heads, d_head, d_model)),
        "W_in": np.stack([equal_rank_matrix(d_model, d_mlp, r + 1, rng) for r in range(n_layers)]),
        "W_out": rng.normal(size=(n_layers, d_mlp, d_model)),
    }


def test_participation_ratios_match_planted_ranks(rng):
    weights = planted_weights(rng)
    inputs = synthetic_inputs(7, weights=weights, n_layers=2)
    out = compute_effective_dimensionality(inputs)
    assert out["W_E.participation_ratio"] == pytest.approx(3.0, rel=1e-4)
    assert out["W_U.participation_ratio"] == pytest.approx(5.0, rel=1e-4)
    np.testing.assert_allclose(out["W_in.participation_ratio"], [1.0, 2.0], rtol=1e-4)
    assert out["W_Q.singular_values"].shape == (2, 2, 4)
    assert out["W_in.singular_values"].shape == (2, 8)


def test_head_circuits_equal_the_svd_of_the_product(rng):
    weights = planted_weights(rng)
    out = compute_effective_dimensionality(synthetic_inputs(7, weights=weights, n_layers=2))
    w_v, w_o = weights["W_V"][1, 0], weights["W_O"][1, 0]
    expected = np.linalg.svd(w_v @ w_o, compute_uv=False)[:4]
    np.testing.assert_allclose(out["OV.singular_values"][1, 0], expected, rtol=1e-4)
    w_q, w_k = weights["W_Q"][0, 1], weights["W_K"][0, 1]
    expected = np.linalg.svd(w_q @ w_k.T, compute_uv=False)[:4]
    np.testing.assert_allclose(out["QK.singular_values"][0, 1], expected, rtol=1e-4)
    summary = summarize_effective_dimensionality(out)
    assert set(summary) == {k for k in out if k.endswith(".participation_ratio")}
