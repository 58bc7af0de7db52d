"""Per-input correctness and margin at every checkpoint, and when each input is learned for good.

An *input* is one scored prediction of the probe: a probe row at one position with a target.
Families with one target per row (modulo addition: the answer at the readout position) give one
input per row; families with per-position targets (induction: the next token at every position,
-1 where none) give one input per scored (row, position).

`inputs.margins` (per epoch; context `readout_position`; hook `hook_unembed`):
  positions [n_pos] int16          the scored positions (columns of the arrays below)
  target [n_probe, n_pos] int32    the class to predict (-1: no target at that position)
  margin [n_probe, n_pos] float32  logit of the target minus the largest other logit
                                   (NaN where there is no target); correct <=> margin > 0
  summary: accuracy [n_epochs], median_margin [n_epochs] over the scored inputs.

`inputs.graduation` (cross-epoch; depends on inputs.margins). C = d_vocab_out, g = groups:
  graduation_epoch [n_probe, n_pos] float64  first checkpoint epoch from which the input is
                                   correct at every later checkpoint ("last learned"); NaN when
                                   it is wrong at the last checkpoint or has no target
  forgetting_count [n_probe, n_pos] int32   correct -> wrong transitions between checkpoints
                                   (forgetting events, Toneva et al. 2019)
  positions, target               as in inputs.margins
  group_names [g] str, group_masks [g, n_probe, n_pos] bool: "all", then "train" / "test"
                                   (rows, from `probe_train_mask`) and "repeated half" / "first
                                   half" (positions, from `repeated_half_mask`) when the family
                                   provides them
  accuracy, graduated_fraction, median_margin [n, g]: share correct now, share graduated by
                                   this checkpoint, median margin, per group
  class_accuracy, class_graduated_fraction [n, C]: the same per target class (NaN: no inputs)
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.neuron_dynamics import commitment_epochs
from miscope_core.analysis.inputs import EpochInputs, EpochSeries
from miscope_core.analysis.registry import CROSS_EPOCH, PER_EPOCH, AnalyzerSpec, register_analyzer

LOGITS_HOOK = "hook_unembed"
UPSTREAM = "inputs.margins"


def scored_targets(inputs: EpochInputs) -> tuple[np.ndarray, np.ndarray]:
    """(scored positions [n_pos], targets [n_probe, n_pos], -1 = none) of the probe."""
    targets = inputs.probe.targets
    if targets is None:
        targets = inputs.context.get("probe_labels")
    if targets is None:
        raise ValueError("inputs.margins needs probe targets or the context key 'probe_labels'")
    targets = np.asarray(targets, dtype=np.int64)
    if targets.ndim == 1:
        position = int(inputs.context["readout_position"])
        return np.array([position], dtype=np.int16), targets[:, None]
    positions = np.flatnonzero((targets >= 0).any(axis=0))
    return positions.astype(np.int16), targets[:, positions]


def target_margins(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Target logit minus the largest other logit; NaN where the target is -1.

    logits [..., C], targets [...] int (-1 = no target) -> [...] float32.
    """
    n_classes = logits.shape[-1]
    if targets.max(initial=-1) >= n_classes:
        raise ValueError(f"Targets reach {targets.max()}, but the model has {n_classes} classes")
    valid = targets >= 0
    safe = np.where(valid, targets, 0)
    chosen = np.take_along_axis(logits, safe[..., None], axis=-1)[..., 0]
    others = logits.copy()
    np.put_along_axis(others, safe[..., None], -np.inf, axis=-1)
    return np.where(valid, chosen - others.max(axis=-1), np.nan).astype(np.float32)


