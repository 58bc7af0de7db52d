"""Shape metrics of a 2-D trajectory and transition epochs of a training run.

Comparable across variants when the trajectories are projected on a shared basis
(`cross_variant.fit_shared_basis`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def path_length(points: np.ndarray) -> float:
    """Total length of the polyline through `points` [n, d]."""
    return float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())


def loop_area(points: np.ndarray) -> float:
    """Absolute area enclosed by the closed polygon through 2-D `points` (shoelace formula)."""
    x, y = points[:, 0], points[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _segments_cross(p1, p2, q1, q2) -> bool:
    def orient(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    return (orient(p1, p2, q1) * orient(p1, p2, q2) < 0) and (
        orient(q1, q2, p1) * orient(q1, q2, p2) < 0
    )


def self_intersections(points: np.ndarray) -> int:
    """Number of proper crossings between non-adjacent segments of the 2-D polyline."""
    count = 0
    n = len(points) - 1
    for i in range(n):
        for j in range(i + 2, n):
            if _segments_cross(points[i], points[i + 1], points[j], points[j + 1]):
                count += 1
    return count


def closure_ratio(points: np.ndarray) -> float:
    """Distance from end to start divided by the path length (0 = the loop closes)."""
    length = path_length(points)
    return float(np.linalg.norm(points[-1] - points[0]) / length) if length > 0 else 0.0


def trajectory_shape(points: np.ndarray, closes_below: float = 0.1) -> dict[str, float]:
    """Path length, loop area, self-intersections, closure ratio and whether the loop closes."""
    points = np.asarray(points, dtype=np.float64)[:, :2]
    crossings = self_intersections(points)
    closure = closure_ratio(points)
    return {
        "path_length": path_length(points),
        "loop_area": loop_area(points),
        "self_intersections": float(crossings),
        "closure_ratio": closure,
        "closes": float(crossings > 0 or closure < closes_below),
    }


def first_epoch_above(epochs: np.ndarray, values: np.ndarray, threshold: float) -> int | None:
    """First epoch from which `values` stays above `threshold` to the end, or None."""
    above = np.asarray(values) > threshold
    if not above[-1]:
        return None
    last_below = np.flatnonzero(~above)
    start = last_below[-1] + 1 if len(last_below) else 0
    return int(epochs[start])


def transition_epochs(metrics: Mapping[str, np.ndarray]) -> dict[str, int | None]:
    """Memorisation (train acc > 99%), generalisation (test acc > 99%), test-loss turning points.

    `test_loss_peak` is the epoch of maximum test loss; `test_loss_steepest_drop` the epoch
    where the test loss falls fastest (per epoch, lightly smoothed).
    """
    epochs = np.asarray(metrics["epoch"])
    result: dict[str, int | None] = {
        "train_accuracy_99": first_epoch_above(epochs, metrics["train_accuracy"], 0.99),
        "test_accuracy_99": first_epoch_above(epochs, metrics["test_accuracy"], 0.99),
        "test_loss_peak": None,
        "test_loss_steepest_drop": None,
    }
    if "test_loss" in metrics and len(epochs) > 2:
        loss = np.asarray(metrics["test_loss"], dtype=np.float64)
        result["test_loss_peak"] = int(epochs[int(np.nanargmax(loss))])
        window = max(1, len(epochs) // 100)
        smooth = np.convolve(loss, np.ones(window) / window, mode="same")
        result["test_loss_steepest_drop"] = int(epochs[int(np.nanargmin(np.gradient(smooth)))])
    return result
