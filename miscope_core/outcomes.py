"""Outcome classes of a training run, from its per-epoch metrics (rules in docs/sweeps.md).

- in progress: training has not reached its last epoch and test accuracy never reached 99%.
- no grokking: the finished run never reached test accuracy >= 99%.
- degraded: it reached 99% test accuracy but ended below 95% (it lost what it learned).
- late grokker: it generalized, and its generalization epoch is more than 1.5x the median
  generalization epoch of its peers (the other variants of the sweep that generalized).
- healthy: it generalized, kept it and was not late.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from miscope_core.analysis.phases import detect_phases

OUTCOMES = ("in progress", "no grokking", "degraded", "late grokker", "healthy")
GENERALIZED = 0.99
DEGRADED_BELOW = 0.95
LATE_FACTOR = 1.5


def transition_row(metrics: Mapping[str, np.ndarray], n_classes: int) -> dict[str, Any]:
    """Phase boundaries and events (phases.detect_phases) as ints (None when never)."""
    if not len(metrics.get("epoch", ())):
        return {}
    phases = detect_phases(metrics, n_classes)
    row = {name: None if math.isnan(v) else int(v) for name, v in phases.items()}
    row["final_test_accuracy"] = float(np.asarray(metrics["test_accuracy"])[-1])
    row["final_train_accuracy"] = float(np.asarray(metrics["train_accuracy"])[-1])
    return row


def classify_outcomes(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The outcome class of each row (transition_row + 'finished' bool), peers = all rows."""
    grokked = [r["generalization"] for r in rows if r.get("generalization") is not None]
    median = float(np.median(grokked)) if grokked else math.inf
    return [classify_outcome(r, median) for r in rows]


def classify_outcome(row: Mapping[str, Any], peer_median: float) -> str:
    """One row's class against the median generalization epoch of its peers."""
    generalized = row.get("generalization")
    if generalized is None:
        return "no grokking" if row.get("finished") else "in progress"
    if row.get("final_test_accuracy", 1.0) < DEGRADED_BELOW:
        return "degraded"
    if generalized > LATE_FACTOR * peer_median:
        return "late grokker"
    return "healthy"
