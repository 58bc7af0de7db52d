"""Attention views: patterns over the input grid per head, and each head's frequency use."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from miscope_core.views.registry import ACROSS_EPOCHS, PER_EPOCH, ViewParam, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.spectra import LAYER
from miscope_core.views.style import SEQUENTIAL, add_epoch_cursor

PATTERNS = "attention.patterns"
SPECIALIZATION = "attention.frequency_specialization"
KEY_POSITION = ViewParam("key_position", int, 0, "key position attended to", upper="n_ctx")
HEAD_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
)


def load_attention_grids(
    source: VariantSource, epoch: int, layer: int = 0, key_position: int = 0
) -> dict[str, Any]:
    """Per head: attention from the readout to `key_position` over the probe grid when the
    family has one, else attention from the readout to every position for every probe row."""
    patterns = np.asarray(source.epoch(PATTERNS, epoch)["patterns"][layer], dtype=np.float32)
    n_heads, n_probe, n_ctx = patterns.shape
    shape = source.context.get("probe_grid_shape")
    if shape is not None and int(np.prod(shape)) == n_probe:
        grids = patterns[:, :, key_position].reshape(n_heads, *(int(s) for s in shape))
        axes = ("input 1 token", "input 0 token", None)
        detail = f" to position {key_position} (layer {layer})"
    else:
        grids, axes = patterns, ("key position", "probe sequence", source.position_labels(n_ctx))
        detail = f" to every position (layer {layer})"
    return {
        "epoch": epoch,
        "grids": grids,
        "axes": axes,
        "title_detail": detail,
        "width": 300 * n_heads + 120,
        "height": 480,
    }


def render_attention_grids(data: dict[str, Any]) -> go.Figure:
    """One heatmap per head, colour scale fixed to 0..1."""
    grids = data["grids"]
    x_title, y_title, x_labels = data["axes"]
    figure = make_subplots(
        rows=1,
        cols=len(grids),
        horizontal_spacing=0.04,
        subplot_titles=[f"head {h}" for h in range(len(grids))],
    )
    for head, grid in enumerate(grids):
        figure.add_trace(
            go.Heatmap(
                z=grid,
                x=x_labels,
                zmin=0,
                zmax=1,
                colorscale=SEQUENTIAL,
                coloraxis="coloraxis",
                name=f"head {head}",
                hovertemplate="row %{y}<br>column %{x}<br>attention %{z:.2f}<extra></extra>",
            ),
            row=1,
            col=head + 1,
        )
    figure.update_layout(
        coloraxis={
            "cmin": 0,
            "cmax": 1,
            "colorscale": SEQUENTIAL,
            "colorbar": {"title": {"text": "attention weight"}},
        }
    )
    figure.update_xaxes(title_text=x_title)
    figure.update_yaxes(autorange="reversed")
    figure.update_yaxes(title_text=y_title, row=1, col=1)
    return figure


def load_mean_pattern(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
    """Mean attention to each key position per head over training."""
    epochs, mean = source.stacked(PATTERNS, "mean_pattern")
    return {
        "epoch": epoch,
        "epochs": epochs,
        "mean": np.asarray(mean[:, layer]),
        "positions": source.position_labels(mean.shape[-1]),
        "title_detail": f" (layer {layer})",
    }


def render_mean_pattern(data: dict[str, Any]) -> go.Figure:
    """One panel per key position (up to 4 per row), one line per head; cursor everywhere."""
    mean = data["mean"]  # [epochs, heads, positions]
    n_pos = mean.shape[2]
    cols = min(n_pos, 4)
    rows = -(-n_pos // cols)
    figure = make_subplots(
        rows=rows,
        cols=cols,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        vertical_spacing=0.3 / rows,
        subplot_titles=[f"to {label}" for label in data["positions"]],
    )
    for pos in range(n_pos):
        row, col = pos // cols + 1, pos % cols + 1
        for head in range(mean.shape[1]):
            figure.add_trace(
                go.Scatter(
                    x=data["epochs"],
                    y=mean[:, head, pos],
                    mode="lines+markers",
                    name=f"head {head}",
                    legendgroup=f"head {head}",
                    showlegend=pos == 0,
                    line={"color": HEAD_COLORS[head % len(HEAD_COLORS)]},
                ),
                row=row,
                col=col,
            )
        add_epoch_cursor(figure, data["epoch"], row=row, col=col)
    figure.update_xaxes(title_text="epoch", row=rows)
    figure.update_yaxes(range=[0, 1.02])
    figure.update_yaxes(title_text="mean attention weight", col=1)
    figure.update_layout(legend={"orientation": "v", "x": 1.01, "y": 1}, height=260 + 220 * rows)
    return figure


def load_head_fractions(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
    """Per head, the frequency shares of its attention grid at its most varying key position."""
    arrays = source.epoch(SPECIALIZATION, epoch)
    positions = np.asarray(arrays["key_position"][layer], dtype=int)
    fractions = np.asarray(arrays["fractions"][layer], dtype=np.float32)
    chosen = fractions[np.arange(len(positions)), positions]
    return {
        "epoch": epoch,
        "fractions": chosen,
        "positions": positions,
        "labels": source.frequency_labels(chosen.shape[1]),
        "title_detail": f" (layer {layer})",
    }


def render_head_fractions(data: dict[str, Any]) -> go.Figure:
    """Heatmap head x frequency, colour scale fixed to 0..1."""
    rows = [f"head {h} (to pos {p})" for h, p in enumerate(data["positions"])]
    figure = go.Figure(
        go.Heatmap(
            z=data["fractions"],
            x=data["labels"],
            y=rows,
            zmin=0,
            zmax=1,
            colorscale=SEQUENTIAL,
            name="variance share",
            colorbar={"title": {"text": "share of variance"}},
            hovertemplate="%{y}<br>%{x}<br>share %{z:.2f}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="frequency", type="category")
    figure.update_yaxes(title_text="attention head", type="category", autorange="reversed")
    return figure


def load_head_history(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
    """Each head's largest single-frequency share and dominant frequency over training."""
    epochs, share = source.stacked(SPECIALIZATION, "max_fraction")
    _, dominant = source.stacked(SPECIALIZATION, "dominant_frequency")
    labels = source.frequency_labels(int(np.max(dominant)) if dominant.size else 1)
    names = [
        [labels[k - 1] if 0 < k <= len(labels) else f"k={k}" for k in row]
        for row in np.asarray(dominant[:, layer]).T
    ]
    return {
        "epoch": epoch,
        "epochs": epochs,
        "share": np.asarray(share[:, layer]),
        "dominant": names,
        "title_detail": f" (layer {layer})",
    }


