"""Zoom-in retraining: re-run a window of training and save checkpoints densely inside it.

Training is deterministic and resumes exactly, so the weights at any epoch can be recomputed
from the nearest exact resume state before it (kept every `resume_every` epochs under
checkpoints/resume/, else epoch 0). The new checkpoint files are byte-identical to what a run
with the denser schedule would have written; every existing checkpoint the replay passes is
compared byte for byte on the way (ReplayDiverged otherwise). Nothing else of the variant
(metrics, resume file, variant.json) is rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from miscope_core.checkpoint_names import checkpoint_path, list_checkpoint_epochs
from miscope_core.families import ValidationError, get_family
from miscope_core.training.records import RunEnvironment, read_variant_record, recorded_threads
from miscope_core.variants import VariantPaths, VariantSpec

MAX_NEW_CHECKPOINTS = 10_000


@dataclass(frozen=True)
class DensifyPlan:
    """What a densify request will do: new checkpoint epochs and where the replay starts."""

    variant_id: str
    start: int
    stop: int
    every: int
    new_epochs: list[int]
    replay_from: int  # the nearest resume point at or before `start` (0: from initialisation)

    @property
    def replay_epochs(self) -> int:
        """Optimisation steps the replay takes to the last new checkpoint (its cost)."""
        return max(self.new_epochs, default=self.replay_from) - self.replay_from


@dataclass
class DensifyResult:
    """What a densify run did."""

    plan: DensifyPlan
    status: str  # "complete", "nothing_to_do" or "cancelled"
    written: list[int] = field(default_factory=list)


def plan_densify(paths: VariantPaths, start: int, stop: int, every: int) -> DensifyPlan:
    """Validate a window against the trained run and list the checkpoints it adds."""
    record = read_variant_record(paths)
    if not record:
        raise ValidationError(f"No trained variant at {paths.root} (variant.json missing)")
    reached = int(record.get("epochs_completed") or 0)
    for name, value in (("from", start), ("to", stop), ("every", every)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"densify {name} must be an integer, got {value!r}")
    if every < 1:
        raise ValidationError(f"densify every must be >= 1, got {every}")
    if not 0 <= start < stop <= reached:
        raise ValidationError(
            f"densify window {start}..{stop} must satisfy 0 <= from < to <= {reached} "
            f"(the epoch this variant is trained to)"
        )
    existing = set(list_checkpoint_epochs(paths.checkpoints))
    new = [e for e in range(start, stop + 1, every) if e not in existing]
    if len(new) > MAX_NEW_CHECKPOINTS:
        raise ValidationError(
            f"densify {start}..{stop} every {every} would add {len(new):,} checkpoints "
            f"(at most {MAX_NEW_CHECKPOINTS:,}); choose a larger every or a smaller window"
        )
    from miscope_core.checkpoint_names import list_resume_point_epochs

    points = [e for e in list_resume_point_epochs(paths.checkpoints) if e <= start]
    return DensifyPlan(record["variant_id"], start, stop, every, new, max(points, default=0))


def densify_variant(
    paths: VariantPaths,
    start: int,
    stop: int,
    every: int,
    on_progress: Callable | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DensifyResult:
    """Write checkpoints every `every` epochs over [start, stop], as a dense run would have.

    Replays on the device and with the thread count recorded in variant.json (both shape
    the bytes). The caller holds the variant's write lock (the job runner does).
    """
    from miscope_core.training.determinism import deterministic_torch, resolve_threads
    from miscope_core.training.state import nearest_resume_state
    from miscope_core.training.trainer import ReplayDiverged, _TrainingRun

    plan = plan_densify(paths, start, stop, every)
    if not plan.new_epochs:
        return DensifyResult(plan, "nothing_to_do")
    record = read_variant_record(paths)
    spec = VariantSpec.from_dict(record)
    family = get_family(spec.family)
    env = RunEnvironment.current(
        record.get("device") or "cpu", recorded_threads(paths) or resolve_threads()
    )
    state = nearest_resume_state(paths, plan.new_epochs[0])
    # run on to the next saved checkpoint, so at least one byte comparison vouches for the
    # new files (the final epoch is always saved, so there is one)
    existing = list_checkpoint_epochs(paths.checkpoints)
    until = min((e for e in existing if e >= plan.new_epochs[-1]), default=plan.new_epochs[-1])
    written: list[int] = []
    with deterministic_torch(env.threads, env.device):
        run = _TrainingRun(family, spec, paths, env, plan.new_epochs, replay_from=state)
        plan = replace(plan, replay_from=run.start_epoch)
        try:
            run.replay(until, written, on_progress, should_stop or (lambda: False))
        except ReplayDiverged:
            for epoch in written:  # not this run's weights: remove them
                checkpoint_path(paths.checkpoints, epoch).unlink(missing_ok=True)
            raise
    status = "complete" if set(written) >= set(plan.new_epochs) else "cancelled"
    return DensifyResult(plan, status, written)
