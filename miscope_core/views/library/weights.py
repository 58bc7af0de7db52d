"""Raw weights: any weight matrix of the parameter snapshot as a heatmap."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.registry import PER_EPOCH, ViewParam, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.spectra import LAYER
from miscope_core.views.style import DIVERGING, symmetric_range

SNAPSHOT = "parameters.snapshot"
DIMENSIONS = {  # (row axis, column axis) in TransformerLens's vocabulary
    "W_E": ("token (d_vocab)", "d_model"),
    "W_pos": ("position (n_ctx)", "d_model"),
    "W_U": ("d_model", "output token (d_vocab_out)"),
    "W_Q": ("d_model", "d_head"),
    "W_K": ("d_model", "d_head"),
    "W_V": ("d_model", "d_head"),
    "W_O": ("d_head", "d_model"),
    "W_in": ("d_model", "MLP neuron (d_mlp)"),
    "W_out": ("MLP neuron (d_mlp)", "d_model"),
}
MATRIX = ViewParam("matrix", str, "W_E", "which weight matrix", choices=tuple(DIMENSIONS))
HEAD = ViewParam("head", int, 0, "attention head (for W_Q, W_K, W_V, W_O)", upper="n_heads")


def weight_slice(values: np.ndarray, layer: int, head: int) -> np.ndarray:
    """The 2-D matrix: as stored, of one layer, or of one layer's head."""
    if values.ndim == 4:
        return values[..., layer, head, :, :]
    if values.ndim == 3:
        return values[..., layer, :, :]
    return values


def load_weight_matrix(
    source: VariantSource, epoch: int, matrix: str = "W_E", layer: int = 0, head: int = 0
) -> dict[str, Any]:
    """One weight matrix at one epoch; colour range symmetric and fixed over training."""
    arrays = source.epoch(SNAPSHOT, epoch)
    if matrix not in arrays:
        raise ValueError(
            f"View 'parameters.weight_matrix' cannot show {matrix}: this model "
            f"has {sorted(arrays)}; try matrix='W_E'"
        )
    values = np.asarray(arrays[matrix])
    _, history = source.stacked(SNAPSHOT, matrix)
    sliced = (
        history[:, layer, head]
        if values.ndim == 4
        else history[:, layer]
        if values.ndim == 3
        else history
    )
    where = (
        ""
        if values.ndim == 2
        else f", layer {layer}" + (f", head {head}" if values.ndim == 4 else "")
    )
    return {
        "epoch": epoch,
        "matrix": weight_slice(values, layer, head).astype(np.float32),
        "z_range": symmetric_range(sliced),
        "axes": DIMENSIONS[matrix],
        "title_detail": f" {matrix}{where}",
        "height": 620,
    }


def render_weight_matrix(data: dict[str, Any]) -> go.Figure:
    """Diverging heatmap, rows and columns named with TransformerLens dimensions."""
    low, high = data["z_range"]
    figure = go.Figure(
        go.Heatmap(
            z=data["matrix"],
            zmin=low,
            zmax=high,
            colorscale=DIVERGING,
            name="weight",
            colorbar={"title": {"text": "weight value"}},
            hovertemplate="row %{y}<br>column %{x}<br>%{z:.3g}<extra></extra>",
        )
    )
    rows, cols = data["axes"]
    figure.update_xaxes(title_text=cols)
    figure.update_yaxes(title_text=rows, autorange="reversed")
    return figure


register_view(
    ViewSpec(
        name="parameters.weight_matrix",
        title="Weight matrix",
        kind=PER_EPOCH,
        description="One weight matrix of the parameter snapshot (per layer and head where it "
        "has them) at one checkpoint; colour range fixed over training.",
        requires=(SNAPSHOT,),
        loader=load_weight_matrix,
        renderer=render_weight_matrix,
        params=(MATRIX, LAYER, HEAD),
        aliases=("weights",),
    )
)
