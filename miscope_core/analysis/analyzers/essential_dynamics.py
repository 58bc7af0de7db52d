"""Behavioural trajectory: probe-output samples per checkpoint, and their PCA across checkpoints.

`logits.probe_sample` (per epoch; context `readout_position`; hook `hook_unembed`). Params:
`n_rows` 256, `seed` 0. A seeded subset of probe rows (the same at every epoch):
  rows [n] int32                          probe row indices (sorted)
  log_probs [n, d_vocab_out] float32      log-softmax of the readout logits on those rows
`dynamics.essential` (cross-epoch; depends on logits.probe_sample). Each checkpoint's
log_probs flattened into one vector; PCA over checkpoints (centred, via the n x n Gram
matrix, as in Hoogland et al. 2024's essential dynamics):
  projections [n_epochs, k] float32, explained_variance_ratio [k], speed [n_epochs - 1]
  (||y_{i+1} - y_i|| / (epoch_{i+1} - epoch_i)), with k = min(n_components, n_epochs).
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.parameter_trajectory import pca_from_gram, step_velocity
from miscope_core.analysis.inputs import EpochInputs, EpochSeries
from miscope_core.analysis.registry import (
    CROSS_EPOCH,
    PER_EPOCH,
    AnalyzerSpec,
    register_analyzer,
)

LOGITS_HOOK = "hook_unembed"


def sample_rows(n_probe: int, n_rows: int, seed: int) -> np.ndarray:
    """A seeded, sorted subset of probe rows (all rows when n_rows >= n_probe)."""
    if n_rows >= n_probe:
        return np.arange(n_probe, dtype=np.int32)
    chosen = np.random.default_rng(seed).choice(n_probe, size=n_rows, replace=False)
    return np.sort(chosen).astype(np.int32)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64."""
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def compute_probe_sample(inputs: EpochInputs, n_rows: int = 256, seed: int = 0):
    """Log-probabilities at the readout position on a fixed seeded subset of the probe."""
    position = int(inputs.context["readout_position"])
    logits = inputs.activation(LOGITS_HOOK)[:, position]
    rows = sample_rows(logits.shape[0], n_rows, seed)
    return {"rows": rows, "log_probs": log_softmax(logits[rows]).astype(np.float32)}


def compute_essential_dynamics(series: EpochSeries, n_components: int = 10):
    """PCA of the per-checkpoint output vectors, with explained variance and speed."""
    epochs = np.array(series.epochs)
    vectors = np.stack(
        [
            arrays["log_probs"].astype(np.float64).ravel()
            for _, arrays in series.iter("logits.probe_sample")
        ]
    )
    gram = vectors @ vectors.T
    projections, ratio = pca_from_gram(gram, min(n_components, len(epochs)))
    return {
        "epochs": epochs,
        "projections": projections.astype(np.float32),
        "explained_variance_ratio": ratio,
        "speed": step_velocity(gram, epochs),
    }


register_analyzer(
    AnalyzerSpec(
        name="logits.probe_sample",
        description="Log-probabilities at the readout position on a seeded subset of probe rows "
        "(feeds the behavioural trajectory).",
        kind=PER_EPOCH,
        compute=compute_probe_sample,
        outputs=("rows", "log_probs"),
        hooks=(LOGITS_HOOK,),
        context_keys=("readout_position",),
        params={"n_rows": 256, "seed": 0},
        source="Essential dynamics inputs (Hoogland et al. 2024): outputs on a fixed input set",
    )
)

register_analyzer(
    AnalyzerSpec(
        name="dynamics.essential",
        description="Essential dynamics: PCA of the model's outputs on the probe sample across "
        "checkpoints, with explained variance and speed.",
        kind=CROSS_EPOCH,
        compute=compute_essential_dynamics,
        outputs=("projections", "explained_variance_ratio", "speed"),
        params={"n_components": 10},
        depends_on=("logits.probe_sample",),
        source="Hoogland et al. 2024 (arXiv 2402.02364), essential dynamics",
    )
)
