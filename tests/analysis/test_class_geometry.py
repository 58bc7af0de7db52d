"""Known answers: class centroids on a frequency-k circle are circular and Fourier-aligned."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.class_geometry import compute_class_geometry
from tests.analysis.analysis_helpers import grid_ab, synthetic_inputs

P = 13
SITES = ("blocks.0.hook_resid_pre", "blocks.0.hook_resid_mid", "blocks.0.hook_resid_post")


def ring_cache(k: int, radius: float, noise: float, rng, d_model=16, d_mlp=8) -> dict:
    """Every site: class c = (a + b) mod p sits at angle 2 pi k c / p on a circle, plus noise."""
    a, b = grid_ab(P)
    c = (a + b) % P
    plane, _ = np.linalg.qr(rng.normal(size=(d_model, 2)))
    angle = 2 * np.pi * k * c / P
    points = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1) @ plane.T
    cache = {}
    for hook in SITES:
        acts = rng.normal(size=(P * P, 3, d_model))
        acts[:, 2] = points + noise * rng.normal(size=points.shape)
        cache[hook] = acts
    cache["blocks.0.mlp.hook_post"] = rng.normal(size=(P * P, 3, d_mlp))
    return cache


def test_ring_of_class_centroids(rng):
    k, radius, noise = 4, 3.0, 0.1
    inputs = synthetic_inputs(P, cache=ring_cache(k, radius, noise, rng))
    out = compute_class_geometry(inputs)
    site = "resid_post"
    assert out[f"{site}.centroid_pcs"].shape == (1, P, 3)
    assert out[f"{site}.circularity"][0] > 0.95
    assert out[f"{site}.fourier_frequency"][0] == k
    assert out[f"{site}.fourier_alignment"][0] > 0.99
    np.testing.assert_allclose(out[f"{site}.radii"][0], noise * np.sqrt(16), rtol=0.25)
    # SNR = spread^2 / radius^2 = radius^2 / (noise^2 d)
    assert out[f"{site}.snr"][0] == pytest.approx(radius**2 / (noise**2 * 16), rel=0.25)
    assert np.all(out[f"{site}.class_dimensionality"][0] > 5)  # isotropic noise, 13 points
    assert out["mlp_post.snr"][0] < 0.5  # pure noise: no class structure


def test_constant_site_is_not_applicable_instead_of_infinite_snr(rng):
    """resid_pre of layer 0 at the readout position is the '=' embedding for every input:
    before the fix its SNR read inf (0 spread / 0 noise guarded to inf)."""
    cache = ring_cache(4, 3.0, 0.1, rng)
    cache["blocks.0.hook_resid_pre"][:, 2] = rng.normal(size=16)  # same vector for every row
    out = compute_class_geometry(synthetic_inputs(P, cache=cache))
    assert out["resid_pre.applicable"].tolist() == [False]
    assert np.isnan(out["resid_pre.snr"][0]) and np.isnan(out["resid_pre.circularity"][0])
    assert out["resid_post.applicable"].tolist() == [True]
