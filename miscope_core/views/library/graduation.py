"""Per-input graduation: when each probe input is learned for good, by input, group and class."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.registry import CROSS_EPOCH, PER_EPOCH, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import DIVERGING, SEQUENTIAL, add_epoch_cursor, symmetric_range

ANALYZER = "inputs.graduation"
MARGINS = "inputs.margins"
COMMON = {"requires": (ANALYZER,), "context_keys": ("readout_position",)}


def input_grid(source: VariantSource, arrays: dict[str, np.ndarray], values: np.ndarray):
    """(grid [rows, cols], x labels, y labels, x title, y title) of per-input values.

    One input per probe row on a square probe grid (modular addition) -> the (a, b) grid;
    otherwise probe row x scored position (induction: sequence x position).
    """
    shape = source.context.get("probe_grid_shape")
    n_probe, n_pos = values.shape
    if shape is not None and n_pos == 1 and int(np.prod(shape)) == n_probe:
        n_a, n_b = (int(s) for s in shape)
        return values.reshape(n_a, n_b), list(range(n_b)), list(range(n_a)), "b", "a"
    labels = source.position_labels(int(np.max(arrays["positions"])) + 1)
    x = [labels[int(p)] for p in arrays["positions"]]
    return values, x, list(range(n_probe)), "position (predicting the next token)", "probe row"


def load_graduation_heatmap(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Graduation epoch of every probe input laid out on the family's input grid."""
    arrays = source.cross_epoch(ANALYZER)
    grid, x, y, x_title, y_title = input_grid(source, arrays, arrays["graduation_epoch"])
    never = int(np.sum(np.isnan(arrays["graduation_epoch"]) & (arrays["target"] >= 0)))
    return {
        "epoch": epoch,
        "z": grid,
        "x": x,
        "y": y,
        "x_title": x_title,
        "y_title": y_title,
        "z_range": (float(arrays["epochs"][0]), float(arrays["epochs"][-1])),
        "title_detail": f" ({never} input(s) not graduated: blank)",
        "marks": training_marks(source, arrays, x, y),
    }


def training_marks(source: VariantSource, arrays, x: list, y: list) -> dict[str, Any] | None:
    """Grid coordinates of the training inputs (None when the probe has no train split): the
    heatmap dots them, since train and test inputs graduate in different phases."""
    names = [str(n) for n in arrays["group_names"]]
    if "train" not in names:
        return None
    grid = input_grid(source, arrays, arrays["group_masks"][names.index("train")])[0]
    rows, cols = np.nonzero(grid)
    return {"x": [x[c] for c in cols], "y": [y[r] for r in rows], "name": "training input"}


def make_fixed_heatmap_renderer(
    name: str, colorbar: str, hover: str, colorscale: str = SEQUENTIAL, **y_axis: Any
):
    """Renderer of a heatmap (data: x, y, z, z_range, x_title, y_title) on a fixed scale."""

    def render(data: dict[str, Any]) -> go.Figure:
        low, high = data["z_range"]
        figure = go.Figure(
            go.Heatmap(
                x=data["x"],
                y=data["y"],
                z=data["z"],
                zmin=low,
                zmax=high,
                colorscale=colorscale,
                name=name,
                colorbar={"title": {"text": colorbar}},
                hovertemplate=hover + "<extra></extra>",
            )
        )
        marks = data.get("marks")
        if marks:
            figure.add_trace(
                go.Scatter(
                    x=marks["x"],
                    y=marks["y"],
                    mode="markers",
                    name=marks["name"],
                    # white: training inputs graduate first, on the dark end of the scale
                    marker={
                        "size": 4,
                        "color": "rgba(255,255,255,0.85)",
                        "line": {"width": 0.5, "color": "rgba(0,0,0,0.5)"},
                    },
                    hoverinfo="skip",
                    showlegend=True,  # a lone legend entry is hidden unless asked for
                )
            )
            figure.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
        figure.update_xaxes(title_text=data["x_title"])
        figure.update_yaxes(title_text=data["y_title"], **y_axis)
        return figure

    return render


