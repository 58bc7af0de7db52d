"""What analyzers receive: one checkpoint's activations and weights, or a series of epochs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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


@dataclass(frozen=True)
class TrainingData:
    """The examples a variant was trained on, for analyzers that sample the training loss
    near a checkpoint (landscape.llc): the family task's fixed `train` set, on the device."""

    tokens: Any  # torch.Tensor [n, n_ctx]
    targets: Any  # torch.Tensor [n] (readout 'last') or [n, n_ctx], -1 where no loss is taken
    last_only: bool
    is_frozen: Callable[[str], bool]  # the family's rule: entries the trainer never moves

    @property
    def n(self) -> int:
        """Number of training examples (sequences)."""
        return int(self.tokens.shape[0])

    def trainable(self, weights: Mapping[str, Any]) -> list[str]:
        """The state-dict entries the trainer optimises, in state-dict order."""
        return [name for name in weights if not self.is_frozen(name)]


def training_data(family: Any, spec: Any, device: str) -> TrainingData:
    """The training set of variant `spec` as the trainer sees it."""
    task = family.make_task(spec.params, device, training=spec.training)
    batch = task.eval_sets()["train"]
    return TrainingData(
        batch.tokens, batch.targets, task.readout == "last", family.is_frozen_parameter
    )


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
    training: TrainingData | None = None
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
    training: TrainingData | None = None
    checkpoints: Path | None = None

    def weights(self, epoch: int) -> dict[str, Any]:
        """A checkpoint's state dict (torch tensors on the CPU), for cross-epoch analyzers that
        sample near checkpoints (landscape.llc_calibration)."""
        from miscope_core.training.checkpoints import load_checkpoint

        if self.checkpoints is None:
            raise ValueError("This epoch series was built without its checkpoint folder")
        return load_checkpoint(self.checkpoints, epoch)

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
