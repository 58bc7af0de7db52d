"""Phase boundaries of a grokking run, detected from the instruments (CALIBRATION.md §1.2).

Definitions (C = number of output classes, chance loss ln C; all from per-epoch metrics except
the last, which reads the sum of squared weights at the checkpoints):
- memorization_end: the later of (first epoch with train loss < 1e-3, "memorised" in
  CALIBRATION §7.4) and (the epoch of the test-loss peak before cleanup). TL demo: test loss
  peaks at 1 399 (the paper draws its line at 1 400); p = 59 / 40%: train loss < 1e-3 at ~400.
- cleanup_start: first epoch after memorization_end with test loss < ln C (better than chance
  on unseen inputs: 13 299 in the TL demo log, whose phase line is at 13 300).
- cleanup_end: first checkpoint at or after cleanup_start where the sum of squared weights has
  completed 90% of its fall from its value at cleanup_start to its minimum afterwards.
- memorized: first epoch with train accuracy >= 0.99; generalization: first epoch with test
  accuracy >= 0.99 (the grokking delay of issue 8 is their ratio); drop_end: first epoch after
  cleanup_start with test loss < 0.01 (the end of the test-loss drop window).
A boundary that never happens is NaN.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

PHASE_NAMES = ("memorization_end", "cleanup_start", "cleanup_end")
EVENT_NAMES = ("memorized", "generalization", "drop_end")


def first_epoch(epochs: np.ndarray, condition: np.ndarray, after: float = -np.inf) -> float:
    """First epoch >= after where condition holds (NaN when never)."""
    hits = np.flatnonzero(np.asarray(condition) & (np.asarray(epochs) >= after))
    return float(epochs[hits[0]]) if len(hits) else float("nan")


def detect_phases(
    metrics: Mapping[str, np.ndarray],
    n_classes: int,
    checkpoint_epochs: np.ndarray | None = None,
    sum_squares: np.ndarray | None = None,
) -> dict[str, float]:
    """Boundary epochs (memorization_end, cleanup_start, cleanup_end) and events."""
    epochs = np.asarray(metrics["epoch"], dtype=np.float64)
    test_loss = np.asarray(metrics["test_loss"], dtype=np.float64)
    memorized = first_epoch(epochs, np.asarray(metrics["train_accuracy"]) >= 0.99)
    chance = np.log(n_classes)
    memorization_end = cleanup_start = float("nan")
    train_loss = np.asarray(metrics.get("train_loss", np.full(len(epochs), np.nan)), dtype=float)
    fitted = first_epoch(epochs, train_loss < 1e-3)
    if not np.isnan(fitted):
        better = first_epoch(epochs, test_loss < chance, after=fitted)
        before = epochs <= (better if not np.isnan(better) else np.inf)
        memorization_end = max(fitted, float(epochs[before][np.nanargmax(test_loss[before])]))
        cleanup_start = first_epoch(epochs, test_loss < chance, after=memorization_end)
    return {
        "memorization_end": memorization_end,
        "cleanup_start": cleanup_start,
        "cleanup_end": weight_fall_end(checkpoint_epochs, sum_squares, cleanup_start),
        "memorized": memorized,
        "generalization": first_epoch(epochs, np.asarray(metrics["test_accuracy"]) >= 0.99),
        "drop_end": first_epoch(
            epochs, test_loss < 0.01, after=cleanup_start if not np.isnan(cleanup_start) else np.inf
        ),
    }


def weight_fall_end(epochs, sum_squares, start: float, fraction: float = 0.9) -> float:
    """First checkpoint >= start where sum_squares has done `fraction` of its fall to its min."""
    if epochs is None or sum_squares is None or np.isnan(start):
        return float("nan")
    epochs, values = np.asarray(epochs, dtype=np.float64), np.asarray(sum_squares, dtype=float)
    after = epochs >= start
    if after.sum() < 2:
        return float("nan")
    begin, lowest = values[after][0], values[after].min()
    if begin <= lowest:
        return float("nan")
    done = (begin - values) >= fraction * (begin - lowest)
    return first_epoch(epochs, done, after=start)


def phases_as_arrays(phases: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Artifact form: boundary_names [k] str, boundary_epochs [k] float64 (boundaries, events)."""
    names = [*PHASE_NAMES, *EVENT_NAMES]
    return {
        "boundary_names": np.array(names),
        "boundary_epochs": np.array([phases[n] for n in names], dtype=np.float64),
    }


def phases_from_arrays(arrays: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Inverse of phases_as_arrays."""
    pairs = zip(arrays["boundary_names"], arrays["boundary_epochs"], strict=True)
    return {str(n): float(e) for n, e in pairs}
