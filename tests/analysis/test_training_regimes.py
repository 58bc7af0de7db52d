"""Known answers for training.regimes: a piecewise-constant series with known change points."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.analyzers.training_regimes import phase_agreement
from miscope_core.analysis.hmm import fit_left_to_right, select_by_bic

LEVELS = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, -2.0], [1.0, -2.0, 2.0], [4.0, 3.0, 0.0]])
LENGTHS = (30, 20, 40, 25)


def piecewise_series(rng, noise: float = 0.5) -> np.ndarray:
    """Four regimes of 3-d Gaussian noise around known levels."""
    means = np.concatenate([np.tile(m, (n, 1)) for m, n in zip(LEVELS, LENGTHS, strict=True)])
    return means + noise * rng.normal(size=means.shape)


def test_bic_picks_four_regimes_and_recovers_the_change_points(rng):
    best, bics = select_by_bic(piecewise_series(rng), max_states=6)
    assert best.n_states == 4 and int(np.nanargmin(bics)) == 3
    changes = np.flatnonzero(np.diff(best.states)) + 1
    np.testing.assert_array_equal(changes, np.cumsum(LENGTHS)[:-1])
    np.testing.assert_allclose(best.means, LEVELS, atol=0.3)


def test_one_regime_for_stationary_noise(rng):
    best, _ = select_by_bic(rng.normal(size=(60, 3)), max_states=4)
    assert best.n_states == 1 and np.all(best.states == 0)


def test_fit_is_deterministic_and_rejects_more_states_than_rows(rng):
    x = piecewise_series(rng)
    first, second = fit_left_to_right(x, 3), fit_left_to_right(x, 3)
    assert first.log_likelihood == second.log_likelihood
    np.testing.assert_array_equal(first.states, second.states)
    with pytest.raises(ValueError, match="n_states must be in 1..5"):
        fit_left_to_right(x[:5], 6)


def test_agreement_with_phase_boundaries():
    phases = {"memorization_end": 400.0, "cleanup_start": 1800.0, "cleanup_end": float("nan")}
    starts = np.array([0, 350, 1000, 2500])
    epochs, nearest, offset, agreement = phase_agreement(phases, starts, 3000.0, 0.05)
    np.testing.assert_array_equal(nearest[:2], [350, 2500])
    assert np.isclose(offset[0], 50 / 3000) and np.isnan(epochs[2])
    assert agreement == 0.5  # 400 ~ 350 agrees, 1800 vs 2500 does not; NaN not counted


def test_regimes_artifact_on_both_families(tiny_variant, tiny_induction_variant):
    from miscope_core.analysis.artifacts import ArtifactStore

    for _, paths in (tiny_variant, tiny_induction_variant):
        arrays = ArtifactStore(paths.artifacts).load_cross_epoch("training.regimes")
        assert len(arrays["regime"]) == len(arrays["epochs"])
        assert np.all(np.diff(arrays["regime"]) >= 0)
        assert len(arrays["regime_starts"]) == int(arrays["n_regimes"])
