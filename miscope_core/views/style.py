"""Shared drawing helpers: titles, the epoch cursor, fixed colour scales, common layout."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

CURSOR_NAME = "epoch_cursor"
CURSOR_COLOR = "#d62728"
SEQUENTIAL = "Viridis"
DIVERGING = "RdBu_r"
WIDTH, HEIGHT = 900, 520
GRID = "#e5ecf6"
AXIS = {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "ticks": "",
        "automargin": True, "title": {"standoff": 12}}
# A small white template: the full "plotly_white" costs ~60 ms of deep copies per figure.
TEMPLATE = {"layout": {
    "paper_bgcolor": "white", "plot_bgcolor": "white", "font": {"color": "#2a3f5f"},
    "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692",
                 "#B6E880", "#FF97FF", "#FECB52"],
    "xaxis": AXIS, "yaxis": AXIS, "hovermode": "closest",
    "scene": {axis: {"gridcolor": GRID, "zerolinecolor": GRID, "backgroundcolor": "white",
                     "showbackground": True} for axis in ("xaxis", "yaxis", "zaxis")},
}}


def finish_figure(figure: go.Figure, spec: Any, data: dict[str, Any], when: str,
                  variant_id: str, epoch: int | None = None) -> go.Figure:
    """Title 'what — when' with the variant as subtitle, common template and size.

    `layout.meta` carries the parts (view, epoch, variant, what, when), so a dashboard can
    title a panel without the epoch and read the epoch without parsing the title."""
    what = f"{spec.title}{data.get('title_detail', '')}"
    epoch = data.get("epoch", epoch)
    figure.update_layout(
        title={"text": f"{what} — {when}<br><sup>{variant_id}</sup>", "x": 0.02,
               "xanchor": "left"},
        template=TEMPLATE,
        width=figure.layout.width or data.get("width", WIDTH),
        height=figure.layout.height or data.get("height", HEIGHT),
        margin={"t": 100, "l": 70, "r": 30, "b": 60},
        meta={"view": spec.name, "epoch": None if epoch is None else int(epoch),
              "variant": variant_id, "what": what, "when": when},
    )
    format_axis_numbers(figure)
    if figure.layout.legend.orientation is None:
        figure.update_layout(legend={"orientation": "h", "x": 1, "xanchor": "right",
                                     "y": 1.01, "yanchor": "bottom"})
    return figure


def format_axis_numbers(figure: go.Figure) -> go.Figure:
    """10⁻⁶ on log axes, plain 2000 … 14,000 on linear ones (not "0.2×10⁴" or SI's "100μ");
    an axis that sets its own exponentformat keeps it."""
    for update_axes in (figure.for_each_xaxis, figure.for_each_yaxis):
        update_axes(lambda axis: axis.update(
            exponentformat=axis.exponentformat or ("power" if axis.type == "log" else "none")))
    return figure


def add_epoch_cursor(figure: go.Figure, epoch: int, row: int | None = None,
                     col: int | None = None) -> go.Figure:
    """A dashed vertical line at `epoch` (shape named 'epoch_cursor' so callers can move it)."""
    kwargs = {"row": row, "col": col} if row is not None else {}
    figure.add_vline(x=epoch, line={"color": CURSOR_COLOR, "width": 1.5, "dash": "dash"},
                     name=CURSOR_NAME, **kwargs)
    return figure


def add_cursor_point(figure: go.Figure, x: float, y: float, epoch: int,
                     z: float | None = None, **kwargs: Any) -> go.Figure:
    """A highlighted marker at the cursor epoch on a trajectory (trace named 'epoch_cursor')."""
    marker = {"size": 14, "color": CURSOR_COLOR, "symbol": "circle-open", "line": {"width": 3}}
    common = {"mode": "markers", "name": f"epoch {epoch}", "marker": marker,
              "meta": CURSOR_NAME, "showlegend": True}
    if z is None:
        figure.add_trace(go.Scatter(x=[x], y=[y], **common), **kwargs)
    else:
        marker["size"] = 8
        figure.add_trace(go.Scatter3d(x=[x], y=[y], z=[z], **common), **kwargs)
    return figure


def value_range(*arrays: Any, floor: float | None = None) -> tuple[float, float]:
    """(min, max) over arrays, ignoring NaN; padded when flat, so colour scales stay fixed."""
    values = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in arrays])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (0.0, 1.0)
    low, high = float(values.min()), float(values.max())
    if floor is not None:
        low = min(low, floor)
    if high <= low:
        high = low + 1.0
    return (low, high)


def symmetric_range(*arrays: Any) -> tuple[float, float]:
    """(-m, m) with m the largest magnitude: for diverging colour scales."""
    low, high = value_range(*arrays)
    bound = max(abs(low), abs(high)) or 1.0
    return (-bound, bound)


def epoch_checkpoint_markers(epochs: np.ndarray, values: np.ndarray,
                             checkpoints: list[int]) -> tuple[list[int], list[float]]:
    """The (epoch, value) pairs of a per-epoch curve that fall on a checkpoint."""
    index = {int(e): i for i, e in enumerate(np.asarray(epochs))}
    xs = [c for c in checkpoints if c in index]
    return xs, [float(values[index[c]]) for c in xs]
