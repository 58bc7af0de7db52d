"""Fix axis and colour ranges across a series of figures (the frames of an animation)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

PAD = 0.04


def numeric_values(values: Any) -> np.ndarray:
    """Finite float values of a trace column, or an empty array for categories/None."""
    if values is None:
        return np.empty(0)
    try:
        array = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return np.empty(0)
    return array[np.isfinite(array)]


def axis_key(trace: Any, letter: str) -> str:
    """Layout key of a trace's axis: 'xaxis', 'yaxis2', ..."""
    ref = getattr(trace, f"{letter}axis", None) or letter
    return f"{letter}axis{ref[1:]}"


def collect_extents(figures: Iterable[Any]) -> tuple[dict[str, list[float]], list[float]]:
    """Per-axis (min, max) over every 2-D trace, and the heatmap z extent, over all figures."""
    extents: dict[str, list[float]] = {}
    z_extent = [math.inf, -math.inf]
    for figure in figures:
        for trace in figure.data:
            if trace.type in ("heatmap", "contour"):
                z = numeric_values(trace.z)
                if z.size:
                    z_extent = [min(z_extent[0], z.min()), max(z_extent[1], z.max())]
                continue
            if trace.type not in ("scatter", "scattergl", "bar"):
                continue
            for letter in "xy":
                values = numeric_values(getattr(trace, letter))
                if values.size:
                    low, high = extents.setdefault(axis_key(trace, letter), [math.inf, -math.inf])
                    extents[axis_key(trace, letter)] = [
                        min(low, values.min()),
                        max(high, values.max()),
                    ]
    return extents, z_extent


def padded(low: float, high: float, log: bool) -> list[float]:
    """An axis range with a small margin (log axes in log10 units)."""
    if log:
        low, high = math.log10(max(low, 1e-300)), math.log10(max(high, 1e-300))
    span = (high - low) or 1.0
    return [low - PAD * span, high + PAD * span]


def fix_axis_ranges(figures: list[Any]) -> list[Any]:
    """Give every frame the same axis ranges and heatmap colour range (unless already fixed)."""
    extents, z_extent = collect_extents(figures)
    for figure in figures:
        for key, (low, high) in extents.items():
            axis = figure.layout[key] if key in figure.layout else None
            if axis is None or axis.range is not None or axis.type == "category":
                continue
            log = axis.type == "log"
            if log and low <= 0:
                continue
            axis.range = padded(low, high, log)
            axis.autorange = False
        for trace in figure.data:
            if (
                trace.type in ("heatmap", "contour")
                and trace.zmin is None
                and math.isfinite(z_extent[0])
            ):
                trace.update(zmin=z_extent[0], zmax=z_extent[1])
    return figures
