"""Embedding norms in the family's token basis (Fourier for modular addition).

`embedding.basis_norms` (per epoch; context `token_basis`): norms [n_basis] float32;
summary norms [n_epochs, n_basis].
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer


def compute_basis_norms(matrix: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """L2 norm over the feature axis of `matrix` [tokens, d] expressed in `basis` [rows, tokens]."""
    return np.linalg.norm(basis @ matrix, axis=-1)


def compute_embedding_basis_norms(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Norm of W_E's token axis per basis row ('=' and other non-basis tokens dropped)."""
    basis = np.asarray(inputs.context["token_basis"], dtype=np.float64)
    w_e = inputs.weight("W_E")[: basis.shape[1]].astype(np.float64)
    return {"norms": compute_basis_norms(w_e, basis).astype(np.float32)}


def summarize_embedding_basis_norms(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The whole (small) spectrum per epoch, for the epoch x basis heatmap."""
    return {"norms": arrays["norms"]}


register_analyzer(
    AnalyzerSpec(
        name="embedding.basis_norms",
        description="Norm of the token embedding W_E along each row of the family's token basis.",
        kind=PER_EPOCH,
        compute=compute_embedding_basis_norms,
        outputs=("norms",),
        weights=("W_E",),
        context_keys=("token_basis",),
        summarize=summarize_embedding_basis_norms,
        summary_outputs=("norms",),
        source="Nanda et al. 2023, section 4.1 (Fourier norms of W_E)",
    )
)
