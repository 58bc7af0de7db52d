"""Reusable spectrum views: a per-epoch bar chart and an epoch x component heatmap.

Any analyzer output holding norms along the family's token basis (`axis="basis"`, labelled
'cos 3') or per frequency (`axis="frequency"`, labelled 'k=3'), per epoch `[n]` or per layer
`[n_layers, n]`, gets both views from `register_spectrum_views`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.registry import (
    ACROSS_EPOCHS,
    PER_EPOCH,
    ViewParam,
    ViewSpec,
    register_view,
)
from miscope_core.views.source import VariantSource
from miscope_core.views.style import SEQUENTIAL, add_epoch_cursor, value_range

LAYER = ViewParam("layer", int, 0, "which layer", upper="n_layers")


def axis_labels(source: VariantSource, axis: str, n: int) -> tuple[list[str], str]:
    """(tick labels, axis title) for a basis or frequency axis."""
    if axis == "frequency":
        return source.frequency_labels(n), f"frequency ({source.basis_name} basis)"
    return source.basis_labels(n), f"{source.basis_name} basis component"


def layer_slice(values: np.ndarray, layered: bool, layer: int) -> np.ndarray:
    """Select one layer from a layer-stacked array (last axis kept)."""
    return (
        np.asarray(values, dtype=np.float64)[..., layer, :]
        if layered
        else np.asarray(values, dtype=np.float64)
    )


def make_spectrum_loader(analyzer: str, key: str, what: str, axis: str, layered: bool):
    """Loader of one epoch's spectrum, with the all-epoch maximum for a fixed y range."""

    def load(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
        values = layer_slice(source.epoch(analyzer, epoch)[key], layered, layer)
        history = layer_slice(source.stacked(analyzer, key)[1], layered, layer)
        labels, title = axis_labels(source, axis, values.shape[-1])
        return {
            "epoch": epoch,
            "values": values,
            "labels": labels,
            "axis_title": title,
            "y_max": value_range(history, floor=0.0)[1] * 1.05,
            "what": what,
            "title_detail": f" (layer {layer})" if layered else "",
        }

    load.__name__ = f"load_{analyzer.replace('.', '_')}_{key}_spectrum"
    return load


def make_history_loader(analyzer: str, key: str, what: str, axis: str, layered: bool):
    """Loader of the spectrum over every analysed epoch."""

    def load(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
        epochs, values = source.stacked(analyzer, key)
        values = layer_slice(values, layered, layer)
        labels, title = axis_labels(source, axis, values.shape[-1])
        return {
            "epoch": epoch,
            "epochs": epochs,
            "values": values,
            "labels": labels,
            "axis_title": title,
            "what": what,
            "title_detail": f" (layer {layer})" if layered else "",
        }

    load.__name__ = f"load_{analyzer.replace('.', '_')}_{key}_history"
    return load


def render_spectrum(data: dict[str, Any]) -> go.Figure:
    """Bars of norm per component, y range fixed over training."""
    figure = go.Figure(
        go.Bar(
            x=data["labels"],
            y=data["values"],
            name=data["what"],
            marker={"color": "#1f77b4"},
            showlegend=False,
        )
    )
    figure.update_xaxes(title_text=data["axis_title"], tickangle=-60, type="category")
    figure.update_yaxes(title_text=f"norm of {data['what']} (L2)", range=[0, data["y_max"]])
    return figure


def render_spectrum_history(data: dict[str, Any]) -> go.Figure:
    """Heatmap epoch x component; one colour scale over the run; cursor at the epoch."""
    low, high = value_range(data["values"], floor=0.0)
    figure = go.Figure(
        go.Heatmap(
            x=data["epochs"],
            y=data["labels"],
            z=data["values"].T,
            colorscale=SEQUENTIAL,
            zmin=low,
            zmax=high,
            colorbar={"title": {"text": "norm (L2)"}},
            name=data["what"],
            hovertemplate="epoch %{x}<br>%{y}<br>norm %{z:.3g}<extra></extra>",
        )
    )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text=data["axis_title"], type="category", autorange="reversed")
    return figure


def register_spectrum_views(
    name: str,
    analyzer: str,
    key: str,
    what: str,
    title: str,
    axis: str = "basis",
    layered: bool = False,
    aliases: tuple[str, ...] = (),
    history_aliases: tuple[str, ...] = (),
    requires_mlp: bool = False,
) -> None:
    """Register `<name>` (per epoch bars) and `<name>_over_training` (epoch x component)."""
    context = ("token_basis",) if axis == "basis" else ("token_basis", "token_basis_frequency")
    params = (LAYER,) if layered else ()
    component = "basis component" if axis == "basis" else "frequency"
    common = {
        "requires": (analyzer,),
        "context_keys": context,
        "params": params,
        "requires_mlp": requires_mlp,
        "module": f"miscope_core.views.spectra:{name}",
    }
    register_view(
        ViewSpec(
            name=name,
            title=title,
            kind=PER_EPOCH,
            aliases=aliases,
            description=f"Norm of {what} per {component} of the family's basis at one checkpoint "
            f"(y range fixed over training).",
            loader=make_spectrum_loader(analyzer, key, what, axis, layered),
            renderer=render_spectrum,
            **common,
        )
    )
    register_view(
        ViewSpec(
            name=f"{name}_over_training",
            title=f"{title} over training",
            kind=ACROSS_EPOCHS,
            aliases=history_aliases,
            description=f"Epoch x {component} heatmap of the norm of {what}, one colour scale for "
            f"the whole run.",
            loader=make_history_loader(analyzer, key, what, axis, layered),
            renderer=render_spectrum_history,
            **common,
        )
    )
