"""The LLC estimator: known answers on quadratic minima, flags, and the transformer analyzer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from miscope_core.analysis.sgld import (
    SGLDSettings,
    chain_diagnostics,
    default_nbeta,
    estimate_llc,
)

N_EXAMPLES = 1000
N_PARAMETERS = 8


def quadratic_model(rank: int, seed: int = 0):
    """(loss_of, weights): noiseless linear regression whose inputs span `rank` of the 8
    weight directions, so L_n(w) - L_n(w*) = (w - w*)^T H (w - w*) / 2 with rank(H) = rank
    and the learning coefficient is rank / 2."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.zeros(N_EXAMPLES, N_PARAMETERS)
    inputs[:, :rank] = torch.randn(N_EXAMPLES, rank, generator=generator)
    center = torch.randn(N_PARAMETERS, generator=generator)
    targets = inputs @ center

    def loss_of(weights, rows):
        x, y = (inputs, targets) if rows is None else (inputs[rows], targets[rows])
        prediction = x @ weights["w"] + weights["offset"]
        return 0.5 * ((prediction - y) ** 2).mean()

    # "offset" is a frozen entry: the sampler must leave it where it is
    return loss_of, {"w": center, "offset": torch.zeros(())}


SETTINGS = SGLDSettings(
    epsilon=3e-4, gamma=1.0, n_chains=4, n_draws=1000, n_burnin=200, batch_size=N_EXAMPLES
)


@pytest.mark.parametrize("rank", [2, 6])
def test_llc_of_a_quadratic_minimum_is_half_its_rank(rank):
    loss_of, weights = quadratic_model(rank)
    estimate = estimate_llc(loss_of, weights, ["w"], N_EXAMPLES, SETTINGS)
    assert estimate.init_loss == pytest.approx(0.0, abs=1e-10)
    assert estimate.nbeta == pytest.approx(N_EXAMPLES / np.log(N_EXAMPLES))
    assert estimate.llc == pytest.approx(rank / 2, rel=0.1)
    flags = chain_diagnostics(estimate, N_PARAMETERS, tolerance=0.2)
    assert not flags["diverged"].any()
    assert flags["stationary"].all()


def test_minibatch_estimate_is_close_to_full_batch():
    loss_of, weights = quadratic_model(4)
    settings = SGLDSettings(**{**SETTINGS.__dict__, "batch_size": 250, "n_draws": 600})
    estimate = estimate_llc(loss_of, weights, ["w"], N_EXAMPLES, settings)
    assert estimate.llc == pytest.approx(2.0, rel=0.15)


def test_same_seed_same_chains_other_seed_other_chains():
    loss_of, weights = quadratic_model(3)
    short = SGLDSettings(epsilon=3e-4, gamma=1.0, n_chains=2, n_draws=20, n_burnin=5)
    first = estimate_llc(loss_of, weights, ["w"], N_EXAMPLES, short)
    again = estimate_llc(loss_of, weights, ["w"], N_EXAMPLES, short)
    other = estimate_llc(
        loss_of, weights, ["w"], N_EXAMPLES, SGLDSettings(**{**short.__dict__, "seed": 1})
    )
    np.testing.assert_array_equal(first.loss_traces, again.loss_traces)
    assert not np.array_equal(first.loss_traces, other.loss_traces)
    assert first.loss_traces.shape == (2, 25)


def test_the_chains_do_not_depend_on_the_order_of_the_weights():
    """Checkpoint files list their tensors in no fixed order; the noise stream must not care."""
    torch = pytest.importorskip("torch")
    generator = torch.Generator().manual_seed(3)
    center = {name: torch.randn(4, generator=generator) for name in ("b", "a", "c")}

    def loss_of(weights, rows):
        return sum(((weights[k] - center[k]) ** 2).sum() for k in center) + 1.0

    settings = SGLDSettings(epsilon=1e-3, gamma=1.0, n_chains=1, n_draws=5, n_burnin=0)
    shuffled = {k: center[k] for k in ("c", "a", "b")}
    first = estimate_llc(loss_of, center, list(center), N_EXAMPLES, settings)
    again = estimate_llc(loss_of, shuffled, list(shuffled), N_EXAMPLES, settings)
    np.testing.assert_array_equal(first.loss_traces, again.loss_traces)


