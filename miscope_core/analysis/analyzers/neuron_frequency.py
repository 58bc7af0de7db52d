"""Neuron frequency specialization: how much of each MLP neuron's variance one frequency explains.

`neurons.frequency_specialization` (needs an MLP and context `token_basis`,
`token_basis_frequency`, `probe_grid_shape`, `readout_position`). Activations are
`blocks.{layer}.mlp.hook_post` at the readout position over the probe grid (a-major).
Per epoch (n_freq = non-constant frequencies, k = 1..n_freq):
  fractions [n_layers, d_mlp, n_freq] float16   share of centred variance in frequency k
  dominant_frequency [n_layers, d_mlp] int16    the k with the largest share; DEAD (0) for a
                                                dead or constant neuron
  max_fraction [n_layers, d_mlp] float32        that share (0 for a dead neuron)
  dead [n_layers, d_mlp] bool                   activation std over the probe <= DEAD_STD: the
                                                neuron carries no frequency (argmax over all-zero
                                                fractions would read "k = 1")
  grid_neurons [n_grid] int32                   the fixed neurons whose grids are stored
  activation_grids [n_layers, n_grid, n_a, n_b] float16   their raw activations
Summary (params: threshold):
  specialized_count [n_epochs, n_layers, n_freq]  neurons with max_fraction >= threshold, by k
  specialized_total [n_epochs, n_layers]
  dead_count [n_epochs, n_layers]               dead or constant neurons (never counted above)
  mean_max_fraction, median_max_fraction [n_epochs, n_layers]
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

HOOK = "blocks.{layer}.mlp.hook_post"
# Dominant-frequency label of a dead or constant neuron (real frequencies start at 1).
DEAD = 0
# A neuron whose activation varies by less than this over the whole probe is dead or constant.
DEAD_STD = 1e-6


def grid_neuron_indices(d_mlp: int, n_grid: int) -> np.ndarray:
    """Evenly spaced neuron indices (the same at every epoch), at most d_mlp of them."""
    return np.unique(np.linspace(0, d_mlp - 1, max(1, min(n_grid, d_mlp))).round()).astype(np.int32)


def readout_activations(inputs: EpochInputs, hook: str) -> np.ndarray:
    """A hook's activation at the readout position -> [n_probe, ...]."""
    return inputs.activation(hook)[:, int(inputs.context["readout_position"])]


def compute_neuron_frequency_specialization(
    inputs: EpochInputs, threshold: float = 0.85, grid_neurons: int = 16
) -> dict[str, np.ndarray]:
    """Frequency fractions per neuron and layer, plus activation grids of a few neurons.

    `threshold` is used by the summary only (the pipeline passes every parameter to both).
    """
    basis, frequencies = basis_and_frequencies(inputs.context)
    grid_shape = tuple(int(s) for s in inputs.context["probe_grid_shape"])
    chosen = grid_neuron_indices(inputs.config.d_mlp, grid_neurons)
    fractions, grids, dead = [], [], []
    for layer in range(inputs.config.n_layers):
        acts = readout_activations(inputs, HOOK.format(layer=layer))
        fractions.append(grid_frequency_fractions(acts, grid_shape, basis, frequencies))
        grids.append(acts[:, chosen].T.reshape(len(chosen), *grid_shape))
        dead.append(np.asarray(acts, dtype=np.float64).std(axis=0) <= DEAD_STD)
    fractions, dead = np.stack(fractions), np.stack(dead)
    fractions[dead] = 0.0
    dominant, best = dominant_frequencies(fractions, frequencies)
    dominant[dead], best[dead] = DEAD, 0.0
    return {
        "fractions": fractions.astype(np.float16),
        "dominant_frequency": dominant,
        "max_fraction": best.astype(np.float32),
        "dead": dead,
        "grid_neurons": chosen,
        "activation_grids": np.stack(grids).astype(np.float16),
    }


def count_specialized(
    dominant: np.ndarray, best: np.ndarray, n_freq: int, threshold: float
) -> np.ndarray:
    """Neurons with max fraction >= threshold, per layer and dominant k -> [n_layers, n_freq]."""
    counts = np.zeros((dominant.shape[0], n_freq), dtype=np.int32)
    for layer in range(dominant.shape[0]):
        ks = dominant[layer][(best[layer] >= threshold) & (dominant[layer] != DEAD)]
        counts[layer] = np.bincount(ks - 1, minlength=n_freq)[:n_freq]
    return counts


def summarize_neuron_frequency_specialization(
    arrays, threshold: float = 0.85, grid_neurons: int = 16
) -> dict[str, np.ndarray]:
    """Specialized-neuron counts per frequency and the mean / median max fraction per layer."""
    best = arrays["max_fraction"]
    counts = count_specialized(
        arrays["dominant_frequency"], best, arrays["fractions"].shape[-1], threshold
    )
    dead = arrays["dead"]
    return {
        "specialized_count": counts,
        "specialized_total": counts.sum(axis=1),
        "dead_count": np.asarray(dead).sum(axis=1).astype(np.int32),
        "mean_max_fraction": best.mean(axis=1),
        "median_max_fraction": np.median(best, axis=1),
    }


register_analyzer(
    AnalyzerSpec(
        name="neurons.frequency_specialization",
        description=(
            "Per MLP neuron, the fraction of its centred activation variance over "
            "the probe "
            "grid that each frequency explains; dominant frequency and a few raw grids."
        ),
        kind=PER_EPOCH,
        compute=compute_neuron_frequency_specialization,
        outputs=(
            "fractions",
            "dominant_frequency",
            "max_fraction",
            "dead",
            "grid_neurons",
            "activation_grids",
        ),
        hooks=(HOOK,),
        context_keys=(
            "token_basis",
            "token_basis_frequency",
            "probe_grid_shape",
            "readout_position",
        ),
        params={"threshold": 0.85, "grid_neurons": 16},
        summarize=summarize_neuron_frequency_specialization,
        summary_outputs=(
            "specialized_count",
            "specialized_total",
            "dead_count",
            "mean_max_fraction",
            "median_max_fraction",
        ),
        requires_mlp=True,
        version=2,  # 2: dead / constant neurons labelled DEAD (0), not k = 1
        source="Nanda et al. 2023, released Grokking_Analysis notebook (3x3 block {const, cos k, "
        "sin k}^2, 0.85 threshold)",
    )
)
