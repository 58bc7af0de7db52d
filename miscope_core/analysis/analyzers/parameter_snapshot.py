"""Parameter snapshot: every weight matrix of every layer, for the trajectory tier.

`parameters.snapshot` (per epoch): W_E, W_pos, W_Q, W_K, W_V, W_O, W_in, W_out, W_U float32
(layers first); summary total / embedding / attention / mlp `_sum_squares` [n_epochs].
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import WEIGHT_NAMES, EpochInputs
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer

WEIGHT_GROUPS = {
    "embedding": ("W_E", "W_pos", "W_U"),
    "attention": ("W_Q", "W_K", "W_V", "W_O"),
    "mlp": ("W_in", "W_out"),
}


def available_weight_names(inputs: EpochInputs) -> list[str]:
    """TL weight names this model has (attention-only models lack W_in / W_out)."""
    return [n for n in WEIGHT_NAMES if not (inputs.config.attn_only and n in ("W_in", "W_out"))]


def compute_parameter_snapshot(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Every weight matrix in float32 under its TransformerLens name (layers stacked first)."""
    return {name: inputs.weight(name).astype(np.float32) for name in available_weight_names(inputs)}


def summarize_parameter_snapshot(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Sum of squared weights, overall and per group."""
    squares = {
        name: float(np.sum(np.square(value, dtype=np.float64))) for name, value in arrays.items()
    }
    summary = {"total_sum_squares": np.float64(sum(squares.values()))}
    for group, names in WEIGHT_GROUPS.items():
        summary[f"{group}_sum_squares"] = np.float64(sum(squares.get(n, 0.0) for n in names))
    return summary


register_analyzer(
    AnalyzerSpec(
        name="parameters.snapshot",
        description="All weight matrices (W_E ... W_U, every layer) as float32, per checkpoint.",
        kind=PER_EPOCH,
        compute=compute_parameter_snapshot,
        outputs=WEIGHT_NAMES,
        mlp_outputs=("W_in", "W_out"),
        weights=WEIGHT_NAMES,
        summarize=summarize_parameter_snapshot,
        summary_outputs=(
            "total_sum_squares",
            "embedding_sum_squares",
            "attention_sum_squares",
            "mlp_sum_squares",
        ),
        source="Weights as TransformerLens exposes them (W_Q: [layer, head, d_model, d_head])",
    )
)
