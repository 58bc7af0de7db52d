"""Neuron dynamics: each MLP neuron's dominant frequency over training, switches, commitment.

`neurons.dynamics` (cross-epoch; depends on neurons.frequency_specialization; needs MLPs).
Outputs (n = checkpoints; everything per layer and neuron):
  dominant_frequency [n, L, d_mlp] int16   dominant k at each checkpoint (0 = dead/constant)
  max_fraction [n, L, d_mlp] float16        its share of the neuron's variance
  final_frequency [L, d_mlp] int16          dominant k at the last checkpoint
  switch_count [L, d_mlp] int32             checkpoints where the dominant k changed
  commitment_epoch [L, d_mlp] int64         first checkpoint epoch from which the dominant k
                                            equals final_frequency at every later checkpoint
  specialized_final [L, d_mlp] bool         max_fraction >= threshold at the last checkpoint
Param: threshold 0.85.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import EpochSeries
from miscope_core.analysis.registry import CROSS_EPOCH, AnalyzerSpec, register_analyzer

UPSTREAM = "neurons.frequency_specialization"


def commitment_epochs(dominant: np.ndarray, epochs: np.ndarray) -> np.ndarray:
    """Epoch of the first checkpoint after which the dominant frequency never changes again."""
    differs = dominant != dominant[-1]
    last_different = np.where(
        differs.any(axis=0), dominant.shape[0] - 1 - np.argmax(differs[::-1], axis=0), -1
    )
    return epochs[last_different + 1]


def compute_neuron_dynamics(series: EpochSeries, threshold: float = 0.85):
    """Stack the per-epoch dominant frequencies and derive switches and commitment."""
    epochs = np.array(series.epochs)
    dominant, best = [], []
    for _, arrays in series.iter(UPSTREAM):
        dominant.append(arrays["dominant_frequency"])
        best.append(arrays["max_fraction"])
    dominant = np.stack(dominant).astype(np.int16)
    best = np.stack(best)
    return {
        "epochs": epochs,
        "dominant_frequency": dominant,
        "max_fraction": best.astype(np.float16),
        "final_frequency": dominant[-1],
        "switch_count": (np.diff(dominant, axis=0) != 0).sum(axis=0).astype(np.int32),
        "commitment_epoch": commitment_epochs(dominant, epochs).astype(np.int64),
        "specialized_final": best[-1] >= threshold,
    }


register_analyzer(
    AnalyzerSpec(
        name="neurons.dynamics",
        description=(
            "Per MLP neuron: dominant frequency over time, number of switches and "
            "the epoch "
            "from which it commits to its final frequency."
        ),
        kind=CROSS_EPOCH,
        compute=compute_neuron_dynamics,
        outputs=(
            "dominant_frequency",
            "max_fraction",
            "final_frequency",
            "switch_count",
            "commitment_epoch",
            "specialized_final",
        ),
        params={"threshold": 0.85},
        depends_on=(UPSTREAM,),
        requires_mlp=True,
        source="Frequency assignment per neuron as in Nanda et al. 2023, tracked over checkpoints",
    )
)
