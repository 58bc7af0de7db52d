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
AXIS = {
    "gridcolor": GRID,
    "linecolor": GRID,
    "zerolinecolor": GRID,
    "ticks": "",
    "automargin": True,
    "title": {"standoff": 12},
}
# A small white template: the full "plotly_white" costs ~60 ms of deep copies per figure.
TEMPLATE = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f"},
        "colorway": [
            "#636efa",
            "#EF553B",
            "#00cc96",
            "#ab63fa",
            "#FFA15A",
            "#19d3f3",
            "#FF6692",
            "#B6E880",
            "#FF97FF",
            "#FECB52",
        ],
        "xaxis": AXIS,
        "yaxis": AXIS,
        "hovermode": "closest",
        "scene": {
            axis: {
                "gridcolor": GRID,
                "zerolinecolor": GRID,
                "backgroundcolor": "white",
                "showbackground": True,
            }
            for axis in ("xaxis", "yaxis", "zaxis")
        },
    }
}


def finish_figure(
    figure: go.Figure,
    spec: Any,
    data: dict[str, Any],
    when: str,
    variant_id: str,
    epoch: int | None = None,
) -> go.Figure:
    """Title 'what — when' with the variant as subtitle, common template and size.

    `layout.meta` carries the parts (view, epoch, variant, what, when), so a dashboard can
    title a panel without the epoch and read the epoch without parsing the title."""
    what = f"{spec.title}{data.get('title_detail', '')}"
    epoch = data.get("epoch", epoch)
    figure.update_layout(
        title={"text": f"{what} — {when}<br><sup>{variant_id}</sup>", "x": 0.02, "xanchor": "left"},
        template=TEMPLATE,
        width=figure.layout.width or data.get("width", WIDTH),
        height=figure.layout.height or data.get("height", HEIGHT),
        margin={"t": 100, "l": 70, "r": 30, "b": 60},
        meta={
            "view": spec.name,
            "epoch": None if epoch is None else int(epoch),
            "variant": variant_id,
            "what": what,
            "when": when,
        },
    )
    format_axis_numbers(figure)
    if figure.layout.legend.orientation is None:
        figure.update_layout(
            legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.01, "yanchor": "bottom"}
        )
    return figure


def format_axis_numbers(figure: go.Figure) -> go.Figure:
    """10⁻⁶ on log axes, plain 2000 … 14,000 on linear ones (not "0.2×10⁴" or SI's "100μ");
    an axis that sets its own exponentformat keeps it."""
    for update_axes in (figure.for_each_xaxis, figure.for_each_yaxis):
        update_axes(
            lambda axis: axis.update(
                exponentformat=axis.exponentformat or ("power" if axis.type == "log" else "none")
            )
        )
    for axis in (*figure.select_xaxes(), *figure.select_yaxes()):
        if axis.type == "log" and axis.dtick is None and log_decades(figure, axis) >= 2:
            # one label per decade: Plotly's automatic "2 5 10⁻¹ 2 5 1 …" clutters the axis
            axis.update(dtick=1)
    return figure


def log_decades(figure: go.Figure, axis: Any) -> float:
    """How many decades a log axis spans (its set range, else the positive data on it)."""
    if axis.range is not None and None not in axis.range:
        return abs(float(axis.range[1]) - float(axis.range[0]))
    letter = axis.plotly_name[0]
    ref = letter + axis.plotly_name[len("xaxis") :]
    values = []
    for trace in figure.data:
        if (getattr(trace, f"{letter}axis", None) or letter) != ref:
            continue
        data = getattr(trace, letter, None)
        if data is None:
            continue
        array = np.asarray(data, dtype=np.float64).ravel() if np.size(data) else np.empty(0)
        values.append(array[np.isfinite(array) & (array > 0)])
    positive = np.concatenate(values) if values else np.empty(0)
    if positive.size == 0:
        return 0.0
    return float(np.log10(positive.max() / positive.min()))


def add_epoch_cursor(
    figure: go.Figure, epoch: int, row: int | None = None, col: int | None = None
) -> go.Figure:
    """A dashed vertical line at `epoch` (shape named 'epoch_cursor' so callers can move it)."""
    kwargs = {"row": row, "col": col} if row is not None else {}
    figure.add_vline(
        x=epoch,
        line={"color": CURSOR_COLOR, "width": 1.5, "dash": "dash"},
        name=CURSOR_NAME,
        **kwargs,
    )
    return figure


def add_cursor_point(
    figure: go.Figure, x: float, y: float, epoch: int, z: float | None = None, **kwargs: Any
) -> go.Figure:
    """A highlighted marker at the cursor epoch on a trajectory (trace named 'epoch_cursor')."""
    marker = {"size": 14, "color": CURSOR_COLOR, "symbol": "circle-open", "line": {"width": 3}}
    common = {
        "mode": "markers",
        "name": f"epoch {epoch}",
        "marker": marker,
        "meta": CURSOR_NAME,
        "showlegend": True,
    }
    if z is None:
        figure.add_trace(go.Scatter(x=[x], y=[y], **common), **kwargs)
    else:
        marker["size"] = 8
        figure.add_trace(go.Scatter3d(x=[x], y=[y], z=[z], **common), **kwargs)
    return figure


# Categorical colours for integer categories (frequency k): colour k is CATEGORICAL[(k-1) % n],
# so a frequency has the same colour in every view and every variant.
CATEGORICAL = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#e7ba52",
    "#637939",
    "#ad494a",
    "#7b4173",
    "#3182bd",
    "#f33a8a",
    "#31a354",
    "#756bb1",
    "#636363",
    "#fd8d3c",
    "#74c476",
    "#9e9ac8",
    "#6baed6",
    "#e6550d",
    "#a1d99b",
    "#843c39",
    "#d6616b",
    "#ce6dbd",
    "#5254a3",
]


def categorical_heatmap_colors(
    values: Any, labels: list[str] | None = None, max_ticks: int = 30
) -> dict[str, Any]:
    """Heatmap keywords (zmin, zmax, colorscale, colorbar) that give every integer category
    its own solid colour and label the colour bar at the categories present, not a gradient
    that suggests frequency 7 lies "between" 6 and 8."""
    present = sorted({int(v) for v in np.ravel(np.asarray(values)) if np.isfinite(v)})
    low, high = (present[0], present[-1]) if present else (0, 1)
    span = high - low + 1
    scale = []
    for index, k in enumerate(range(low, high + 1)):
        colour = CATEGORICAL[(k - 1) % len(CATEGORICAL)]
        scale += [[index / span, colour], [(index + 1) / span, colour]]
    shown = present if len(present) <= max_ticks else present[:: -(-len(present) // max_ticks)]
    text = [labels[k - 1] if labels and 0 < k <= len(labels) else str(k) for k in shown]
    return {
        "zmin": low - 0.5,
        "zmax": high + 0.5,
        "colorscale": scale,
        "colorbar": {"tickvals": shown, "ticktext": text, "ticks": "", "len": 1.0},
    }


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


def epoch_checkpoint_markers(
    epochs: np.ndarray, values: np.ndarray, checkpoints: list[int]
) -> tuple[list[int], list[float]]:
    """The (epoch, value) pairs of a per-epoch curve that fall on a checkpoint."""
    index = {int(e): i for i, e in enumerate(np.asarray(epochs))}
    xs = [c for c in checkpoints if c in index]
    return xs, [float(values[index[c]]) for c in xs]
