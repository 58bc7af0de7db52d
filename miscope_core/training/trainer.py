"""The training loop: full-batch or minibatch AdamW, checkpoints, progress, cancel, exact resume."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from miscope_core.checkpoint_names import checkpoint_path, resume_point_path
from miscope_core.families import Batch, Family, ModelConfig, get_family
from miscope_core.io import save_npz_atomic
from miscope_core.models.functional import forward_logits
from miscope_core.training.checkpoints import (
    checkpoint_bytes,
    list_checkpoint_epochs,
    save_checkpoint,
)
from miscope_core.training.determinism import deterministic_torch, resolve_threads
from miscope_core.training.records import (
    RunEnvironment,
    read_variant_record,
    recorded_threads,
    write_variant_record,
)
from miscope_core.training.schedule import resolve_checkpoint_epochs
from miscope_core.training.state import ResumeState, load_resume_state
from miscope_core.variants import VariantPaths, VariantSpec, check_stored_settings
from miscope_core.workspace import Workspace


@dataclass(frozen=True)
class TrainingProgress:
    """One epoch's report to a progress callback."""

    epoch: int
    epochs: int
    metrics: Mapping[str, float]
    checkpoint_saved: bool
    elapsed_s: float


@dataclass
class TrainingResult:
    """What a call to train_variant did."""

    variant_id: str
    paths: VariantPaths
    status: str  # "complete", "already_complete" or "cancelled"
    epochs_completed: int
    checkpoint_epochs: list[int] = field(default_factory=list)


ProgressCallback = Callable[[TrainingProgress], None]


class ReplayDiverged(RuntimeError):
    """A densify replay computed other weights than the original run at a saved checkpoint."""

    def __init__(self, epoch: int, path: Path, start: int):
        super().__init__(
            f"Replaying from epoch {start} gave other weights than the saved checkpoint "
            f"{path} at epoch {epoch}; the new checkpoints would not belong to this run, so "
            f"none past it are written. The replay must run with the torch version, device "
            f"and thread count recorded in variant.json"
        )
        self.epoch = epoch


class TrainingDiverged(RuntimeError):
    """The training loss stopped being finite (NaN or infinite); the run failed."""

    def __init__(self, epoch: int, loss: float, lr: float):
        kind = "NaN" if math.isnan(loss) else "infinite"
        super().__init__(
            f"loss became {kind} at epoch {epoch}; training stopped. "
            f"Try a smaller learning rate than lr={lr:g}"
        )
        self.epoch = epoch


def train_variant(
    spec: VariantSpec,
    workspace: Workspace,
    device: str | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume_every_s: float = 15.0,
    threads: int | None = None,
) -> TrainingResult:
    """Train (or resume, or extend) a variant up to spec.training.epochs, deterministically.

    `threads` (else $MISCOPE_THREADS, else 1) is the intra-op thread budget of a new variant;
    a resumed or extended one keeps the count it was started with, so it ends byte-identical
    to an unbroken run. A loss that stops being finite raises TrainingDiverged.
    """
    from miscope_core.allocator import retain_freed_memory
    from miscope_core.models.bridge import resolve_device

    retain_freed_memory()
    family = get_family(spec.family)
    paths = workspace.variant_paths(spec.family, spec.variant_id)
    check_stored_settings(paths, spec)
    # a variant already started keeps its count: resumes must compute as the first run did
    threads = recorded_threads(paths) or resolve_threads(threads)
    env = RunEnvironment.current(resolve_device(device), threads)
    epochs = spec.training.epochs
    schedule = resolve_checkpoint_epochs(
        spec.training.checkpoints, epochs, lambda n: family.default_checkpoints(spec.params, n)
    )
    with deterministic_torch(env.threads, env.device):
        run = _TrainingRun(family, spec, paths, env, schedule)
        if run.finished(epochs):
            return TrainingResult(
                spec.variant_id,
                paths,
                "already_complete",
                run.start_epoch,
                list_checkpoint_epochs(paths.checkpoints),
            )
        try:
            status = run.loop(on_progress, should_stop or (lambda: False), resume_every_s)
        except TrainingDiverged as exc:
            run.write_record("failed", run.epochs_done, error=str(exc))
            raise
    run.write_record(status, run.epochs_done)
    return TrainingResult(
        spec.variant_id, paths, status, run.epochs_done, list_checkpoint_epochs(paths.checkpoints)
    )


def initial_model_weights(
    family: Family, spec: VariantSpec, cfg: ModelConfig, device: str
) -> dict[str, torch.Tensor]:
    """The weights a run of `spec` starts from: the bridge's init drawn after seeding torch's
    global stream with the model seed, then whatever the family draws itself."""
    from miscope_core.models.bridge import build_bridge

    torch.manual_seed(family.model_seed(spec.params))
    weights = dict(
        build_bridge(cfg, family.model_seed(spec.params), device).state_dict(keep_vars=True)
    )
    initial = family.initial_weights(spec.params, cfg)
    unknown = sorted(set(initial) - set(weights))
    if unknown:
        raise ValueError(
            f"Family '{family.name}' initializes unknown weights {unknown}; "
            f"the model has {sorted(weights)}"
        )
    with torch.no_grad():
        for name, value in initial.items():
            weights[name].copy_(value)
    return weights


