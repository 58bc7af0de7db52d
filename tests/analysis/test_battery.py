"""Meta-tests over the registry: every analyzer writes exactly its declared keys, on the real
tiny variant and on 2-layer models (with and without MLPs)."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.analysis.artifacts import ArtifactStore
from miscope_core.analysis.registry import CROSS_EPOCH, PER_EPOCH, list_analyzers
from miscope_core.families import get_family
from miscope_core.io import read_json
from tests.analysis import two_layer_family  # noqa: F401  (registers the test families)
from tests.conftest import CHEAP_LLC

BUILTIN = [spec for spec in list_analyzers() if spec.compute.__module__.startswith("miscope_core")]


def model_config(paths):
    """The ModelConfig of a trained variant."""
    record = read_json(paths.variant_json)
    return get_family(record["family"]).model_config(record["params"])


def assert_declared_keys(spec, store: ArtifactStore, cfg) -> None:
    """Per-epoch, summary and cross-epoch files hold exactly the declared keys."""
    if spec.kind == PER_EPOCH:
        epochs = store.epochs_with(spec.name)
        assert epochs, f"{spec.name} wrote no per-epoch files"
        for epoch in epochs:
            assert set(store.load_epoch(spec.name, epoch)) == set(spec.outputs_for(cfg))
        if spec.summarize is not None:
            summary = set(store.load_summary(spec.name)) - {"epochs"}
            assert summary == set(spec.summary_outputs_for(cfg))
    else:
        assert spec.kind == CROSS_EPOCH
        keys = set(store.load_cross_epoch(spec.name)) - {"epochs"}
        assert keys == set(spec.outputs_for(cfg)) - {"epochs"}


def test_every_analyzer_is_described_and_documented():
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "analyzers.md").read_text()
    for spec in BUILTIN:
        assert spec.description and spec.source, spec.name
        assert f"## {spec.name}" in docs, f"{spec.name} missing from docs/analyzers.md"
        module_doc = __import__(spec.compute.__module__, fromlist=["x"]).__doc__
        assert spec.name in module_doc, f"{spec.name} not in its module docstring"


def not_applicable_reason(spec, paths):
    """Why `spec` does not apply to the variant at `paths` (None when it does)."""
    record = read_json(paths.variant_json)
    family = get_family(record["family"])
    context_keys = frozenset(family.context(record["params"]))
    return spec.not_applicable_reason(context_keys, model_config(paths))


@pytest.mark.parametrize("fixture", ["tiny_variant", "tiny_induction_variant"])
@pytest.mark.parametrize("spec", BUILTIN, ids=lambda s: s.name)
def test_analyzer_writes_exactly_its_declared_keys_or_is_not_applicable(spec, fixture, request):
    _, paths = request.getfixturevalue(fixture)
    store = ArtifactStore(paths.artifacts)
    reason = not_applicable_reason(spec, paths)
    if reason is not None:
        assert not store.has(spec.name), f"{spec.name} ran although: {reason}"
        assert "needs" in reason
        return
    assert_declared_keys(spec, store, model_config(paths))


@pytest.fixture(
    scope="module", params=["testing_two_layer_addition", "testing_two_layer_attn_only_addition"]
)
def two_layer_variant(request, tmp_path_factory):
    from tests.analysis.analysis_helpers import train_and_analyze_family

    root = tmp_path_factory.mktemp("two_layer")
    return train_and_analyze_family(
        root, request.param, params={"prime": 7}, training={"epochs": 10, "checkpoints": "every:5"}
    )


@pytest.mark.slow
def test_battery_runs_on_two_layer_models(two_layer_variant):
    _, paths = two_layer_variant
    cfg = model_config(paths)
    store = ArtifactStore(paths.artifacts)
    for spec in BUILTIN:
        if not_applicable_reason(spec, paths) is not None:
            assert not store.has(spec.name), spec.name
            continue
        if not spec.in_default_battery:  # this fixture runs the default battery only
            continue
        assert_declared_keys(spec, store, cfg)
    if not cfg.attn_only:
        fractions = store.load_epoch("neurons.frequency_specialization", 10)["fractions"]
        assert fractions.shape == (2, 64, 3)
        assert store.load_summary("neurons.frequency_specialization")[
            "specialized_count"
        ].shape == (3, 2, 3)
        assert store.load_cross_epoch("progress.measures")["gini_W_L"].shape == (3, 2)
    patterns = store.load_epoch("attention.patterns", 10)["patterns"]
    assert patterns.shape == (2, 2, 49, 3)
    geometry = store.load_epoch("representations.class_geometry", 0)
    assert geometry["resid_post.snr"].shape == (2,)
    assert ("mlp_post.snr" in geometry) == ("resid_mid.snr" in geometry) == (not cfg.attn_only)
    progress = store.load_cross_epoch("progress.measures")
    # restricted loss is a number exactly when key frequencies stand apart (issue 14.5)
    has_keys = len(progress["key_frequencies"]) > 0
    assert (np.isfinite(progress["restricted_loss"]) == has_keys).all()


def test_family_without_a_basis_is_told_which_context_is_missing():
    from miscope_core.analysis.registry import get_analyzer
    from miscope_core.families import ModelConfig

    cfg = ModelConfig(
        n_layers=1, n_heads=1, d_model=8, d_head=8, d_vocab=5, d_vocab_out=5, n_ctx=3, d_mlp=None
    )
    keys = frozenset({"readout_position", "probe_labels", "probe_train_mask"})
    reason = get_analyzer("weights.basis_spectra").not_applicable_reason(keys, cfg)
    assert (
        reason.startswith("needs the family's interpretive token basis")
        and "'token_basis'" in reason
    )
    assert get_analyzer("attention.patterns").not_applicable_reason(keys, cfg) is None
    assert get_analyzer("landscape.flatness").not_applicable_reason(keys, cfg) is None
    assert "MLP" in get_analyzer("neurons.dynamics").not_applicable_reason(keys, cfg)


@pytest.mark.slow
def test_rerunning_the_battery_gives_identical_arrays(tiny_variant, tmp_path):
    import shutil

    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.io import load_npz
    from miscope_core.variants import VariantPaths

    _, paths = tiny_variant
    copy = VariantPaths(tmp_path / "variant")
    shutil.copytree(paths.root, copy.root, ignore=shutil.ignore_patterns("artifacts"))
    names = [
        s.name
        for s in BUILTIN
        if s.name.split(".")[0]
        in ("landscape", "logits", "dynamics", "neurons", "progress", "representations")
    ]
    # the fixture ran the LLC analyzers at cheap settings: rerun them at the same ones
    run_analysis(copy, names, params=CHEAP_LLC, device="cpu")
    for original in sorted(paths.artifacts.glob("*/*.npz")):
        if original.parent.name not in names:
            continue
        again = load_npz(copy.artifacts / original.parent.name / original.name)
        first = load_npz(original)
        assert set(again) == set(first), original
        for key in first:
            np.testing.assert_array_equal(again[key], first[key], err_msg=f"{original}:{key}")


def test_skips_on_a_family_without_the_context_say_why_in_words(tiny_induction_variant):
    from miscope_core.analysis.pipeline import _Pipeline

    _, paths = tiny_induction_variant
    pipeline = _Pipeline(paths, ["weights.basis_spectra", "progress.measures"], {}, "cpu")
    skipped = pipeline.report.skipped
    assert skipped["weights.basis_spectra"].startswith(
        "needs the family's interpretive token basis"
    )
    assert skipped["weights.basis_spectra"].endswith("which induction does not provide")
    assert "'probe_grid_shape'" in skipped["progress.measures"]
