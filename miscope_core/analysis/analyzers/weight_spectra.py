"""Basis spectra of the weights: which basis directions (frequencies) each weight space uses.

`weights.basis_spectra` (needs context `token_basis` [n_basis, n_tokens]); per epoch:
  W_E [n_basis]            ||(F W_E[:n_tokens])_i|| over d_model
  W_U [n_basis]            ||(F W_U[:, :n_tokens]^T)_i|| over d_model
  W_L [n_layers, n_basis]  ||(F (W_out[l] W_U)[:, :n_tokens]^T)_i|| over d_mlp (MLP models only)
  summary: W_E, W_U [n_epochs, n_basis], W_L [n_epochs, n_layers, n_basis] (MLP models only)
`weights.frequency_spectra` (also needs `token_basis_frequency`); per epoch, with n_freq the
number of non-constant frequencies and norm_k = sqrt(sum of squared row norms of frequency k):
  W_E [n_freq], W_U [n_freq], W_L [n_layers, n_freq] (MLP models only),
  W_L.neurons [n_layers, d_mlp, n_freq] float16: per neuron, the frequency norms of its logit
  row (W_out[l] W_U)[neuron] (MLP models only)
  summary: W_E, W_U [n_epochs, n_freq], W_L [n_epochs, n_layers, n_freq] (MLP models only)
A family without `token_basis` is reported not applicable (a view may fall back to an SVD).
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.basis_tools import (
    basis_and_frequencies,
    basis_row_norms,
    frequency_norms,
)
from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer


def neuron_logit_maps(inputs: EpochInputs) -> np.ndarray:
    """W_L = W_out[l] @ W_U per layer -> [n_layers, d_mlp, d_vocab_out]."""
    w_out = inputs.weight("W_out").astype(np.float64)
    w_u = inputs.weight("W_U").astype(np.float64)
    return np.einsum("lnd,dv->lnv", w_out, w_u)


def compute_basis_spectra(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Row norms of W_E, W_U and W_out.W_U in the family's token basis."""
    basis = np.asarray(inputs.context["token_basis"], dtype=np.float64)
    result = {
        "W_E": basis_row_norms(inputs.weight("W_E").astype(np.float64), basis),
        "W_U": basis_row_norms(inputs.weight("W_U").T.astype(np.float64), basis),
    }
    if not inputs.config.attn_only:
        maps = neuron_logit_maps(inputs)
        result["W_L"] = np.stack([basis_row_norms(m.T, basis) for m in maps])
    return {key: value.astype(np.float32) for key, value in result.items()}


def compute_frequency_spectra(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Per-frequency norms sqrt(cos^2 + sin^2) of W_E, W_U, W_L and of each neuron's logit row."""
    basis, frequencies = basis_and_frequencies(inputs.context)
    rows = compute_basis_spectra(inputs)
    result = {
        key: frequency_norms(value.astype(np.float64), frequencies).astype(np.float32)
        for key, value in rows.items()
    }
    if not inputs.config.attn_only:
        coefficients = np.einsum(
            "fv,lnv->lnf", basis, neuron_logit_maps(inputs)[..., : basis.shape[1]]
        )
        result["W_L.neurons"] = frequency_norms(np.abs(coefficients), frequencies).astype(
            np.float16
        )
    return result


def summarize_spectra(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """W_E, W_U and (with MLPs) W_L spectra per epoch (the epoch x basis heatmaps)."""
    return {key: arrays[key] for key in ("W_E", "W_U", "W_L") if key in arrays}


register_analyzer(
    AnalyzerSpec(
        name="weights.basis_spectra",
        description="Norms of W_E, W_U and the neuron-to-logit map W_out.W_U along each row of the "
        "family's token basis.",
        kind=PER_EPOCH,
        compute=compute_basis_spectra,
        outputs=("W_E", "W_U", "W_L"),
        mlp_outputs=("W_L",),
        weights=("W_E", "W_U", "W_out"),
        context_keys=("token_basis",),
        summarize=summarize_spectra,
        summary_outputs=("W_E", "W_U", "W_L"),
        source="Nanda et al. 2023, sections 4.1 and 5.1 (Fourier norms of W_E and W_L = W_U W_out)",
    )
)

register_analyzer(
    AnalyzerSpec(
        name="weights.frequency_spectra",
        description="Per-frequency norms sqrt(cos^2 + sin^2) of W_E, W_U, W_out.W_U and of each "
        "neuron's logit row.",
        kind=PER_EPOCH,
        compute=compute_frequency_spectra,
        outputs=("W_E", "W_U", "W_L", "W_L.neurons"),
        mlp_outputs=("W_L", "W_L.neurons"),
        weights=("W_E", "W_U", "W_out"),
        context_keys=("token_basis", "token_basis_frequency"),
        summarize=summarize_spectra,
        summary_outputs=("W_E", "W_U", "W_L"),
        source="Nanda et al. 2023, section 4.1 (key frequencies from the Fourier norms)",
    )
)
