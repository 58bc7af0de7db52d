"""Named sets of intervention components, resolved to explicit records from a variant's files.

The analyzers take explicit component records (indices, frequencies), so their provenance is
exact and extending the run never changes what an old artifact meant. What a researcher asks
for by name is resolved here, once, from the last checkpoint's artifacts:
  "heads"              every attention head
  "key_frequencies"    the residual subspace at hook_embed spanned by W_E's Fourier rows of
                       the key frequencies (W_E frequency norm > key_threshold * max at the
                       last checkpoint: the progress measures' rule)
  "frequency_clusters" for each key frequency k, the MLP neurons whose dominant frequency at
                       the last checkpoint is k with max_fraction >= threshold
"""

from __future__ import annotations

from typing import Any

import numpy as np

from miscope_core.analysis.analyzers.cluster_attribution import neuron_clusters
from miscope_core.analysis.analyzers.progress_measures import key_frequencies
from miscope_core.analysis.artifacts import ArtifactStore
from miscope_core.analysis.interventions import default_components
from miscope_core.checkpoint_names import list_checkpoint_epochs
from miscope_core.errors import unknown_name_error
from miscope_core.families import ModelConfig
from miscope_core.variants import VariantPaths

COMPONENT_SETS = ("heads", "key_frequencies", "frequency_clusters")


def named_components(
    paths: VariantPaths,
    cfg: ModelConfig,
    name: str,
    key_threshold: float = 0.25,
    threshold: float = 0.85,
) -> list[dict[str, Any]]:
    """Explicit component records for a named set (see the module docstring)."""
    if name == "heads":
        return default_components(cfg)
    if name not in COMPONENT_SETS:
        raise unknown_name_error("component set", name, COMPONENT_SETS, "docs/interventions.md")
    store = ArtifactStore(paths.artifacts)
    last = _last_epoch(paths)
    keys = [int(k) for k in _key_frequencies(store, last, key_threshold)]
    if name == "key_frequencies":
        return [
            {
                "kind": "residual",
                "hook": "hook_embed",
                "frequencies": keys,
                "label": f"W_E key subspace k={{{','.join(map(str, keys))}}}",
            }
        ]
    return _frequency_clusters(store, last, keys, threshold, cfg)


def _last_epoch(paths: VariantPaths) -> int:
    epochs = list_checkpoint_epochs(paths.checkpoints)
    if not epochs:
        raise FileNotFoundError(f"No checkpoints in {paths.checkpoints}; train the variant first")
    return epochs[-1]


def _needed(store: ArtifactStore, analyzer: str, epoch: int) -> dict[str, np.ndarray]:
    path = store.epoch_path(analyzer, epoch)
    if not path.exists():
        raise FileNotFoundError(
            f"Resolving this component set needs {analyzer} at the last checkpoint (epoch "
            f"{epoch}); run `miscope analyze <variant> --analyzers {analyzer}` first"
        )
    return store.load_epoch(analyzer, epoch)


def _key_frequencies(store: ArtifactStore, epoch: int, threshold: float) -> np.ndarray:
    spectra = _needed(store, "weights.frequency_spectra", epoch)
    keys, gap = key_frequencies(spectra, "W_E", threshold)
    if not len(keys):  # the same spectral-gap rule as progress.measures (issue 14.5)
        raise ValueError(
            f"No key frequencies stand apart in W_E at epoch {epoch} (spectral gap {gap:.2f}, "
            f"needs >= 2): this run has not formed its Fourier circuit yet. Name the "
            f'frequencies instead: {{"kind": "residual", "hook": "hook_embed", '
            f'"frequencies": [k, ...]}}'
        )
    return keys


def _frequency_clusters(store, epoch, keys, threshold, cfg: ModelConfig) -> list[dict[str, Any]]:
    if cfg.attn_only:
        raise ValueError("frequency_clusters needs MLP layers; this model is attention-only")
    arrays = _needed(store, "neurons.frequency_specialization", epoch)
    labels, _ = neuron_clusters(arrays["dominant_frequency"], arrays["max_fraction"], threshold)
    clusters = []
    for layer in range(labels.shape[0]):
        for k in keys:
            members = np.flatnonzero(labels[layer] == k)
            if len(members):
                clusters.append(
                    {
                        "kind": "neurons",
                        "layer": layer,
                        "neurons": [int(n) for n in members],
                        "label": f"L{layer} k={k} neurons ({len(members)})",
                    }
                )
    return clusters
