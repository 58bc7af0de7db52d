"""The plotted data of a figure as CSV text (what the dashboard's CSV download serves)."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

from miscope_core.views.style import CURSOR_NAME

COLUMNS = ("trace", "subplot", "x", "y", "z", "text")


def subplot_of(trace: Any) -> str:
    """'x/y', 'x2/y2', or 'scene' for 3-D traces: which panel a trace is drawn in."""
    if trace.type == "scatter3d":
        return getattr(trace, "scene", None) or "scene"
    x_ref = getattr(trace, "xaxis", None) or "x"
    y_ref = getattr(trace, "yaxis", None) or "y"
    return f"{x_ref}/{y_ref}"


def trace_rows(trace: Any) -> list[list[Any]]:
    """Long-format rows (trace, subplot, x, y, z, text) of one trace; heatmaps expand to one
    row per cell."""
    name = trace.name or trace.type
    panel = subplot_of(trace)
    if trace.type in ("heatmap", "contour"):
        z = np.asarray(trace.z)
        xs = list(trace.x) if trace.x is not None else list(range(z.shape[1]))
        ys = list(trace.y) if trace.y is not None else list(range(z.shape[0]))
        return [
            [name, panel, xs[j], ys[i], z[i, j], ""]
            for i in range(z.shape[0])
            for j in range(z.shape[1])
        ]
    columns = [getattr(trace, axis, None) for axis in ("x", "y", "z")]
    length = max((len(c) for c in columns if c is not None), default=0)
    texts = getattr(trace, "text", None)
    rows = []
    for i in range(length):
        cells = [c[i] if c is not None and i < len(c) else "" for c in columns]
        text = texts[i] if isinstance(texts, tuple | list) and i < len(texts) else ""
        rows.append([name, panel, *cells, text])
    return rows


def figure_to_csv(figure: Any) -> str:
    """Every trace's plotted values in long format: trace, subplot, x, y, z, text (the epoch
    cursor excluded)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for trace in figure.data:
        if getattr(trace, "meta", None) == CURSOR_NAME:
            continue
        writer.writerows(trace_rows(trace))
    return buffer.getvalue()