class _TrainingRun:
    """State of one training process: model weights, optimizer, data, metrics."""

    def __init__(
        self,
        family: Family,
        spec: VariantSpec,
        paths: VariantPaths,
        env: RunEnvironment,
        schedule: list[int],
        replay_from: ResumeState | None | str = "latest",
    ):
        """replay_from: "latest" resumes the run itself; a ResumeState (or None: epoch 0)
        replays from there without touching the run's records (densify)."""
        self.family, self.spec, self.paths, self.env = family, spec, paths, env
        device = self.device = env.device
        self.probe = family.build_probe(spec.params)
        self.schedule = set(schedule)
        self.cfg: ModelConfig = family.model_config(spec.params)
        self.task = family.make_task(spec.params, device, training=spec.training)
        self.weights = initial_model_weights(family, spec, self.cfg, device)
        trainable = []
        for name, param in self.weights.items():
            param.requires_grad_(not family.is_frozen_parameter(name))
            if param.requires_grad:
                trainable.append(param)
        self.trainable_names = [n for n, p in self.weights.items() if p.requires_grad]
        t = spec.training
        self.optimizer = torch.optim.AdamW(
            trainable, lr=t.lr, weight_decay=t.weight_decay, betas=t.betas
        )
        self.data_rng = torch.Generator().manual_seed(int(spec.params.get("data_seed", 0)))
        self.metrics = {
            f"{name}_{m}": np.full(t.epochs + 1, np.nan)
            for name in self.task.eval_sets()
            for m in ("loss", "accuracy")
        }
        self.start_epoch = 0
        self.resume_every = t.resume_every
        if replay_from != "latest":
            if replay_from is not None:
                self._restore(replay_from)
        elif (state := load_resume_state(paths)) is not None:  # falls back past damage
            self._restore(state)
        else:
            self.write_record("training", 0)
        self.epochs_done = self.start_epoch

    def finished(self, epochs: int) -> bool:
        """Whether a run to `epochs` has nothing left to do. A kill after the last resume save
        but before the final metrics and record leaves the last epoch to redo."""
        if self.start_epoch > epochs:
            return True
        complete = read_variant_record(self.paths).get("status") == "complete"
        return (
            self.start_epoch == epochs
            and complete
            and epochs in list_checkpoint_epochs(self.paths.checkpoints)
        )

    def write_record(self, status: str, epochs_completed: int, error: str | None = None) -> None:
        """Rewrite variant.json with the run's status and the epoch it has reached."""
        write_variant_record(
            self.paths,
            self.spec,
            self.family,
            self.env,
            status,
            epochs_completed,
            probe=self.probe,
            error=error,
        )

    def _restore(self, state: ResumeState) -> None:
        with torch.no_grad():
            for name, value in state.weights.items():
                self.weights[name].copy_(value.to(self.device))
        if state.exact:  # else restored from a checkpoint: optimizer and RNGs start afresh
            self.optimizer.load_state_dict(state.optimizer)
            torch.set_rng_state(state.torch_rng)
            self.data_rng.set_state(state.data_rng)
        for key, values in state.metrics.items():
            n = min(len(values), len(self.metrics[key]))
            self.metrics[key][:n] = values[:n]
        self.start_epoch = state.epoch

    def _resume_state(self, epoch: int) -> ResumeState:
        return ResumeState(
            epoch=epoch,
            weights={k: v.detach() for k, v in self.weights.items()},
            optimizer=self.optimizer.state_dict(),
            torch_rng=torch.get_rng_state(),
            data_rng=self.data_rng.get_state(),
            metrics=self.metrics,
        )

    def _keep_resume_point(self, epoch: int) -> None:
        """Every resume_every epochs, keep the exact state for later densify replays."""
        if not self.resume_every or epoch == 0 or epoch % self.resume_every:
            return
        path = resume_point_path(self.paths.checkpoints, epoch)
        if not path.exists():
            self._resume_state(epoch).save(path, keep_previous=False)

    def _save_resume(self, epoch: int) -> None:
        self._resume_state(epoch).save(self.paths.resume)
        self._save_metrics(epoch)
        # progress for `miscope variants` and the dashboard while the run goes on
        self.write_record("training", epoch)

    def _save_metrics(self, n_epochs: int) -> None:
        arrays = {k: v[:n_epochs] for k, v in self.metrics.items()}
        save_npz_atomic(self.paths.metrics, {"epoch": np.arange(n_epochs), **arrays})

    def _loss_and_accuracy(
        self, batch: Batch, grad: bool, shared: dict | None = None
    ) -> tuple[torch.Tensor, float]:
        last_only = self.task.readout == "last"
        with torch.set_grad_enabled(grad):
            # eval sets that share one token tensor (e.g. different target masks) share logits
            logits = shared.get(id(batch.tokens)) if shared is not None else None
            if logits is None:
                logits = forward_logits(self.weights, self.cfg, batch.tokens, last_only)
                if shared is not None:
                    shared[id(batch.tokens)] = logits
            flat_logits = logits.reshape(-1, logits.shape[-1])
            targets = batch.targets.reshape(-1)
            loss = torch.nn.functional.cross_entropy(flat_logits.double(), targets, ignore_index=-1)
        counted = targets >= 0
        correct = (flat_logits.argmax(-1) == targets)[counted].float().mean().item()
        return loss, correct

    def _record_eval(self, epoch: int, train_result: tuple | None) -> dict[str, float]:
        row, shared = {}, {}
        for name, batch in self.task.eval_sets().items():
            if name == "train" and train_result is not None:
                loss, accuracy = train_result
            else:
                loss, accuracy = self._loss_and_accuracy(batch, grad=False, shared=shared)
            row[f"{name}_loss"], row[f"{name}_accuracy"] = loss.item(), accuracy
            self.metrics[f"{name}_loss"][epoch] = row[f"{name}_loss"]
            self.metrics[f"{name}_accuracy"][epoch] = accuracy
        return row

    def loop(self, on_progress, should_stop, resume_every_s: float) -> str:
        return run_epochs(self, self.spec.training.epochs, on_progress, should_stop, resume_every_s)

    def _save_checkpoints(self, epoch: int) -> bool:
        if epoch not in self.schedule:
            return False
        save_checkpoint(
            self.paths.checkpoints, epoch, {k: v.detach() for k, v in self.weights.items()}
        )
        return True

    def _finish(self, epochs: int) -> None:
        self._save_resume(epochs)
        self._save_metrics(epochs + 1)

    def replay(self, until: int, written: list[int], on_progress, should_stop) -> None:
        """Re-train from the restored epoch to `until`, writing the schedule's missing
        checkpoints (their epochs are appended to `written`). Every existing checkpoint passed
        on the way is compared byte for byte with what the replay computes, so a replay that
        drifted from the original run (another torch, device or thread count) stops with
        ReplayDiverged."""
        started = time.monotonic()
        for epoch in range(self.start_epoch, until + 1):
            if should_stop():
                break
            self._keep_resume_point(epoch)
            weights = {k: v.detach() for k, v in self.weights.items()}
            existing = checkpoint_path(self.paths.checkpoints, epoch)
            if existing.exists():
                if checkpoint_bytes(epoch, weights) != existing.read_bytes():
                    raise ReplayDiverged(epoch, existing, self.start_epoch)
            elif epoch in self.schedule:
                save_checkpoint(self.paths.checkpoints, epoch, weights)
                written.append(epoch)
            row = self._step(epoch) if epoch < until else {}
            if on_progress:
                progress = TrainingProgress(
                    epoch, until, row, epoch in written, time.monotonic() - started
                )
                on_progress(progress)

    def _step(self, epoch: int) -> dict[str, float]:
        batch = self.task.train_batch(epoch, self.data_rng)
        loss, accuracy = self._loss_and_accuracy(batch, grad=True)
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDiverged(epoch, value, self.spec.training.lr)
        row = self._record_eval(epoch, (loss.detach(), accuracy) if self.task.full_batch else None)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return row


