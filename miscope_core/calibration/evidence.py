"""Everything the calibration checks read about one analyzed variant, loaded once."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from miscope_core.analysis.artifacts import ArtifactStore
from miscope_core.analysis.phases import detect_phases, phases_from_arrays
from miscope_core.io import read_json
from miscope_core.variants import VariantPaths

CALIBRATION_ANALYZERS = (
    "training.curves",
    "parameters.snapshot",
    "weights.basis_spectra",
    "weights.frequency_spectra",
    "progress.logit_projections",
    "progress.measures",
    "logits.frequency_attribution",
    "logits.key_frequency_attribution",
    "neurons.frequency_specialization",
    "embedding.rings",
    "algorithm.clock_pizza",
    "parameters.trajectory",
    "parameters.trajectory_dynamics",
    "training.phases",
)


@dataclass
class RunEvidence:
    """Metrics, artifacts and detected phases of one variant (lazy, read-only)."""

    paths: VariantPaths
    record: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, paths: VariantPaths) -> RunEvidence:
        """Read variant.json; artifacts load on first use."""
        return cls(paths, read_json(paths.variant_json))

    @property
    def variant_id(self) -> str:
        """The variant's id."""
        return self.record["variant_id"]

    @property
    def params(self) -> dict[str, Any]:
        """Domain parameters (prime, seed, data_seed, train_fraction)."""
        return self.record["params"]

    @property
    def n_classes(self) -> int:
        """Number of output classes (p)."""
        return int(self.record["model"]["d_vocab_out"])

    @cached_property
    def store(self) -> ArtifactStore:
        """The variant's artifact store."""
        return ArtifactStore(self.paths.artifacts, self.variant_id)

    @cached_property
    def metrics(self) -> dict[str, np.ndarray]:
        """Per-epoch train/test loss and accuracy."""
        from miscope_core.training.trainer import load_metrics

        return load_metrics(self.paths)

    @cached_property
    def progress(self) -> dict[str, np.ndarray]:
        """progress.measures cross-epoch arrays."""
        return self.store.load_cross_epoch("progress.measures")

    @cached_property
    def dynamics(self) -> dict[str, np.ndarray]:
        """parameters.trajectory_dynamics cross-epoch arrays."""
        return self.store.load_cross_epoch("parameters.trajectory_dynamics")

    @property
    def checkpoints(self) -> np.ndarray:
        """Analyzed checkpoint epochs (progress.measures' epochs)."""
        return np.asarray(self.progress["epochs"])

    @property
    def key_frequencies(self) -> list[int]:
        """Key frequencies found by progress.measures at the last checkpoint."""
        return [int(k) for k in self.progress["key_frequencies"]]

    @cached_property
    def phases(self) -> dict[str, float]:
        """Phase boundaries: the training.phases artifact, else detected from the metrics."""
        if self.store.has("training.phases"):
            return phases_from_arrays(self.store.load_cross_epoch("training.phases"))
        return detect_phases(
            self.metrics, self.n_classes, self.checkpoints, np.asarray(self.progress["sum_squares"])
        )

    @property
    def last_epoch(self) -> int:
        """The last analyzed checkpoint."""
        return int(self.checkpoints[-1])

    def final(self, analyzer: str) -> dict[str, np.ndarray]:
        """A per-epoch analyzer's artifact at the last checkpoint."""
        return self.store.load_epoch(analyzer, self.last_epoch)

    @property
    def specialized_fraction(self) -> float:
        """Share of MLP neurons (all layers) specialized to one frequency at the end."""
        arrays = self.final("neurons.frequency_specialization")
        fractions = np.asarray(arrays["max_fraction"])
        threshold = self.analyzer_param("neurons.frequency_specialization", "threshold", 0.85)
        return float(np.mean(fractions >= threshold))

    def analyzer_param(self, analyzer: str, name: str, default: Any) -> Any:
        """A parameter an analyzer ran with (from the manifest), or the default."""
        try:
            manifest = read_json(self.paths.artifacts / "manifest.json")
            return manifest["analyzers"][analyzer]["params"].get(name, default)
        except (FileNotFoundError, KeyError, ValueError):
            return default

    def first_checkpoint(self, condition: np.ndarray) -> float:
        """First checkpoint epoch where condition holds (NaN when never)."""
        hits = np.flatnonzero(condition)
        return float(self.checkpoints[hits[0]]) if len(hits) else float("nan")

    def first_metric(self, condition: np.ndarray) -> float:
        """First metric epoch where condition holds (NaN when never)."""
        hits = np.flatnonzero(condition)
        return float(self.metrics["epoch"][hits[0]]) if len(hits) else float("nan")

    def checkpoint_index(self, epoch: float) -> int:
        """Index of the checkpoint nearest to an epoch (0 for NaN)."""
        if np.isnan(epoch):
            return 0
        return int(np.abs(self.checkpoints - epoch).argmin())
