"""Effective dimensionality: singular-value spectra and participation ratios of the weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.library.attention import HEAD_COLORS
from miscope_core.views.registry import ACROSS_EPOCHS, PER_EPOCH, ViewParam, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.spectra import LAYER
from miscope_core.views.style import add_epoch_cursor, value_range

ANALYZER = "parameters.effective_dimensionality"
GLOBAL = ("W_E", "W_pos", "W_U")
PER_LAYER = ("W_in", "W_out")
PER_HEAD = ("W_Q", "W_K", "W_V", "W_O", "OV", "QK")
MATRIX = ViewParam(
    "matrix",
    str,
    "W_E",
    "which weight matrix (per-head ones draw every head of the layer)",
    choices=GLOBAL + PER_LAYER + PER_HEAD,
)
GROUP = ViewParam(
    "group",
    str,
    "weights",
    "'weights' (W_E, W_pos, W_U, W_in, W_out) or one per-head matrix",
    choices=("weights",) + PER_HEAD,
)


def matrix_rows(values: np.ndarray, matrix: str, layer: int) -> dict[str, np.ndarray]:
    """{line name: values} for one matrix: itself, its layer, or each head of its layer."""
    if matrix in GLOBAL:
        return {matrix: values}
    if matrix in PER_LAYER:
        return {f"{matrix} (layer {layer})": values[layer]}
    return {f"head {h}": values[layer, h] for h in range(values.shape[1])}


def check_matrix(source: VariantSource, matrix: str) -> None:
    """Attention-only models have no W_in / W_out."""
    if matrix in PER_LAYER and not source.model.get("d_mlp"):
        raise ValueError(
            f"View 'parameters.singular_values' cannot show {matrix}: this model "
            f"is attention-only; try matrix='W_E'"
        )


def load_singular_values(
    source: VariantSource, epoch: int, matrix: str = "W_E", layer: int = 0
) -> dict[str, Any]:
    """Singular values of one matrix (or each head), with a y range fixed over training."""
    check_matrix(source, matrix)
    key = f"{matrix}.singular_values"
    values = source.epoch(ANALYZER, epoch)[key]
    _, history = source.stacked(ANALYZER, key)
    positive = history[history > 0]
    low, high = value_range(positive if positive.size else [1e-6, 1.0])
    return {
        "epoch": epoch,
        "lines": matrix_rows(np.asarray(values, dtype=np.float64), matrix, layer),
        "y_range": [np.log10(low) - 0.1, np.log10(high) + 0.1],
        "title_detail": f" of {matrix}" + ("" if matrix in GLOBAL else f" (layer {layer})"),
    }


def render_singular_values(data: dict[str, Any]) -> go.Figure:
    """Descending singular values, log y fixed over training."""
    figure = go.Figure()
    for i, (name, values) in enumerate(data["lines"].items()):
        figure.add_trace(
            go.Scatter(
                x=np.arange(1, len(values) + 1),
                y=values,
                name=name,
                mode="lines+markers",
                line={"color": HEAD_COLORS[i % len(HEAD_COLORS)]},
            )
        )
    figure.update_xaxes(title_text="singular value index (descending)")
    figure.update_yaxes(
        title_text="singular value (weight units, log scale)", type="log", range=data["y_range"]
    )
    return figure


def load_participation_history(
    source: VariantSource, epoch: int, group: str = "weights", layer: int = 0
) -> dict[str, Any]:
    """Participation ratios over training: the plain matrices, or every head of one matrix."""
    names = [m for m in GLOBAL + PER_LAYER if group == "weights"] or [group]
    lines: dict[str, np.ndarray] = {}
    epochs = None
    for matrix in names:
        key = f"{matrix}.participation_ratio"
        if matrix in PER_LAYER and not source.model.get("d_mlp"):
            continue
        epochs, values = source.stacked(ANALYZER, key)
        values = np.asarray(values, dtype=np.float64)
        if matrix in GLOBAL:
            lines[matrix] = values
        elif matrix in PER_LAYER:
            lines[f"{matrix} (layer {layer})"] = values[:, layer]
        else:
            lines.update({f"head {h}": values[:, layer, h] for h in range(values.shape[2])})
    detail = "" if group == "weights" else f" of {group} (layer {layer})"
    return {"epoch": epoch, "epochs": epochs, "lines": lines, "title_detail": detail}


def render_participation_history(data: dict[str, Any]) -> go.Figure:
    """One line per matrix or head, cursor at the epoch."""
    figure = go.Figure()
    for i, (name, values) in enumerate(data["lines"].items()):
        figure.add_trace(
            go.Scatter(
                x=data["epochs"],
                y=values,
                name=name,
                mode="lines+markers",
                line={"color": HEAD_COLORS[i % len(HEAD_COLORS)]},
            )
        )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(
        title_text="participation ratio (effective number of dimensions)", rangemode="tozero"
    )
    return figure


register_view(
    ViewSpec(
        name="parameters.singular_values",
        title="Singular value spectrum",
        kind=PER_EPOCH,
        description="Singular values of one weight matrix (or of each head's matrix) at one "
        "checkpoint, log scale fixed over training.",
        requires=(ANALYZER,),
        loader=load_singular_values,
        renderer=render_singular_values,
        params=(MATRIX, LAYER),
        aliases=("singular_values",),
    )
)

register_view(
    ViewSpec(
        name="parameters.participation_ratio_over_training",
        title="Effective dimensionality over training",
        kind=ACROSS_EPOCHS,
        description="Participation ratio (sum s²)² / sum s⁴ of the weight matrices, or of each "
        "head's matrix, over training.",
        requires=(ANALYZER,),
        loader=load_participation_history,
        renderer=render_participation_history,
        params=(GROUP, LAYER),
        aliases=("effective_dimensionality",),
    )
)