def run_epochs(run, epochs: int, on_progress, should_stop, resume_every_s: float) -> str:
    """The epoch loop of a run (one variant, or a seed group): 'complete' or 'cancelled'.

    Each epoch: keep a resume point when due, save the scheduled checkpoint, step (the last
    epoch only evaluates), save the resume state after a checkpoint or every resume_every_s.
    """
    started = last_resume_save = time.monotonic()
    for epoch in range(run.start_epoch, epochs + 1):
        if should_stop():
            run._save_resume(epoch)
            return "cancelled"
        run._keep_resume_point(epoch)
        saved = run._save_checkpoints(epoch)
        row = run._record_eval(epoch, None) if epoch == epochs else run._step(epoch)
        run.epochs_done = epoch
        now = time.monotonic()
        if epoch < epochs and (saved or now - last_resume_save > resume_every_s):
            run._save_resume(epoch + 1)
            last_resume_save = now
        if on_progress:
            on_progress(TrainingProgress(epoch, epochs, row, saved, now - started))
    run._finish(epochs)
    return "complete"


def load_metrics(paths: VariantPaths) -> dict[str, np.ndarray]:
    """Per-epoch metrics of a variant ({} before its first save)."""
    from miscope_core.io import load_npz

    return load_npz(paths.metrics) if Path(paths.metrics).exists() else {}
