"""Exact-resume state: weights, optimizer moments, RNG streams and metrics in one atomic file.

Saving keeps the previous state as resume.prev.safetensors (a hard link, so there is never a
moment without one). Loading falls back when a file is damaged: the resume file, then the
previous one, then the newest intact checkpoint (weights only), and says what is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from miscope_core.checkpoint_names import list_resume_point_epochs, resume_point_path
from miscope_core.io import CorruptFileError, clean_stale_temps, keep_previous_version, load_npz
from miscope_core.training.checkpoints import (
    checkpoint_path,
    list_checkpoint_epochs,
    load_tensors,
    previous_resume_path,
    save_tensors,
)

log = logging.getLogger(__name__)


@dataclass
class ResumeState:
    """Everything needed to continue a run so that it ends bit-identical to an unbroken one.

    Restored from a checkpoint instead (`exact` False), optimizer and RNG states are None:
    the trainer starts them afresh and `lost` says so.
    """

    epoch: int
    weights: dict[str, torch.Tensor]
    optimizer: dict | None
    torch_rng: torch.Tensor | None
    data_rng: torch.Tensor | None
    metrics: dict[str, np.ndarray]
    source: Path | None = None
    lost: str = ""

    @property
    def exact(self) -> bool:
        """Whether continuing from this state is bit-identical to an unbroken run."""
        return self.optimizer is not None

    def save(self, path: Path, keep_previous: bool = True) -> None:
        """Write atomically (temp file + rename), keeping the state it replaces as
        resume.prev.safetensors (unless keep_previous is False): a kill mid-write leaves both."""
        tensors = {f"weights.{k}": v for k, v in self.weights.items()}
        # row `epoch` too: at the end of a run it holds the final evaluation
        tensors |= {
            f"metrics.{k}": torch.from_numpy(v[: self.epoch + 1].copy())
            for k, v in self.metrics.items()
        }
        tensors["rng.torch"] = self.torch_rng
        tensors["rng.data"] = self.data_rng
        groups = self.optimizer["param_groups"]
        for index, entry in self.optimizer["state"].items():
            for key, value in entry.items():
                tensors[f"optim.{index}.{key}"] = torch.as_tensor(value)
        if keep_previous:
            keep_previous_version(path, previous_resume_path(path))
        save_tensors(path, tensors, {"epoch": self.epoch, "param_groups": groups})

    @classmethod
    def load(cls, path: Path) -> ResumeState:
        """Read a resume file; damage raises CorruptFileError naming it."""
        tensors, meta = load_tensors(path)
        try:
            return cls._from_tensors(tensors, meta, Path(path))
        except (KeyError, ValueError, TypeError) as exc:
            raise CorruptFileError(path, f"incomplete resume state (missing {exc})") from exc

    @classmethod
    def _from_tensors(cls, tensors, meta, path: Path) -> ResumeState:
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, index, name = key.split(".", 2)
                state.setdefault(int(index), {})[name] = value
        return cls(
            epoch=int(meta["epoch"]),
            weights={
                k.removeprefix("weights."): v
                for k, v in tensors.items()
                if k.startswith("weights.")
            },
            optimizer={"state": state, "param_groups": meta["param_groups"]},
            torch_rng=tensors["rng.torch"],
            data_rng=tensors["rng.data"],
            metrics={
                k.removeprefix("metrics."): v.numpy()
                for k, v in tensors.items()
                if k.startswith("metrics.")
            },
            source=path,
        )


def load_resume_state(paths) -> ResumeState | None:
    """The state to resume `paths`'s training from, or None to start afresh.

    Removes temp files a killed run left behind. A damaged resume file falls back to
    resume.prev.safetensors (exact: the work since is redone), then to the newest intact
    checkpoint (weights only; `lost` names what is reset); each fallback is logged.
    """
    clean_stale_temps(paths.root)
    resume, previous = Path(paths.resume), previous_resume_path(paths.resume)
    if not resume.exists() and not previous.exists():
        return None
    damaged = []
    for candidate in (resume, previous):
        if not candidate.exists():
            continue
        try:
            state = ResumeState.load(candidate)
        except CorruptFileError as exc:
            damaged.append(exc)
            continue
        if damaged:
            state.lost = (
                f"resumed from {candidate.name} at epoch {state.epoch}; the epochs "
                f"after it are trained again (still bit-identical)"
            )
            _report(damaged, state)
        return state
    state = _from_newest_checkpoint(paths, damaged)
    if state is None:
        names = ", ".join(str(e.path) for e in damaged)
        raise CorruptFileError(
            damaged[0].path,
            f"{damaged[0].reason} (and no intact fallback among {names} and the checkpoints)",
            "delete the variant's checkpoints folder to train it again from epoch 0",
        )
    _report(damaged, state)
    return state


def _from_newest_checkpoint(paths, damaged: list[CorruptFileError]) -> ResumeState | None:
    for epoch in reversed(list_checkpoint_epochs(paths.checkpoints)):
        try:
            weights, _ = load_tensors(checkpoint_path(paths.checkpoints, epoch))
        except CorruptFileError as exc:
            damaged.append(exc)
            continue
        return ResumeState(
            epoch=epoch,
            weights=weights,
            optimizer=None,
            torch_rng=None,
            data_rng=None,
            metrics=_metrics_before(paths, epoch),
            source=checkpoint_path(paths.checkpoints, epoch),
            lost=(
                f"resumed from checkpoint epoch {epoch} with the optimizer's moments "
                f"(AdamW) and the RNG streams reset: the run is no longer bit-identical "
                f"to an unbroken one"
            ),
        )
    return None


def _metrics_before(paths, epoch: int) -> dict[str, np.ndarray]:
    try:
        metrics = load_npz(paths.metrics) if Path(paths.metrics).exists() else {}
    except CorruptFileError:
        return {}
    return {k: v[:epoch] for k, v in metrics.items() if k != "epoch"}


def _report(damaged: list[CorruptFileError], state: ResumeState) -> None:
    for exc in damaged:
        log.warning("%s", exc)
    log.warning("Resume: %s", state.lost)


def nearest_resume_state(paths, epoch: int) -> ResumeState | None:
    """The latest exact resume state at or before `epoch`, or None (replay from the start).

    Looks at the kept resume points (checkpoints/resume/) and the run's own resume files;
    a damaged one is logged and skipped in favour of the next earlier one.
    """
    candidates = [
        resume_point_path(paths.checkpoints, e)
        for e in reversed(list_resume_point_epochs(paths.checkpoints))
        if e <= epoch
    ]
    latest = [Path(paths.resume), previous_resume_path(paths.resume)]
    states: list[ResumeState] = []
    for path in latest + candidates:
        if not path.exists():
            continue
        try:
            state = ResumeState.load(path)
        except CorruptFileError as exc:
            log.warning("%s; using an earlier resume point", exc)
            continue
        if state.epoch <= epoch:
            states.append(state)
            if path in candidates:
                break  # kept points are in descending order: the first fit is the nearest
    return max(states, key=lambda s: s.epoch, default=None)