def load_margin_grid(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Margin of every probe input at one checkpoint, on a colour range fixed over training."""
    arrays = source.epoch(MARGINS, epoch)
    _, history = source.stacked(MARGINS, "margin")
    grid, x, y, x_title, y_title = input_grid(source, arrays, arrays["margin"])
    margin = arrays["margin"][np.isfinite(arrays["margin"])]
    return {
        "z": grid,
        "x": x,
        "y": y,
        "x_title": x_title,
        "y_title": y_title,
        "z_range": symmetric_range(history),
        "title_detail": f" ({np.mean(margin > 0):.1%} correct)",
    }


def load_graduated_fraction(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Share of each input group graduated, and correct, at every checkpoint."""
    arrays = source.cross_epoch(ANALYZER)
    names = [str(n) for n in arrays["group_names"]]
    return {
        "epoch": epoch,
        "epochs": arrays["epochs"],
        "groups": names,
        "graduated": arrays["graduated_fraction"],
        "accuracy": arrays["accuracy"],
    }


def render_graduated_fraction(data: dict[str, Any]) -> go.Figure:
    """Solid: share graduated (correct from then on); dotted: share correct at the checkpoint."""
    figure = go.Figure()
    colors = ["#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    for index, name in enumerate(data["groups"]):
        color = colors[index % len(colors)]
        figure.add_trace(
            go.Scatter(
                x=data["epochs"],
                y=data["graduated"][:, index],
                name=f"{name}: graduated",
                mode="lines+markers",
                line={"color": color},
            )
        )
        figure.add_trace(
            go.Scatter(
                x=data["epochs"],
                y=data["accuracy"][:, index],
                name=f"{name}: correct now",
                mode="lines",
                line={"color": color, "dash": "dot"},
            )
        )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="share of inputs", range=[0, 1.02])
    return figure


def load_class_timeline(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Share of each target class's inputs graduated at every checkpoint."""
    arrays = source.cross_epoch(ANALYZER)
    share = np.asarray(arrays["class_graduated_fraction"], dtype=np.float64)
    present = np.flatnonzero(np.isfinite(share).any(axis=0))
    return {
        "epoch": epoch,
        "epochs": arrays["epochs"],
        "z": share[:, present].T,
        "rows": [str(int(c)) for c in present],
    }


def make_share_heatmap_renderer(y_title: str, colorbar: str, hover: str):
    """Renderer of a (row x checkpoint) heatmap of shares on a fixed 0..1 scale, with cursor."""

    def render(data: dict[str, Any]) -> go.Figure:
        figure = go.Figure(
            go.Heatmap(
                x=data["epochs"],
                y=data["rows"],
                z=data["z"],
                zmin=0,
                zmax=1,
                colorscale=SEQUENTIAL,
                name=colorbar,
                colorbar={"title": {"text": colorbar}},
                hovertemplate=hover + "<br>epoch %{x}<br>%{z:.3f}<extra></extra>",
            )
        )
        add_epoch_cursor(figure, data["epoch"])
        figure.update_xaxes(title_text="epoch")
        figure.update_yaxes(title_text=y_title, type="category")
        return figure

    return render


register_view(
    ViewSpec(
        name="inputs.graduation_heatmap",
        title="Graduation epoch per input",
        kind=CROSS_EPOCH,
        description="The epoch from which each probe input stays correct, on the family's input "
        "grid ((a, b) for modular addition; probe row x position otherwise); blank = never; "
        "white dots mark the training inputs where the probe has a train split.",
        loader=load_graduation_heatmap,
        renderer=make_fixed_heatmap_renderer(
            "graduation epoch",
            "graduation<br>epoch",
            "%{y}, %{x}<br>graduated at epoch %{z}",
            autorange="reversed",
        ),
        uses_epoch=False,
        **COMMON,
    )
)

register_view(
    ViewSpec(
        name="inputs.graduated_fraction",
        title="Inputs graduated over training",
        kind=CROSS_EPOCH,
        description="Share of the probe inputs (all, train/test or the family's groups) "
        "graduated by each checkpoint, beside the share correct at that checkpoint.",
        loader=load_graduated_fraction,
        renderer=render_graduated_fraction,
        aliases=("graduation",),
        **COMMON,
    )
)

register_view(
    ViewSpec(
        name="inputs.class_timeline",
        title="Graduation per class",
        kind=CROSS_EPOCH,
        description="Share of each target class's inputs graduated at every checkpoint.",
        loader=load_class_timeline,
        renderer=make_share_heatmap_renderer("target class", "share graduated", "class %{y}"),
        **COMMON,
    )
)

register_view(
    ViewSpec(
        name="inputs.margins",
        title="Margin per input",
        kind=PER_EPOCH,
        requires=(MARGINS,),
        description="Target logit minus the best other logit for every probe input at a "
        "checkpoint (> 0: correct), on the family's input grid.",
        loader=load_margin_grid,
        renderer=make_fixed_heatmap_renderer(
            "margin",
            "margin<br>(logits)",
            "%{y}, %{x}<br>margin %{z:.3g}",
            colorscale=DIVERGING,
            autorange="reversed",
        ),
        context_keys=("readout_position",),
    )
)
