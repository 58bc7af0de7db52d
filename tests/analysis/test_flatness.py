"""Flatness on a real tiny bridge: zero radius is flat, weights are restored, seeds repeat."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from miscope_core.analysis.analyzers.flatness import compute_flatness, summarize_flatness
from miscope_core.analysis.inputs import EpochInputs
from miscope_core.families import get_family
from miscope_core.models.bridge import build_bridge
from tests.analysis.analysis_helpers import modular_context


def bridge_inputs(p=7):
    family = get_family("modulo_addition")
    params = family.validate_params({"prime": p, "train_fraction": 0.5})
    cfg = family.model_config(params)
    bridge = build_bridge(cfg, seed=0).eval()
    return EpochInputs(0, cfg, family.build_probe(params), modular_context(p), {}, model=bridge)


def test_zero_radius_is_flat_and_weights_are_restored():
    inputs = bridge_inputs()
    before = {k: v.clone() for k, v in inputs.model.state_dict().items()}
    out = compute_flatness(inputs, n_directions=3, radius=0.0)
    np.testing.assert_allclose(out["delta_loss"], 0.0, atol=1e-12)
    assert out["base_loss"] > 0
    for key, value in inputs.model.state_dict().items():
        assert torch.equal(value, before[key]), key
    summary = summarize_flatness(out, flat_tolerance=0.01)
    assert summary["flat_fraction"] == 1.0


def test_same_seed_same_result_and_larger_radius_larger_change():
    inputs = bridge_inputs()
    small = compute_flatness(inputs, n_directions=4, radius=1.0, seed=3, radius_mode="absolute")
    again = compute_flatness(inputs, n_directions=4, radius=1.0, seed=3, radius_mode="absolute")
    np.testing.assert_array_equal(small["delta_loss"], again["delta_loss"])
    large = compute_flatness(inputs, n_directions=4, radius=20.0, seed=3, radius_mode="absolute")
    assert np.mean(np.abs(large["delta_loss"])) > np.mean(np.abs(small["delta_loss"]))


def test_relative_radius_scales_with_the_weight_norm():
    """Weight decay halves the norm over a grokking run: the default radius is a fraction of
    ||theta||, so halving every weight halves the radius actually used (before the fix it was a
    fixed 10 at every checkpoint)."""
    inputs = bridge_inputs()
    full = compute_flatness(inputs, n_directions=2, radius=0.2)
    weights = [v for k, v in inputs.model.state_dict().items() if k.endswith("weight")]
    norm = float(torch.sqrt(sum((w.double() ** 2).sum() for w in weights)))
    assert np.isclose(full["weight_norm"], norm) and np.isclose(full["radius_used"], 0.2 * norm)
    with torch.no_grad():
        for param in inputs.model.parameters():
            param.mul_(0.5)
    half = compute_flatness(inputs, n_directions=2, radius=0.2)
    assert np.isclose(half["radius_used"], full["radius_used"] / 2)
    absolute = compute_flatness(inputs, n_directions=2, radius=10.0, radius_mode="absolute")
    assert absolute["radius_used"] == 10.0
    with pytest.raises(ValueError, match="radius_mode in \\['relative', 'absolute'\\]"):
        compute_flatness(inputs, radius_mode="fixed")
