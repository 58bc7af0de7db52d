"""The grokking-specific trajectory signature (CALIBRATION.md §6.4, §7 item 9).

Slow during circuit formation, fast and turning during the test-loss drop; checked on
long-plateau runs only.

Windows come from parameters.trajectory_dynamics (window i spans window_epochs[i..i+1]).
- circuit formation = [memorization_end, cleanup_start]; drop window = [cleanup_start, drop_end]
  (drop_end = end of the run when the test loss never reaches 0.01).
- Considering only windows that start at or after memorization_end and before drop_end (after
  cleanup the trajectory slows down again: run A's last window, 3.2, is below its
  circuit-formation minimum, 4.24): the slowest window must have its midpoint inside circuit
  formation, the fastest must overlap the drop window, and fastest / slowest >= 1.5.
- turning: the median cosine of successive displacements whose windows lie inside circuit
  formation, minus the lowest cosine of a pair touching the drop window, must be >= 0.1.
"""

from __future__ import annotations

import math

import numpy as np

from miscope_core.calibration.checks import Check, make, not_run
from miscope_core.calibration.evidence import RunEvidence

SOURCE = "CALIBRATION §6.4, §7.9 (run A 3.1×, 0.81 → 0.60; run D ≥ 1.9×, 0.81 → 0.67)"


def phase_windows(run: RunEvidence) -> tuple[float, float, float]:
    """(memorization_end, cleanup_start, drop_end or the last epoch)."""
    phases = run.phases
    drop_end = phases["drop_end"]
    if math.isnan(drop_end):
        drop_end = float(run.metrics["epoch"][-1])
    return phases["memorization_end"], phases["cleanup_start"], drop_end


def overlaps(starts: np.ndarray, ends: np.ndarray, low: float, high: float) -> np.ndarray:
    """Windows [start, end] that overlap [low, high]."""
    return (ends > low) & (starts < high)


def check_speed(run: RunEvidence) -> Check:
    """Slowest window in circuit formation, fastest in the drop, ratio >= 1.5."""
    claim = "trajectory slowest in circuit formation, fastest in the test-loss drop"
    memorization, cleanup, drop_end = phase_windows(run)
    if math.isnan(cleanup) or math.isnan(memorization):
        return not_run(
            "trajectory_speed",
            claim,
            "max/min ≥ 1.5",
            SOURCE,
            "no test-loss drop in this run (cleanup never started)",
        )
    edges = np.asarray(run.dynamics["window_epochs"], dtype=float)
    moves = np.asarray(run.dynamics["displacement"], dtype=float)
    starts, ends = edges[:-1], edges[1:]
    late = np.flatnonzero((starts >= memorization) & (starts < drop_end))
    if len(late) < 2:
        return not_run(
            "trajectory_speed",
            claim,
            "max/min ≥ 1.5",
            SOURCE,
            "fewer than 2 windows between the end of memorization and the drop",
        )
    slow, fast = late[np.argmin(moves[late])], late[np.argmax(moves[late])]
    middle = (starts[slow] + ends[slow]) / 2
    slow_ok = memorization <= middle <= cleanup
    fast_ok = bool(overlaps(starts, ends, cleanup, drop_end)[fast])
    ratio = moves[fast] / moves[slow]
    return make(
        "trajectory_speed",
        claim,
        ratio,
        "max/min ≥ 1.5, min in circuit formation, max in the drop",
        ratio >= 1.5 and slow_ok and fast_ok,
        SOURCE,
        f"slowest {moves[slow]:.3g} over {starts[slow]:g}–{ends[slow]:g}, fastest "
        f"{moves[fast]:.3g} over {starts[fast]:g}–{ends[fast]:g}; circuit formation "
        f"{memorization:g}–{cleanup:g}, drop {cleanup:g}–{drop_end:g}",
    )


def check_turning(run: RunEvidence) -> Check:
    """The cosine of successive displacements dips >= 0.1 during the drop."""
    claim = "trajectory turns during the test-loss drop (cosine dip)"
    memorization, cleanup, drop_end = phase_windows(run)
    if math.isnan(cleanup) or math.isnan(memorization):
        return not_run(
            "trajectory_turning",
            claim,
            "dip ≥ 0.1",
            SOURCE,
            "no test-loss drop in this run (cleanup never started)",
        )
    edges = np.asarray(run.dynamics["window_epochs"], dtype=float)
    cosines = np.asarray(run.dynamics["turning_cosine"], dtype=float)
    pair_start, pair_end = edges[:-2], edges[2:]
    plateau = (pair_start >= memorization) & (pair_end <= cleanup)
    drop = overlaps(pair_start, pair_end, cleanup, drop_end)
    if not plateau.any() or not drop.any():
        return not_run(
            "trajectory_turning",
            claim,
            "dip ≥ 0.1",
            SOURCE,
            "too few windows inside circuit formation or the drop",
        )
    level, lowest = float(np.median(cosines[plateau])), float(cosines[drop].min())
    return make(
        "trajectory_turning",
        claim,
        level - lowest,
        "dip ≥ 0.1",
        level - lowest >= 0.1,
        SOURCE,
        f"circuit-formation cosine {level:.2f} → {lowest:.2f} in the drop",
    )


def signature_checks(run: RunEvidence) -> list[Check]:
    """Both signature checks."""
    return [check_speed(run), check_turning(run)]
