"""Attention from the readout position, and each head's frequency specialization.

`attention.patterns` (needs context `readout_position`); hook `blocks.{layer}.attn.hook_pattern`.
Per epoch:
  patterns [n_layers, n_heads, n_probe, n_ctx] float16   attention from the readout position
      (query) to every key position, for every probe row
  summary: mean_pattern [n_epochs, n_layers, n_heads, n_ctx] (mean over the probe)
`attention.frequency_specialization` (also needs `token_basis`, `token_basis_frequency`,
`probe_grid_shape`): the same 2-D frequency fractions as neurons.frequency_specialization, on
each head's attention grid to each key position. Per epoch:
  fractions [n_layers, n_heads, n_ctx, n_freq] float32
  key_position [n_layers, n_heads] int16      key position whose grid varies most (centred)
  dominant_frequency [n_layers, n_heads] int16 dominant k at that key position
  max_fraction [n_layers, n_heads] float32     its share
  summary: dominant_frequency, max_fraction [n_epochs, n_layers, n_heads]
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.basis_tools import (
    basis_and_frequencies,
    dominant_frequencies,
    grid_frequency_fractions,
)
from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer

HOOK = "blocks.{layer}.attn.hook_pattern"


def readout_patterns(inputs: EpochInputs) -> np.ndarray:
    """Attention from the readout query -> [n_layers, n_heads, n_probe, n_ctx]."""
    query = int(inputs.context["readout_position"])
    per_layer = [
        inputs.activation(HOOK.format(layer=layer))[:, :, query, :]
        for layer in range(inputs.config.n_layers)
    ]
    return np.stack([p.transpose(1, 0, 2) for p in per_layer])


def compute_attention_patterns(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """The readout row of every head's attention pattern over the probe, float16."""
    return {"patterns": readout_patterns(inputs).astype(np.float16)}


def summarize_attention_patterns(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Mean attention to each key position, per head."""
    return {"mean_pattern": arrays["patterns"].astype(np.float32).mean(axis=2)}


def compute_head_frequency_specialization(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Frequency fractions of each head's attention grid to each key position."""
    basis, frequencies = basis_and_frequencies(inputs.context)
    grid_shape = tuple(int(s) for s in inputs.context["probe_grid_shape"])
    patterns = readout_patterns(inputs).astype(np.float64)
    n_layers, n_heads, n_probe, n_ctx = patterns.shape
    units = patterns.transpose(2, 0, 1, 3).reshape(n_probe, -1)
    fractions = grid_frequency_fractions(units, grid_shape, basis, frequencies)
    fractions = fractions.reshape(n_layers, n_heads, n_ctx, -1)
    key = np.argmax(patterns.var(axis=2), axis=-1)
    at_key = np.take_along_axis(fractions, key[..., None, None], axis=2)[:, :, 0]
    dominant, best = dominant_frequencies(at_key, frequencies)
    return {
        "fractions": fractions.astype(np.float32),
        "key_position": key.astype(np.int16),
        "dominant_frequency": dominant,
        "max_fraction": best.astype(np.float32),
    }


def summarize_head_frequency_specialization(arrays: dict[str, np.ndarray]):
    """Dominant frequency and its share per head."""
    return {
        "dominant_frequency": arrays["dominant_frequency"],
        "max_fraction": arrays["max_fraction"],
    }


register_analyzer(
    AnalyzerSpec(
        name="attention.patterns",
        description="Attention from the readout position to every position, per layer and head, "
        "over the probe (float16).",
        kind=PER_EPOCH,
        compute=compute_attention_patterns,
        outputs=("patterns",),
        hooks=(HOOK,),
        context_keys=("readout_position",),
        summarize=summarize_attention_patterns,
        summary_outputs=("mean_pattern",),
        source="TransformerLens hook_pattern [batch, head, query, key]",
    )
)

register_analyzer(
    AnalyzerSpec(
        name="attention.frequency_specialization",
        description="Per head, the fraction of its attention grid's centred variance explained by "
        "each frequency; dominant frequency.",
        kind=PER_EPOCH,
        compute=compute_head_frequency_specialization,
        outputs=("fractions", "key_position", "dominant_frequency", "max_fraction"),
        hooks=(HOOK,),
        context_keys=(
            "token_basis",
            "token_basis_frequency",
            "probe_grid_shape",
            "readout_position",
        ),
        summarize=summarize_head_frequency_specialization,
        summary_outputs=("dominant_frequency", "max_fraction"),
        source="Nanda et al. 2023, section 4.2 (heads attend with single frequencies)",
    )
)