def test_a_too_large_step_is_flagged_diverged():
    loss_of, weights = quadratic_model(3)
    wild = SGLDSettings(epsilon=0.5, gamma=1.0, n_chains=1, n_draws=40, n_burnin=0)
    estimate = estimate_llc(loss_of, weights, ["w"], N_EXAMPLES, wild)
    flags = chain_diagnostics(estimate, N_PARAMETERS, tolerance=0.2)
    assert flags["diverged"].all()
    assert not flags["stationary"].any()


@pytest.mark.parametrize(
    ("field", "value"),
    [("epsilon", 0.0), ("gamma", float("nan")), ("nbeta", -1.0), ("n_draws", 1), ("seed", 1.5)],
)
def test_absurd_settings_are_refused_by_name(field, value):
    with pytest.raises(ValueError, match=field):
        SGLDSettings(**{field: value})


def test_default_nbeta_needs_two_examples():
    assert default_nbeta(100) == pytest.approx(100 / np.log(100))
    with pytest.raises(ValueError, match="at least 2"):
        default_nbeta(1)


class LLCRun:
    """What the LLC calibration checks read: an artifact store and the phase boundaries."""

    def __init__(self, tmp_path, llc_by_epoch: dict[int, list[float]]):
        from miscope_core.analysis.artifacts import ArtifactStore

        self.store = ArtifactStore(tmp_path / "artifacts")
        for epoch, chains in llc_by_epoch.items():
            self.store.save_epoch("landscape.llc", epoch, {"llc_chains": np.array(chains)})
        epochs = np.array(sorted(llc_by_epoch))
        means = np.array([np.mean(llc_by_epoch[e]) for e in epochs])
        self.store.save_summary("landscape.llc", {"epochs": epochs, "llc": means})
        self.phases = {"memorization_end": 400.0, "generalization": 2300.0}


GROKKING_LLC = {0: [1, 1.2], 200: [50, 52], 400: [40, 41], 2300: [12, 12.5], 3000: [10, 10.4]}


def test_llc_shape_check_passes_on_rise_then_fall_and_fails_on_a_rising_curve(tmp_path):
    from miscope_core.calibration.checks import FAIL, PASS, check_llc_shape

    check = check_llc_shape(LLCRun(tmp_path / "a", GROKKING_LLC))
    assert check.status == PASS and check.measured == pytest.approx(12.25 / 51)
    rising = {e: [1 + e / 100, 1 + e / 100] for e in GROKKING_LLC}
    assert check_llc_shape(LLCRun(tmp_path / "b", rising)).status == FAIL


def test_llc_repeatability_check_compares_with_a_second_seed(tiny_variant, monkeypatch):
    """Resampling with the stored seed reproduces the stored curve; the check then compares
    a curve from the next seed and fails when the two are far apart."""
    import miscope_core.analysis.analyzers.llc as llc_module
    from miscope_core.calibration import checks
    from miscope_core.calibration.evidence import RunEvidence
    from tests.conftest import CHEAP_LLC

    _, paths = tiny_variant
    run = RunEvidence.open(paths)
    summary = run.store.load_summary("landscape.llc")
    epochs = summary["epochs"][1:3]
    settings = {**llc_module.SAMPLER_PARAMS, **CHEAP_LLC["landscape.llc"]}
    again, again_se = llc_module.resample_llc(paths, epochs, **settings)
    np.testing.assert_array_equal(again, summary["llc"][1:3])
    np.testing.assert_array_equal(again_se, summary["llc_se"][1:3])

    seeds = []
    real = llc_module.resample_llc

    def resample(paths, epochs, **sampler):
        seeds.append(sampler["seed"])
        return real(paths, epochs, **sampler)

    monkeypatch.setattr(llc_module, "resample_llc", resample)
    check = checks.check_llc_repeatability(run)
    assert seeds == [1] and np.isfinite(check.measured) and "standard errors" in check.detail

    def doubled(paths, epochs, **sampler):
        index = np.searchsorted(summary["epochs"], epochs)
        return 2 * summary["llc"][index], summary["llc_se"][index]

    monkeypatch.setattr(llc_module, "resample_llc", doubled)
    check = checks.check_llc_repeatability(run)
    assert check.status == checks.FAIL and check.measured == pytest.approx(2 / 3)
