"""Known answers: a head whose attention to 'a' is a pure cosine of a is specialized at k."""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.attention import (
    compute_attention_patterns,
    compute_head_frequency_specialization,
    summarize_attention_patterns,
)
from tests.analysis.analysis_helpers import grid_ab, synthetic_inputs


def planted_patterns(p: int, ks_per_layer) -> dict:
    """hook_pattern [p^2, heads, 3, 3]; at query 2 head h attends to a with 0.5+0.4cos(w_k a)."""
    a, _ = grid_ab(p)
    cache = {}
    for layer, ks in enumerate(ks_per_layer):
        pattern = np.zeros((p * p, len(ks), 3, 3))
        pattern[:, :, 0, 0] = 1.0
        pattern[:, :, 1, :2] = 0.5
        for head, k in enumerate(ks):
            to_a = 0.5 + 0.4 * np.cos(2 * np.pi * k * a / p)
            pattern[:, head, 2] = np.stack([to_a, 1 - to_a, np.zeros_like(to_a)], axis=1)
        cache[f"blocks.{layer}.attn.hook_pattern"] = pattern
    return cache


def test_patterns_are_the_readout_row_for_every_layer_and_head():
    p = 11
    inputs = synthetic_inputs(p, cache=planted_patterns(p, [[1, 2], [3, 4]]), n_layers=2)
    out = compute_attention_patterns(inputs)
    assert out["patterns"].shape == (2, 2, p * p, 3)
    assert out["patterns"].dtype == np.float16
    np.testing.assert_allclose(out["patterns"].sum(axis=-1), 1.0, atol=2e-3)
    mean = summarize_attention_patterns(out)["mean_pattern"]
    np.testing.assert_allclose(mean[..., 0], 0.5, atol=2e-3)


def test_head_with_cosine_attention_is_specialized_at_its_frequency():
    p = 11
    ks = [[1, 2], [5, 3]]
    inputs = synthetic_inputs(p, cache=planted_patterns(p, ks), n_layers=2)
    out = compute_head_frequency_specialization(inputs)
    assert out["fractions"].shape == (2, 2, 3, p // 2)
    np.testing.assert_array_equal(out["dominant_frequency"], ks)
    np.testing.assert_allclose(out["max_fraction"], 1.0, atol=1e-6)
    assert set(out["key_position"].ravel().tolist()) <= {0, 1}
    np.testing.assert_array_equal(out["fractions"][:, :, 2], 0.0)  # masked position
