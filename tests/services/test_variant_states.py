"""Variant states on the dashboard: analyzers never run (partial) differ from out-of-date ones
(stale)."""

from __future__ import annotations

from miscope_core.families import get_family
from miscope_core.training.trainer import train_variant
from miscope_core.variants import VariantSpec
from services.registry import variant_state
from tests.conftest import TINY_PARAMS, TINY_TRAINING, train_and_analyze


def test_partial_then_stale_then_analyzed(tmp_path):
    workspace, paths = train_and_analyze(
        tmp_path, training={"epochs": 20}, analyzers=["parameters.snapshot"]
    )
    variant_id = paths.root.name
    state = variant_state(workspace, "modulo_addition", variant_id)
    assert state.state == "partial", state.detail
    assert state.detail.startswith("never run: ") and "parameters.snapshot" not in state.detail

    # two more checkpoints: the analyzer that ran is now out of date, the others still missing
    params, config = get_family("modulo_addition").resolve(
        "tiny", params=TINY_PARAMS, training={**TINY_TRAINING, "epochs": 40}
    )
    train_variant(VariantSpec("modulo_addition", params, config), workspace, device="cpu")
    state = variant_state(workspace, "modulo_addition", variant_id)
    assert state.state == "stale", state.detail
    assert state.detail.startswith("out of date: parameters.snapshot; never run: ")
    assert "parameters.snapshot" in state.missing_analyzers

    from miscope_core.analysis.pipeline import run_analysis

    run_analysis(paths, device="cpu")
    state = variant_state(workspace, "modulo_addition", variant_id)
    assert state.state == "analyzed", state.detail
    assert state.missing_analyzers == []
