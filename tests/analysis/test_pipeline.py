"""The analysis pipeline: tiers, provenance, incremental reruns, staleness and damaged files."""

import shutil

import numpy as np
import pytest

from miscope_core.analysis.artifacts import ArtifactStore, MissingArtifactError
from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.pipeline import run_analysis
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer
from miscope_core.io import CorruptFileError, read_json
from miscope_core.variants import VariantPaths


def compute_scaled_norm(inputs: EpochInputs, scale: float = 1.0):
    return {"value": np.array([scale * np.linalg.norm(inputs.weight("W_E"))])}


register_analyzer(
    AnalyzerSpec(
        name="testing.scaled_embedding_norm",
        description="Test-only analyzer with a parameter.",
        kind=PER_EPOCH,
        compute=compute_scaled_norm,
        outputs=("value",),
        params={"scale": 1.0},
        in_default_battery=False,
    )
)

CORE = [
    "embedding.basis_norms",
    "parameters.snapshot",
    "parameters.trajectory",
    "testing.scaled_embedding_norm",
]


@pytest.fixture
def variant_copy(tiny_variant, tmp_path):
    _, paths = tiny_variant
    target = tmp_path / "variant"
    shutil.copytree(paths.root, target)
    paths = VariantPaths(target)
    run_analysis(paths, CORE, device="cpu")
    return paths


def test_tiers_and_manifest_provenance(variant_copy):
    store = ArtifactStore(variant_copy.artifacts)
    assert store.epochs_with("embedding.basis_norms") == [0, 10, 20, 30, 40]
    summary = store.load_summary("parameters.snapshot")
    assert list(summary["epochs"]) == [0, 10, 20, 30, 40]
    assert summary["total_sum_squares"].shape == (5,)
    cross = store.load_cross_epoch("parameters.trajectory")
    assert cross["all.projections"].shape[0] == 5
    manifest = read_json(variant_copy.artifacts / "manifest.json")
    entry = manifest["analyzers"]["embedding.basis_norms"]
    record = read_json(variant_copy.variant_json)
    assert entry["probe_hash"] == record["probe"]["hash"]
    assert set(entry["epochs"]) == {"0", "10", "20", "30", "40"}
    assert all(len(item["checkpoint_hash"]) == 16 for item in entry["epochs"].values())


def test_rerun_does_no_work(variant_copy):
    report = run_analysis(variant_copy, CORE, device="cpu")
    assert report.work_done == 0 and report.computed == {}


def test_changed_parameter_recomputes_exactly_that_analyzer(variant_copy):
    report = run_analysis(
        variant_copy, CORE, params={"testing.scaled_embedding_norm": {"scale": 2.0}}, device="cpu"
    )
    assert set(report.computed) == {"testing.scaled_embedding_norm"}
    assert report.computed["testing.scaled_embedding_norm"] == [0, 10, 20, 30, 40]
    assert report.derived == []
    report = run_analysis(
        variant_copy,
        CORE,
        params={
            "testing.scaled_embedding_norm": {"scale": 2.0},
            "parameters.trajectory": {"n_components": 3},
        },
        device="cpu",
    )
    assert report.computed == {} and report.derived == ["parameters.trajectory/cross_epoch"]


def test_truncated_artifact_is_named_and_recomputed(variant_copy):
    store = ArtifactStore(variant_copy.artifacts)
    path = store.epoch_path("embedding.basis_norms", 20)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(CorruptFileError, match="epoch_000020.npz"):
        store.load_epoch("embedding.basis_norms", 20)
    report = run_analysis(variant_copy, CORE, device="cpu")
    assert str(path) in report.recovered
    assert report.computed == {"embedding.basis_norms": [20]}
    assert store.load_epoch("embedding.basis_norms", 20)["norms"].shape == (13,)


def test_same_size_corrupt_artifact_is_recomputed_when_summarized(variant_copy):
    store = ArtifactStore(variant_copy.artifacts)
    path = store.epoch_path("embedding.basis_norms", 10)
    path.write_bytes(b"\0" * path.stat().st_size)
    store.summary_path("embedding.basis_norms").unlink()
    report = run_analysis(variant_copy, CORE, device="cpu")
    assert str(path) in report.recovered
    assert store.load_epoch("embedding.basis_norms", 10)["norms"].shape == (13,)


def test_truncated_checkpoint_error_names_file(variant_copy):
    checkpoint = variant_copy.checkpoints / "epoch_000030.safetensors"
    checkpoint.write_bytes(checkpoint.read_bytes()[:64])
    with pytest.raises(CorruptFileError, match="epoch_000030.safetensors"):
        run_analysis(variant_copy, CORE, device="cpu")


def test_missing_artifact_names_the_analyzer_to_run(variant_copy):
    store = ArtifactStore(variant_copy.artifacts, "p13_x")
    with pytest.raises(MissingArtifactError, match="miscope analyze p13_x --analyzers nope"):
        store.load_epoch("nope", 0)


def test_unknown_analyzer_and_parameter_errors(variant_copy):
    with pytest.raises(KeyError, match="Did you mean"):
        run_analysis(variant_copy, ["parameters.snapshots"], device="cpu")
    with pytest.raises(ValueError, match="has no parameter"):
        run_analysis(
            variant_copy,
            ["testing.scaled_embedding_norm"],
            params={"testing.scaled_embedding_norm": {"scael": 1}},
            device="cpu",
        )