def render_head_history(data: dict[str, Any]) -> go.Figure:
    """One line per head (hover: dominant frequency), cursor at the epoch."""
    figure = go.Figure()
    for head in range(data["share"].shape[1]):
        figure.add_trace(
            go.Scatter(
                x=data["epochs"],
                y=data["share"][:, head],
                text=data["dominant"][head],
                mode="lines+markers",
                name=f"head {head}",
                line={"color": HEAD_COLORS[head % len(HEAD_COLORS)]},
                hovertemplate="epoch %{x}<br>share %{y:.2f}<br>%{text}<extra></extra>",
            )
        )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="largest single-frequency share of variance", range=[0, 1.02])
    return figure


register_view(
    ViewSpec(
        name="attention.patterns",
        title="Attention from the readout",
        kind=PER_EPOCH,
        requires=(PATTERNS,),
        description=(
            "Attention weight from the readout position, per head: to one key position over every"
            " input pair when the family's probe is a grid, else to every position for every "
            "probe row (colour scale 0..1)."
        ),
        loader=load_attention_grids,
        renderer=render_attention_grids,
        params=(LAYER, KEY_POSITION),
        aliases=("attention",),
    )
)

register_view(
    ViewSpec(
        name="attention.mean_pattern_over_training",
        title="Mean attention per head over training",
        kind=ACROSS_EPOCHS,
        requires=(PATTERNS,),
        description=(
            "Attention from the readout position to each key position, averaged over the probe, "
            "per head, over training."
        ),
        loader=load_mean_pattern,
        renderer=render_mean_pattern,
        params=(LAYER,),
    )
)

register_view(
    ViewSpec(
        name="attention.head_specialization",
        title="Attention head frequency specialization",
        kind=PER_EPOCH,
        requires=(SPECIALIZATION,),
        context_keys=("token_basis", "token_basis_frequency", "probe_grid_shape"),
        description=(
            "Per head, the share of its attention grid's variance explained by each frequency (at"
            " the key position whose grid varies most)."
        ),
        loader=load_head_fractions,
        renderer=render_head_fractions,
        params=(LAYER,),
        aliases=("head_specialization",),
    )
)

register_view(
    ViewSpec(
        name="attention.head_specialization_over_training",
        title="Attention head specialization over training",
        kind=ACROSS_EPOCHS,
        requires=(SPECIALIZATION,),
        context_keys=("token_basis", "token_basis_frequency", "probe_grid_shape"),
        description=(
            "Each head's largest single-frequency share over training (hover: dominant frequency)."
        ),
        loader=load_head_history,
        renderer=render_head_history,
        params=(LAYER,),
    )
)
