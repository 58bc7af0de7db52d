"""What analyzers receive: one checkpoint's activations and weights, or a series of epochs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from miscope_core.families import ModelConfig, Probe

if TYPE_CHECKING:
    from miscope_core.analysis.artifacts import ArtifactStore

WEIGHT_NAMES = ("W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out", "W_U")
BIAS_NAMES = ("b_Q", "b_K", "b_V", "b_O", "b_in", "b_out", "b_U")


@dataclass
class EpochInputs:
    """One checkpoint seen through the probe: cached hooks, TL-named weights, family context.

    `model` is the TransformerBridge itself, for analyzers that need extra forward passes
    (declared with needs_model=True). Everything else is numpy.
    """

    epoch: int
    config: ModelConfig
    probe: Probe
    context: Mapping[str, Any]
    cache: Mapping[str, Any]
    model: Any = None
    _weights: dict[str, np.ndarray] = field(default_factory=dict)

    def activation(self, hook_name: str) -> np.ndarray:
        """A cached activation as float32 numpy (hook names as in TransformerLens)."""
        if hook_name not in self.cache:
            raise KeyError(
                f"Hook '{hook_name}' was not cached; declare it in the analyzer's "
                f"hooks. Cached: {sorted(self.cache)}"
            )
        return self.cache[hook_name].detach().float().cpu().numpy()

    def weight(self, name: str) -> np.ndarray:
        """A weight by its TransformerLens name (W_E, W_Q [layer, head, d_model, d_head], ...)."""
        if name not in self._weights:
            if self.model is None:
                raise KeyError(f"Weight '{name}' is not available without a model")
            value = getattr(self.model, name)
            self._weights[name] = value.detach().float().cpu().numpy()
        return self._weights[name]


@dataclass
class EpochSeries:
    """Read access to every checkpoint's per-epoch artifacts, for cross-epoch analyzers."""

    epochs: list[int]
    config: ModelConfig
    context: Mapping[str, Any]
    store: ArtifactStore
    metrics: Mapping[str, np.ndarray]

    def load(self, analyzer: str, epoch: int) -> dict[str, np.ndarray]:
        """One epoch's artifact of an upstream analyzer."""
        return self.store.load_epoch(analyzer, epoch)

    def iter(self, analyzer: str) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """(epoch, arrays) in epoch order, one file in memory at a time."""
        for epoch in self.epochs:
            yield epoch, self.store.load_epoch(analyzer, epoch)

    def summary(self, analyzer: str) -> dict[str, np.ndarray]:
        """The summary tier of an upstream analyzer."""
        return self.store.load_summary(analyzer)

    def scratch(self) -> AbstractContextManager[Path]:
        """A private scratch folder under the variant's .tmp/ (inside the workspace; removed
        on exit, and by the next run if this one is killed)."""
        from miscope_core.io import scratch_directory

        return scratch_directory(self.store.root.parent)
