"""Exact-resume state: weights, optimizer moments, RNG streams and metrics in one atomic file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from miscope_core.training.checkpoints import load_tensors, save_tensors


@dataclass
class ResumeState:
    """Everything needed to continue a run so that it ends bit-identical to an unbroken one."""

    epoch: int
    weights: dict[str, torch.Tensor]
    optimizer: dict
    torch_rng: torch.Tensor
    data_rng: torch.Tensor
    metrics: dict[str, np.ndarray]

    def save(self, path: Path) -> None:
        """Write atomically (temp file + rename): a kill mid-write leaves the previous state."""
        tensors = {f"weights.{k}": v for k, v in self.weights.items()}
        tensors |= {f"metrics.{k}": torch.from_numpy(v[: self.epoch].copy())
                    for k, v in self.metrics.items()}
        tensors["rng.torch"] = self.torch_rng
        tensors["rng.data"] = self.data_rng
        groups = self.optimizer["param_groups"]
        for index, entry in self.optimizer["state"].items():
            for key, value in entry.items():
                tensors[f"optim.{index}.{key}"] = torch.as_tensor(value)
        save_tensors(path, tensors, {"epoch": self.epoch, "param_groups": groups})

    @classmethod
    def load(cls, path: Path) -> ResumeState:
        """Read a resume file; corruption raises CorruptFileError naming it."""
        tensors, meta = load_tensors(path)
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                state.setdefault(int(index), {})[name] = value
        return cls(
            epoch=int(meta["epoch"]),
            weights={k.removeprefix("weights."): v for k, v in tensors.items()
                     if k.startswith("weights.")},
            optimizer={"state": state, "param_groups": meta["param_groups"]},
            torch_rng=tensors["rng.torch"],
            data_rng=tensors["rng.data"],
            metrics={k.removeprefix("metrics."): v.numpy() for k, v in tensors.items()
                     if k.startswith("metrics.")},
        )
