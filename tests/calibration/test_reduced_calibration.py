"""Reduced calibration (issue 8): the quick preset, one seed pair, the core checks.

Trains p = 59 / 40% for the quick preset's 3 500 epochs (a few minutes on 2 CPU cores), runs
the calibration analyzers and asserts every core check of CALIBRATION.md §7. Set
MISCOPE_CALIBRATION_WORKSPACE to a workspace that already holds the trained variant to reuse it.
"""

from __future__ import annotations

import os

import pytest

from miscope_core.calibration.checks import PASS

CORE = (
    "initial_loss",
    "reference_init",
    "grokking_delay",
    "key_frequency_count",
    "key_frequency_share",
    "specialized_neurons",
    "restricted_loss_first",
    "excluded_loss_peak",
    "excluded_loss_rise",
    "weight_norm_fall",
    "gini_rise_W_E",
    "gini_rise_W_L",
    "embedding_rings",
    "gradient_symmetricity",
    "distance_irrelevance",
    "logit_variance_explained",
)


@pytest.fixture(scope="module")
def quick_outcome(tmp_path_factory):
    """The quick preset, seeds 999/598, trained (or reused), analyzed and checked."""
    from miscope_core.calibration.runner import plan_runs, train_and_analyze
    from miscope_core.workspace import Workspace

    root = os.environ.get("MISCOPE_CALIBRATION_WORKSPACE") or tmp_path_factory.mktemp("calib")
    (run,) = plan_runs("quick", seeds=((999, 598, None),), skip_long=True)
    return train_and_analyze(run, Workspace.open(root), device="cpu", log=lambda _: None)


@pytest.mark.slow
@pytest.mark.parametrize("name", CORE)
def test_core_check_passes(quick_outcome, name):
    checks = {c.name: c for c in quick_outcome.checks}
    check = checks[name]
    assert check.status == PASS, (
        f"{name}: measured {check.measured}, expected {check.expected} ({check.detail})"
    )


@pytest.mark.slow
def test_phase_boundaries_are_ordered(quick_outcome):
    from miscope_core.calibration.evidence import RunEvidence

    phases = RunEvidence.open(quick_outcome.paths).phases
    assert phases["memorization_end"] < phases["cleanup_start"] <= phases["generalization"]
    assert phases["cleanup_start"] < phases["cleanup_end"]


@pytest.mark.slow
def test_report_lists_every_check_with_the_time_and_work(quick_outcome, tmp_path):
    from miscope_core.calibration.report import write_report

    path = write_report(
        [quick_outcome],
        tmp_path / "calibration.md",
        {},
        "uv run miscope calibrate --skip-long",
        90.0,
        ["a context line"],
    )
    text = path.read_text()
    trained = 0 if os.environ.get("MISCOPE_CALIBRATION_WORKSPACE") else 1
    assert "Wall time of this run: 1.5 min" in text
    assert f"trained {trained} of 1 runs" in text
    assert "uv run miscope calibrate --skip-long" in text and "- a context line" in text
    for name in CORE:
        assert f"| `{name}` | ✅" in text, name
