"""Parameter snapshot: every parameter of every layer, for the trajectory tier.

`parameters.snapshot` (per epoch): W_E, W_pos, W_Q, W_K, W_V, W_O, W_in, W_out, W_U and the
biases b_Q, b_K, b_V, b_O, b_in, b_out, b_U float32 (layers first); summary total / embedding /
attention / mlp `_sum_squares` [n_epochs]. Biases are included because the induction family
trains them: leaving them out understated Σw² and hid part of the trajectory from its PCA. A
family that freezes its biases at zero (modular addition) gets exact zeros, which add nothing
to Σw² and nothing to a PCA (constant coordinates cancel when centred).
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import BIAS_NAMES, WEIGHT_NAMES, EpochInputs
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer

PARAMETER_NAMES = WEIGHT_NAMES + BIAS_NAMES
MLP_PARAMETERS = ("W_in", "W_out", "b_in", "b_out")
WEIGHT_GROUPS = {
    "embedding": ("W_E", "W_pos", "W_U", "b_U"),
    "attention": ("W_Q", "W_K", "W_V", "W_O", "b_Q", "b_K", "b_V", "b_O"),
    "mlp": MLP_PARAMETERS,
}


def available_weight_names(inputs: EpochInputs) -> list[str]:
    """TL parameter names this model has (attention-only models lack the MLP's)."""
    return [n for n in PARAMETER_NAMES if not (inputs.config.attn_only and n in MLP_PARAMETERS)]


def compute_parameter_snapshot(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Every parameter in float32 under its TransformerLens name (layers stacked first)."""
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
        description="All parameters (W_E ... W_U and the biases, every layer) as float32, per "
        "checkpoint.",
        kind=PER_EPOCH,
        compute=compute_parameter_snapshot,
        outputs=PARAMETER_NAMES,
        mlp_outputs=MLP_PARAMETERS,
        weights=PARAMETER_NAMES,
        version=2,  # 2: biases included
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
