"""Many seeds of one configuration trained together in one process (torch.func.vmap).

The K members' weights are stacked along a new leading axis, the trainer's own forward pass
(`forward_logits`) is vectorised over that axis with `torch.func.vmap`, and one AdamW steps the
stacked tensors. AdamW is elementwise, and the gradient of the summed member losses with
respect to member k's weights is exactly member k's own gradient, so each member follows the
update rule of a run alone. Batched matrix products may add in another order than the solo
run's, so a member equals its solo twin to float tolerance, not bit for bit (docs/scaling.md,
"Many seeds in one process": the measured gap and the tolerance the tests hold).

Every member is written as an ordinary variant — variant.json, metrics.npz, checkpoints,
resume.safetensors in the solo trainer's format — so analysis, the catalog and a later solo
`train_variant` (to extend or resume one member) work unchanged.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from miscope_core.checkpoint_names import resume_point_path
from miscope_core.families import Batch, get_family
from miscope_core.io import CorruptFileError, save_npz_atomic
from miscope_core.models.functional import forward_logits
from miscope_core.specs import seed_specs
from miscope_core.training.checkpoints import (
    list_checkpoint_epochs,
    previous_resume_path,
    save_checkpoint,
)
from miscope_core.training.determinism import deterministic_torch, resolve_threads
from miscope_core.training.records import (
    RunEnvironment,
    read_variant_record,
    recorded_threads,
    write_variant_record,
)
from miscope_core.training.state import ResumeState, load_resume_state
from miscope_core.training.trainer import (
    ProgressCallback,
    TrainingResult,
    initial_model_weights,
    run_epochs,
    train_variant,
)
from miscope_core.variants import VariantSpec, check_stored_settings
from miscope_core.workspace import Workspace

log = logging.getLogger(__name__)


def train_seeds_together(
    spec: VariantSpec,
    seeds: Sequence[int],
    workspace: Workspace,
    device: str | None = None,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume_every_s: float = 15.0,
    threads: int | None = None,
    seed_param: str = "seed",
) -> list[TrainingResult]:
    """Train `spec` once per seed in one vectorised run; one TrainingResult per member.

    Resumes from the members' resume files when they agree on the epoch (one member a save
    ahead is rolled back to its previous state); members whose states cannot be joined are
    trained alone with `train_variant`, and the log says so. A member whose loss stops being
    finite is recorded as failed; the others go on.
    """
    from miscope_core.allocator import retain_freed_memory
    from miscope_core.models.bridge import resolve_device

    retain_freed_memory()
    specs = seed_specs(spec, seeds, seed_param)
    family = get_family(spec.family)
    paths = [workspace.variant_paths(s.family, s.variant_id) for s in specs]
    for member, member_paths in zip(specs, paths, strict=True):
        check_stored_settings(member_paths, member)
    threads = recorded_threads(paths[0]) or resolve_threads(threads)
    env = RunEnvironment.current(resolve_device(device), threads)
    with deterministic_torch(env.threads, env.device):
        states = _joinable_states(paths)
        if states is None:
            log.warning("Seed group members are at different epochs; training each alone")
            return [
                train_variant(s, workspace, device, on_progress, should_stop, resume_every_s)
                for s in specs
            ]
        group = _SeedGroup(family, specs, paths, env, states)
        if group.finished():
            return group.results("already_complete")
        status = group.loop(on_progress, should_stop or (lambda: False), resume_every_s)
    return group.results(status)


def _joinable_states(paths) -> list[ResumeState | None] | None:
    """Each member's resume state at one common epoch, or None when they cannot be joined."""
    states = [load_resume_state(p) for p in paths]
    if all(s is None for s in states):
        return states
    if any(s is None or not s.exact for s in states):
        return None
    epoch = min(s.epoch for s in states)
    joined = []
    for state, member in zip(states, paths, strict=True):
        if state.epoch != epoch:  # killed between the members' saves: one save ahead
            state = _previous_state(member)
            if state is None or state.epoch != epoch:
                return None
        joined.append(state)
    return joined


def _previous_state(paths) -> ResumeState | None:
    try:
        return ResumeState.load(previous_resume_path(paths.resume))
    except (CorruptFileError, OSError):
        return None


