"""Effective dimensionality: singular values and participation ratio of every weight matrix.

`parameters.effective_dimensionality` (per epoch, no context). PR(s) = (sum s^2)^2 / sum s^4,
which is r for a matrix with r equal non-zero singular values. Keys, for each matrix M below:
`M.singular_values` (descending, float32) and `M.participation_ratio` (float32):
  W_E [min(d_vocab, d_model)] / [], W_pos [min(n_ctx, d_model)] / [],
  W_U [min(d_model, d_vocab_out)] / []
  W_Q, W_K, W_V [L, H, d_head] / [L, H]; W_O [L, H, d_head] / [L, H]
  OV [L, H, d_head] / [L, H]  per-head W_V W_O (d_model x d_model, rank <= d_head)
  QK [L, H, d_head] / [L, H]  per-head W_Q W_K^T
  W_in, W_out [L, min(d_model, d_mlp)] / [L] (MLP)
Summary: every `*.participation_ratio` per epoch.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.basis_tools import participation_ratio
from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer

MATRICES = ("W_E", "W_pos", "W_U", "W_Q", "W_K", "W_V", "W_O", "OV", "QK", "W_in", "W_out")
MLP_MATRICES = ("W_in", "W_out")


def singular_values(matrices: np.ndarray) -> np.ndarray:
    """Singular values over the last two axes, descending, in float64."""
    return np.linalg.svd(matrices.astype(np.float64), compute_uv=False)


def head_circuit_values(w_left: np.ndarray, w_right: np.ndarray) -> np.ndarray:
    """Singular values of the per-head product (only the top d_head can be non-zero).

    Uses the d_head x d_head Gram trick: svd(A B) = svd(R_A B') where A = Q_A R_A.
    """
    left_r = np.linalg.qr(w_left.astype(np.float64))[1]  # [L, H, d_head, d_head]
    right_r = np.linalg.qr(np.swapaxes(w_right, -1, -2).astype(np.float64))[1]
    return singular_values(left_r @ np.swapaxes(right_r, -1, -2))


def compute_effective_dimensionality(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Singular values and participation ratios per matrix, per layer and per head."""
    values = {
        name: singular_values(inputs.weight(name))
        for name in ("W_E", "W_pos", "W_U", "W_Q", "W_K", "W_V", "W_O")
    }
    values["OV"] = head_circuit_values(inputs.weight("W_V"), inputs.weight("W_O"))
    values["QK"] = head_circuit_values(
        inputs.weight("W_Q"), np.swapaxes(inputs.weight("W_K"), -1, -2)
    )
    if not inputs.config.attn_only:
        values.update({name: singular_values(inputs.weight(name)) for name in MLP_MATRICES})
    result = {}
    for name, s in values.items():
        result[f"{name}.singular_values"] = s.astype(np.float32)
        result[f"{name}.participation_ratio"] = participation_ratio(s).astype(np.float32)
    return result


def summarize_effective_dimensionality(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The participation ratios (small) per epoch."""
    return {key: value for key, value in arrays.items() if key.endswith(".participation_ratio")}


register_analyzer(
    AnalyzerSpec(
        name="parameters.effective_dimensionality",
        description="Singular values and participation ratio of every weight matrix, per layer and "
        "per head (including the OV and QK circuits).",
        kind=PER_EPOCH,
        compute=compute_effective_dimensionality,
        outputs=tuple(
            f"{m}.{f}" for m in MATRICES for f in ("singular_values", "participation_ratio")
        ),
        mlp_outputs=tuple(
            f"{m}.{f}" for m in MLP_MATRICES for f in ("singular_values", "participation_ratio")
        ),
        weights=("W_E", "W_pos", "W_U", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out"),
        summarize=summarize_effective_dimensionality,
        summary_outputs=tuple(f"{m}.participation_ratio" for m in MATRICES),
        source="Participation ratio (sum s^2)^2 / sum s^4 of the singular value spectrum",
    )
)