def compute_margins(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Margins of every scored probe input at this checkpoint."""
    positions, targets = scored_targets(inputs)
    logits = inputs.activation(LOGITS_HOOK)[:, positions.astype(np.int64)]
    return {
        "positions": positions,
        "target": targets.astype(np.int32),
        "margin": target_margins(logits, targets),
    }


def summarize_margins(arrays, **_) -> dict[str, np.ndarray]:
    """Accuracy and median margin over the scored inputs."""
    margin = arrays["margin"][np.isfinite(arrays["margin"])]
    return {"accuracy": np.mean(margin > 0), "median_margin": np.median(margin)}


def graduation_epochs(correct: np.ndarray, epochs: np.ndarray) -> np.ndarray:
    """First epoch from which each input stays correct; NaN if wrong at the last checkpoint.

    correct [n_epochs, ...] bool -> [...] float64.
    """
    last_learned = commitment_epochs(correct, np.asarray(epochs)).astype(np.float64)
    return np.where(correct[-1], last_learned, np.nan)


def input_groups(context, positions: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """Named boolean masks over [n_probe, n_pos]: all inputs and the family's splits."""
    valid = target >= 0
    groups = {"all": valid}
    if "probe_train_mask" in context:
        rows = np.asarray(context["probe_train_mask"], dtype=bool)[:, None]
        groups.update({"train": valid & rows, "test": valid & ~rows})
    groups.update(position_groups(context, positions, valid))
    return groups


def position_groups(context, positions: np.ndarray, valid: np.ndarray) -> dict[str, np.ndarray]:
    """'repeated half' / 'first half' masks from the family's per-position mask, if any."""
    if "repeated_half_mask" not in context:
        return {}
    repeated = np.asarray(context["repeated_half_mask"], dtype=bool)[positions.astype(np.int64)]
    return {"repeated half": valid & repeated, "first half": valid & ~repeated}


def forgetting_counts(correct: np.ndarray) -> np.ndarray:
    """Correct -> wrong transitions between consecutive checkpoints, per input."""
    return (np.diff(correct.astype(np.int8), axis=0) < 0).sum(axis=0).astype(np.int32)


def group_rates(values: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Mean of values [n, N] over each mask [g, N] -> [n, g] (NaN for an empty mask)."""
    counts = masks.sum(axis=1)
    sums = values.astype(np.float64) @ masks.T.astype(np.float64)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def group_medians(margins: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Median margin per checkpoint and group -> [n, g] (NaN for an empty group)."""
    return np.stack(
        [
            np.median(margins[:, m], axis=1) if m.any() else np.full(len(margins), np.nan)
            for m in masks
        ],
        axis=1,
    )


def compute_graduation(series: EpochSeries) -> dict[str, np.ndarray]:
    """Graduation epochs and group/class rates from every checkpoint's margins."""
    epochs = np.asarray(series.epochs)
    last = series.load(UPSTREAM, series.epochs[-1])
    positions, target = last["positions"], last["target"]
    margins = np.stack([arrays["margin"] for _, arrays in series.iter(UPSTREAM)])
    correct = margins > 0  # NaN (no target) compares False
    graduation = graduation_epochs(correct, epochs)
    groups = input_groups(series.context, positions, target)
    masks = np.stack([m.ravel() for m in groups.values()])
    flat_correct = correct.reshape(len(epochs), -1)
    graduated = graduation.ravel()[None, :] <= epochs[:, None]
    classes = np.arange(series.config.d_vocab_out)[:, None] == target.ravel()[None, :]
    return {
        "epochs": epochs,
        "positions": positions,
        "target": target,
        "graduation_epoch": graduation,
        "forgetting_count": forgetting_counts(correct),
        "group_names": np.array(list(groups), dtype=str),
        "group_masks": masks.reshape(len(groups), *target.shape),
        "accuracy": group_rates(flat_correct, masks),
        "graduated_fraction": group_rates(graduated, masks),
        "median_margin": group_medians(margins.reshape(len(epochs), -1), masks),
        "class_accuracy": group_rates(flat_correct, classes),
        "class_graduated_fraction": group_rates(graduated, classes),
    }


register_analyzer(
    AnalyzerSpec(
        name=UPSTREAM,
        description="Margin (target logit minus the best other logit) of every scored probe "
        "input at each checkpoint; correct means margin > 0.",
        kind=PER_EPOCH,
        compute=compute_margins,
        outputs=("positions", "target", "margin"),
        hooks=(LOGITS_HOOK,),
        context_keys=("readout_position",),
        summarize=summarize_margins,
        summary_outputs=("accuracy", "median_margin"),
        source="Per-example learning events (Toneva et al. 2019, 'An empirical study of example "
        "forgetting'); margins as in Nanda et al. 2023's correct-logit analyses",
    )
)

register_analyzer(
    AnalyzerSpec(
        name="inputs.graduation",
        description="Per probe input: the epoch from which it stays correct (graduation), "
        "forgetting events, and the share of train/test inputs and of each class graduated "
        "over training.",
        kind=CROSS_EPOCH,
        compute=compute_graduation,
        outputs=(
            "positions",
            "target",
            "graduation_epoch",
            "forgetting_count",
            "group_names",
            "group_masks",
            "accuracy",
            "graduated_fraction",
            "median_margin",
            "class_accuracy",
            "class_graduated_fraction",
        ),
        context_keys=("readout_position",),
        depends_on=(UPSTREAM,),
        source="Toneva et al. 2019 (forgetting events, 'learned for good'); per-input view of "
        "grokking as in Nanda et al. 2023",
    )
)