class _SeedGroup:
    """The stacked weights, optimizer, data streams and metrics of K members."""

    def __init__(self, family, specs, paths, env: RunEnvironment, states):
        self.family, self.specs, self.paths, self.env = family, specs, paths, env
        self.k, self.device = len(specs), env.device
        self.cfg = family.model_config(specs[0].params)
        self.tasks = [family.make_task(s.params, env.device, training=s.training) for s in specs]
        self.probes = [family.build_probe(s.params) for s in specs]
        self.schedules = [set(s.checkpoint_epochs()) for s in specs]
        members, self.torch_rngs = [], []
        for s in specs:  # as train_variant, then each member's state of torch's global stream
            weights = initial_model_weights(family, s, self.cfg, env.device)
            members.append({n: p.detach() for n, p in weights.items()})
            self.torch_rngs.append(torch.get_rng_state())
        self.weights = {
            name: torch.stack([m[name] for m in members]).requires_grad_(
                not family.is_frozen_parameter(name)
            )
            for name in members[0]
        }
        t = specs[0].training
        self.optimizer = torch.optim.AdamW(
            [p for p in self.weights.values() if p.requires_grad],
            lr=t.lr,
            weight_decay=t.weight_decay,
            betas=t.betas,
        )
        self.data_rngs = [
            torch.Generator().manual_seed(int(s.params.get("data_seed", 0))) for s in specs
        ]
        self.metrics = [
            {
                f"{name}_{m}": np.full(t.epochs + 1, np.nan)
                for name in self.tasks[0].eval_sets()
                for m in ("loss", "accuracy")
            }
            for _ in specs
        ]
        self.failed: dict[int, str] = {}
        self.start_epoch = 0
        if states[0] is not None:
            self._restore(states)
        else:
            for index in range(self.k):
                self._write_record(index, "training", 0)
        self.epochs_done = self.start_epoch

    # --- records -----------------------------------------------------------------------
    def _write_record(self, index: int, status: str, epochs: int, error: str | None = None):
        write_variant_record(
            self.paths[index],
            self.specs[index],
            self.family,
            self.env,
            status,
            epochs,
            probe=self.probes[index],
            error=error,
            extra={"seed_group": [s.variant_id for s in self.specs]},
        )

    def finished(self) -> bool:
        """Whether every member has already reached the run's end (as train_variant decides)."""
        epochs = self.specs[0].training.epochs
        return self.start_epoch > epochs or (
            self.start_epoch == epochs
            and all(
                read_variant_record(p).get("status") == "complete"
                and epochs in list_checkpoint_epochs(p.checkpoints)
                for p in self.paths
            )
        )

    def results(self, status: str) -> list[TrainingResult]:
        """One TrainingResult per member ('failed' for a member whose loss diverged)."""
        return [
            TrainingResult(
                s.variant_id,
                p,
                "failed" if i in self.failed else status,
                self.epochs_done,
                list_checkpoint_epochs(p.checkpoints),
            )
            for i, (s, p) in enumerate(zip(self.specs, self.paths, strict=True))
        ]

    # --- state in the solo trainer's format ---------------------------------------------
    def _restore(self, states: list[ResumeState]) -> None:
        with torch.no_grad():
            for name, stacked in self.weights.items():
                stacked.copy_(torch.stack([s.weights[name] for s in states]).to(self.device))
        self.optimizer.load_state_dict(_stack_optimizer_states([s.optimizer for s in states]))
        for index, state in enumerate(states):
            self.torch_rngs[index] = state.torch_rng
            self.data_rngs[index].set_state(state.data_rng)
            for key, values in state.metrics.items():
                n = min(len(values), len(self.metrics[index][key]))
                self.metrics[index][key][:n] = values[:n]
        self.start_epoch = states[0].epoch

    def _member_weights(self, index: int) -> dict[str, torch.Tensor]:
        return {name: stacked[index].detach() for name, stacked in self.weights.items()}

    def _member_state(self, index: int, epoch: int, stacked_optimizer: dict) -> ResumeState:
        return ResumeState(
            epoch=epoch,
            weights=self._member_weights(index),
            optimizer=_member_optimizer_state(stacked_optimizer, index),
            torch_rng=self.torch_rngs[index],
            data_rng=self.data_rngs[index].get_state(),
            metrics=self.metrics[index],
        )

    def _save_resume(self, epoch: int) -> None:
        stacked = self.optimizer.state_dict()
        for index in self._active():
            self._member_state(index, epoch, stacked).save(self.paths[index].resume)
            self._save_metrics(index, epoch)
            self._write_record(index, "training", epoch)

    def _keep_resume_point(self, epoch: int) -> None:
        """Every resume_every epochs, keep each member's exact state (as train_variant does,
        for `miscope densify`)."""
        every = self.specs[0].training.resume_every
        if not every or epoch == 0 or epoch % every:
            return
        stacked = self.optimizer.state_dict()
        for index in self._active():
            path = resume_point_path(self.paths[index].checkpoints, epoch)
            if not path.exists():
                self._member_state(index, epoch, stacked).save(path, keep_previous=False)

    def _save_metrics(self, index: int, n_epochs: int) -> None:
        arrays = {k: v[:n_epochs] for k, v in self.metrics[index].items()}
        save_npz_atomic(self.paths[index].metrics, {"epoch": np.arange(n_epochs), **arrays})

    def _active(self) -> list[int]:
        return [i for i in range(self.k) if i not in self.failed]

    # --- computing ---------------------------------------------------------------------
    def _losses(self, batches: list[Batch], grad: bool) -> tuple[torch.Tensor, list[float]]:
        """Per-member losses [K] (float64, as the solo trainer takes them) and accuracies."""
        last_only = self.tasks[0].readout == "last"
        tokens, token_dim = _stack_if_different([b.tokens for b in batches])
        targets = torch.stack([b.targets.reshape(-1) for b in batches])
        with torch.set_grad_enabled(grad):
            logits = torch.func.vmap(
                lambda w, t: forward_logits(w, self.cfg, t, last_only), in_dims=(0, token_dim)
            )(self.weights, tokens)
            flat = logits.reshape(self.k, -1, logits.shape[-1])
            losses = torch.stack(
                [
                    torch.nn.functional.cross_entropy(flat[i].double(), targets[i], ignore_index=-1)
                    for i in range(self.k)
                ]
            )
        counted = targets >= 0
        hits = (flat.argmax(-1) == targets) & counted
        accuracy = (hits.float().sum(1) / counted.sum(1)).tolist()  # as the solo trainer's mean
        return losses, accuracy

    def _record_eval(self, epoch: int, train: tuple | None) -> dict[str, float]:
        rows = [{} for _ in range(self.k)]
        for name in self.tasks[0].eval_sets():
            if name == "train" and train is not None:
                losses, accuracy = train
            else:
                batches = [task.eval_sets()[name] for task in self.tasks]
                losses, accuracy = self._losses(batches, grad=False)
            for index, loss in enumerate(losses.detach().tolist()):
                rows[index][f"{name}_loss"] = loss
                rows[index][f"{name}_accuracy"] = accuracy[index]
                self.metrics[index][f"{name}_loss"][epoch] = loss
                self.metrics[index][f"{name}_accuracy"][epoch] = accuracy[index]
        active = self._active() or [0]
        return {key: float(np.mean([rows[i][key] for i in active])) for key in rows[0]}

    def _step(self, epoch: int) -> dict[str, float]:
        batches = [t.train_batch(epoch, g) for t, g in zip(self.tasks, self.data_rngs, strict=True)]
        losses, accuracy = self._losses(batches, grad=True)
        for index, value in enumerate(losses.detach().tolist()):
            if not math.isfinite(value) and index not in self.failed:
                self._fail(index, epoch, value)
        full_batch = self.tasks[0].full_batch
        row = self._record_eval(epoch, (losses, accuracy) if full_batch else None)
        self.optimizer.zero_grad(set_to_none=True)
        # d(sum)/d(member k's weights) is member k's own gradient: the members stay independent
        losses.sum().backward()
        self.optimizer.step()
        return row

    def _fail(self, index: int, epoch: int, loss: float) -> None:
        from miscope_core.training.trainer import TrainingDiverged

        error = str(TrainingDiverged(epoch, loss, self.specs[index].training.lr))
        self.failed[index] = error
        self._write_record(index, "failed", epoch, error=error)
        log.warning("%s: %s", self.specs[index].variant_id, error)

    def loop(self, on_progress, should_stop, resume_every_s: float) -> str:
        """Train from start_epoch to the end; 'complete' or 'cancelled'."""
        epochs = self.specs[0].training.epochs
        return run_epochs(self, epochs, on_progress, should_stop, resume_every_s)

    def _finish(self, epochs: int) -> None:
        self._save_resume(epochs)
        for index in self._active():
            self._save_metrics(index, epochs + 1)
            self._write_record(index, "complete", epochs)

    def _save_checkpoints(self, epoch: int) -> bool:
        saved = False
        for index in self._active():
            if epoch in self.schedules[index]:
                save_checkpoint(self.paths[index].checkpoints, epoch, self._member_weights(index))
                saved = True
        return saved


def _stack_if_different(tensors: list[torch.Tensor]) -> tuple[torch.Tensor, int | None]:
    """One shared tensor (vmap in_dim None) when all members see the same data, else stacked."""
    first = tensors[0]
    if all(t is first or torch.equal(t, first) for t in tensors[1:]):
        return first, None
    return torch.stack(tensors), 0


def _member_optimizer_state(stacked: dict, index: int) -> dict:
    """Member `index`'s slice of the stacked AdamW state, in a solo optimizer's format."""
    state = {
        key: {name: value if value.dim() == 0 else value[index] for name, value in entry.items()}
        for key, entry in stacked["state"].items()
    }
    return {"state": state, "param_groups": stacked["param_groups"]}


def _stack_optimizer_states(states: list[dict]) -> dict:
    """The stacked AdamW state from the members' solo states (their steps agree)."""
    first = states[0]
    stacked = {}
    for key, entry in first["state"].items():
        stacked[key] = {
            name: value
            if value.dim() == 0
            else torch.stack([s["state"][key][name] for s in states])
            for name, value in entry.items()
        }
    return {"state": stacked, "param_groups": first["param_groups"]}
