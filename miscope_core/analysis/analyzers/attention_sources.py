"""Attention to family-defined source positions: induction and previous-token scores per head.

Analyzer `attention.source_scores` (per epoch). Context: `induction_source_position` and
`previous_token_position` ([n_ctx] int, -1 where a query is not scored; the induction family
provides them). Hook `blocks.{layer}.attn.hook_pattern` over the whole probe.
- `induction_score` [L, H] float32: mean attention from each scored query t to the position
  right after the previous occurrence of token t (Olsson et al. 2022).
- `previous_token_score` [L, H] float32: mean attention from t to t - 1.
- summary: both, [n_epochs, L, H].
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer
from miscope_core.families.induction import induction_source_positions, previous_token_positions


def attention_to_sources(pattern: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Mean attention from each query to its source key, per head.

    pattern [batch, head, query, key] (TransformerLens hook_pattern), sources [query] int with
    -1 for queries not scored -> [head]: the attention weight on the source, averaged over the
    batch and the scored queries.
    """
    pattern = np.asarray(pattern)
    sources = np.asarray(sources)
    queries = np.flatnonzero(sources >= 0)
    if queries.size == 0:
        raise ValueError("attention_to_sources needs at least one query with a source >= 0")
    weights = pattern[:, :, queries, sources[queries]]
    return weights.astype(np.float64).mean(axis=(0, 2))


def induction_scores(pattern: np.ndarray) -> np.ndarray:
    """Per head: mean attention from each repeated-half token of [x, x] to the token after
    its previous occurrence (Olsson et al. 2022). pattern [batch, head, 2H, 2H] -> [head]."""
    n_ctx = np.asarray(pattern).shape[-1]
    if n_ctx % 2:
        raise ValueError(f"induction_scores needs [x, x] sequences of even length, got {n_ctx}")
    return attention_to_sources(pattern, induction_source_positions(n_ctx // 2))


def previous_token_scores(pattern: np.ndarray) -> np.ndarray:
    """Per head: mean attention from each position t >= 1 to t - 1.

    pattern [batch, head, q, k] -> [head].
    """
    return attention_to_sources(pattern, previous_token_positions(np.asarray(pattern).shape[-1]))


def compute_source_scores(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Induction and previous-token score of every head of every layer."""
    induction, previous = [], []
    for layer in range(inputs.config.n_layers):
        pattern = inputs.activation(f"blocks.{layer}.attn.hook_pattern")
        induction.append(attention_to_sources(pattern, inputs.context["induction_source_position"]))
        previous.append(attention_to_sources(pattern, inputs.context["previous_token_position"]))
    return {
        "induction_score": np.array(induction, dtype=np.float32),
        "previous_token_score": np.array(previous, dtype=np.float32),
    }


def summarize_source_scores(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Both score tables, per epoch."""
    return dict(arrays)


register_analyzer(
    AnalyzerSpec(
        name="attention.source_scores",
        description="Induction score and previous-token score of every attention head.",
        kind=PER_EPOCH,
        compute=compute_source_scores,
        outputs=("induction_score", "previous_token_score"),
        hooks=("blocks.{layer}.attn.hook_pattern",),
        context_keys=("induction_source_position", "previous_token_position"),
        summarize=summarize_source_scores,
        summary_outputs=("induction_score", "previous_token_score"),
        source="Olsson et al. 2022, 'In-context learning and induction heads' (prefix-matching "
        "score on repeated random tokens)",
    )
)
