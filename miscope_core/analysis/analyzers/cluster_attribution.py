"""Logit attribution per neuron cluster: what each frequency cluster of MLP neurons writes.

`neurons.cluster_logit_attribution` (cross-epoch; depends on logits.frequency_attribution and
neurons.frequency_specialization; needs MLPs). Clusters as in Nanda et al. 2023's released
notebook: at the last checkpoint each neuron joins the cluster of its dominant frequency when
its max_fraction >= threshold, else the "unexplained" cluster (frequency 0). A cluster's
amplitudes are the sums of its neurons' direct-logit amplitudes (the attribution is linear).
  cluster_frequency [n_clusters] int16   k of each cluster, ascending; 0 = unexplained (first)
  cluster_size [n_clusters] int32        neurons in it (all layers)
  neuron_cluster [L, d_mlp] int16        the cluster frequency of each neuron
  cluster_cos_coefficients, cluster_sin_coefficients [n, n_clusters, n_freq] float64:
      α_k, β_k of the cluster's summed direct contribution at every checkpoint
  cluster_own_amplitude [n, n_clusters] float64: sqrt(α^2 + β^2) at the cluster's own frequency
      (NaN for the unexplained cluster)
Param: threshold 0.85 (as neurons.frequency_specialization).
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import EpochSeries
from miscope_core.analysis.registry import CROSS_EPOCH, AnalyzerSpec, register_analyzer

ATTRIBUTION = "logits.frequency_attribution"
SPECIALIZATION = "neurons.frequency_specialization"


def neuron_clusters(dominant: np.ndarray, max_fraction: np.ndarray, threshold: float):
    """(cluster k of each neuron [L, d_mlp], cluster frequencies ascending with 0 first)."""
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be a fraction in 0..1, got {threshold}")
    labels = np.where(max_fraction >= threshold, dominant, 0).astype(np.int16)
    return labels, np.unique(np.concatenate([[0], labels.ravel()])).astype(np.int16)


def cluster_sums(values: np.ndarray, labels: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Sum of per-neuron values [L, d_mlp, n_freq] over each cluster -> [n_clusters, n_freq]."""
    members = labels.ravel()[None, :] == clusters[:, None]  # [n_clusters, L * d_mlp]
    return members.astype(np.float64) @ values.reshape(-1, values.shape[-1]).astype(np.float64)


def compute_cluster_attribution(series: EpochSeries, threshold: float = 0.85):
    """Cluster the neurons at the last checkpoint, then sum their amplitudes at every one."""
    final = series.load(SPECIALIZATION, series.epochs[-1])
    labels, clusters = neuron_clusters(
        final["dominant_frequency"], final["max_fraction"], threshold
    )
    cos_rows, sin_rows = [], []
    for _, arrays in series.iter(ATTRIBUTION):
        cos_rows.append(cluster_sums(arrays["neuron_cos_coefficients"], labels, clusters))
        sin_rows.append(cluster_sums(arrays["neuron_sin_coefficients"], labels, clusters))
    cos_c, sin_c = np.stack(cos_rows), np.stack(sin_rows)
    amplitude = np.hypot(cos_c, sin_c)
    own = np.full(amplitude.shape[:2], np.nan)
    for index, k in enumerate(clusters):
        if k > 0:
            own[:, index] = amplitude[:, index, k - 1]
    return {
        "epochs": np.asarray(series.epochs),
        "cluster_frequency": clusters,
        "cluster_size": np.array([(labels == k).sum() for k in clusters], dtype=np.int32),
        "neuron_cluster": labels,
        "cluster_cos_coefficients": cos_c,
        "cluster_sin_coefficients": sin_c,
        "cluster_own_amplitude": own,
    }


register_analyzer(
    AnalyzerSpec(
        name="neurons.cluster_logit_attribution",
        description="Direct logit amplitudes on cos/sin(w_k(a+b-c)) of each neuron cluster "
        "(neurons grouped by their final dominant frequency) over training.",
        kind=CROSS_EPOCH,
        compute=compute_cluster_attribution,
        outputs=(
            "cluster_frequency",
            "cluster_size",
            "neuron_cluster",
            "cluster_cos_coefficients",
            "cluster_sin_coefficients",
            "cluster_own_amplitude",
        ),
        params={"threshold": 0.85},
        depends_on=(ATTRIBUTION, SPECIALIZATION),
        requires_mlp=True,
        source="Nanda et al. 2023 released notebook (neuron clusters by best frequency, 85% "
        "threshold; logit attribution per cluster)",
    )
)
