"""Synthetic EpochInputs for known-answer tests (real numpy/torch arrays, no model)."""

from __future__ import annotations

import numpy as np
import torch

from miscope_core.analysis.inputs import EpochInputs
from miscope_core.families import ModelConfig, get_family


def modular_context(p: int) -> dict:
    """The modulo_addition family's context for prime p (Fourier basis, grid, labels)."""
    family = get_family("modulo_addition")
    return family.context(family.validate_params({"prime": p, "train_fraction": 0.5}))


def synthetic_inputs(
    p: int, cache=None, weights=None, n_layers=1, n_heads=2, d_model=16, d_mlp=8, epoch=0
) -> EpochInputs:
    """EpochInputs over the p x p grid with the given activations (numpy) and weights."""
    cfg = ModelConfig(
        n_layers=n_layers,
        n_heads=n_heads,
        d_model=d_model,
        d_head=4,
        d_vocab=p + 1,
        d_vocab_out=p,
        n_ctx=3,
        d_mlp=d_mlp,
    )
    family = get_family("modulo_addition")
    probe = family.build_probe(family.validate_params({"prime": p}))
    tensors = {
        k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in (cache or {}).items()
    }
    inputs = EpochInputs(epoch, cfg, probe, modular_context(p), tensors)
    inputs._weights.update({k: np.asarray(v, dtype=np.float32) for k, v in (weights or {}).items()})
    return inputs


def grid_ab(p: int) -> tuple[np.ndarray, np.ndarray]:
    """a and b of each probe row (a-major)."""
    return np.divmod(np.arange(p * p), p)


def series_from(
    tmp_path, epochs, per_epoch: dict, p: int, summaries=None, metrics=None, n_layers=1, d_mlp=8
):
    """An EpochSeries over a real ArtifactStore holding the given per-epoch arrays.

    per_epoch: {analyzer: [arrays for each epoch]}; summaries: {analyzer: arrays}.
    """
    from miscope_core.analysis.artifacts import ArtifactStore
    from miscope_core.analysis.inputs import EpochSeries

    store = ArtifactStore(tmp_path / "artifacts")
    for name, rows in per_epoch.items():
        for epoch, arrays in zip(epochs, rows, strict=True):
            store.save_epoch(name, epoch, arrays)
    for name, arrays in (summaries or {}).items():
        store.save_summary(name, {"epochs": np.array(epochs), **arrays})
    inputs = synthetic_inputs(p, n_layers=n_layers, d_mlp=d_mlp)
    return EpochSeries(list(epochs), inputs.config, inputs.context, store, metrics or {})


def train_and_analyze_family(root, family: str, params: dict, training: dict):
    """Train a variant of `family` (tiny preset + overrides) into `root`, run the default
    battery, return (workspace, paths)."""
    from miscope_core.analysis.pipeline import run_analysis
    from miscope_core.training.trainer import train_variant
    from miscope_core.variants import VariantSpec
    from miscope_core.workspace import Workspace

    workspace = Workspace.open(root)
    resolved, config = get_family(family).resolve("tiny", params=params, training=training)
    result = train_variant(VariantSpec(family, resolved, config), workspace, device="cpu")
    run_analysis(result.paths, device="cpu")
    return workspace, result.paths
