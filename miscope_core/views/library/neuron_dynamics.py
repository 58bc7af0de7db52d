"""Neuron dynamics: each neuron's dominant frequency over training and when it commits."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.registry import CROSS_EPOCH, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.spectra import LAYER
from miscope_core.views.style import add_epoch_cursor, categorical_heatmap_colors

ANALYZER = "neurons.dynamics"
COMMON = {
    "requires": (ANALYZER,),
    "requires_mlp": True,
    "params": (LAYER,),
    "context_keys": ("token_basis", "token_basis_frequency", "probe_grid_shape"),
}


def neuron_order(arrays: dict[str, np.ndarray], layer: int) -> np.ndarray:
    """Neurons sorted by final frequency, then commitment epoch."""
    return np.lexsort((arrays["commitment_epoch"][layer], arrays["final_frequency"][layer]))


def load_dominant_frequency(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
    """Dominant frequency of every neuron at every checkpoint (neurons sorted)."""
    arrays = source.cross_epoch(ANALYZER)
    order = neuron_order(arrays, layer)
    dominant = np.asarray(arrays["dominant_frequency"][:, layer, :][:, order], dtype=np.int32)
    n_freq = max(1, int(dominant.max()), len(source.frequency_labels(1)))
    return {
        "epoch": epoch,
        "epochs": arrays["epochs"],
        "dominant": dominant.T,
        "share": np.asarray(arrays["max_fraction"][:, layer, :][:, order], dtype=np.float32).T,
        "neurons": order,
        "labels": source.frequency_labels(max(1, int(dominant.max()))),
        "n_freq": n_freq,
        "title_detail": f" (layer {layer})",
        "height": 640,
    }


def render_dominant_frequency(data: dict[str, Any]) -> go.Figure:
    """Heatmap neuron x checkpoint coloured by dominant frequency k (fixed 1..max k)."""
    labels = data["labels"]
    text = [
        [labels[k - 1] if 0 < k <= len(labels) else ("dead" if k == 0 else f"k={k}") for k in row]
        for row in data["dominant"]
    ]
    figure = go.Figure(
        go.Heatmap(
            x=data["epochs"],
            y=[f"n{n}" for n in data["neurons"]],
            z=data["dominant"],
            customdata=data["share"],
            text=text,
            name="dominant frequency",
            **_dominant_colors(data["dominant"]),
            hovertemplate="neuron %{y}<br>epoch %{x}<br>%{text}, share %{customdata:.2f}"
            "<extra></extra>",
        )
    )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(
        title_text="MLP neuron (sorted by final frequency)",
        type="category",
        showticklabels=False,
        autorange="reversed",
    )
    return figure


def _dominant_colors(dominant: np.ndarray) -> dict[str, Any]:
    colors = categorical_heatmap_colors(dominant)
    colors["colorbar"]["title"] = {"text": "dominant<br>frequency k"}
    bar = colors["colorbar"]
    bar["ticktext"] = [
        "dead" if v == 0 else t for v, t in zip(bar["tickvals"], bar["ticktext"], strict=True)
    ]
    return colors


def load_commitment(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
    """Commitment epochs of the neurons, grouped by final frequency (unspecialized apart)."""
    arrays = source.cross_epoch(ANALYZER)
    final = np.asarray(arrays["final_frequency"][layer], dtype=int)
    committed = np.asarray(arrays["commitment_epoch"][layer])
    specialized = np.asarray(arrays["specialized_final"][layer], dtype=bool)
    labels = source.frequency_labels(max(1, int(final.max())))
    groups = {
        labels[k - 1]: committed[specialized & (final == k)]
        for k in sorted(set(final[specialized].tolist()))
        if k > 0
    }
    dead = final == 0  # neurons.frequency_specialization's DEAD label
    groups["not specialized at the end"] = committed[~specialized & ~dead]
    groups["dead or constant at the end"] = committed[dead]
    epochs = np.asarray(arrays["epochs"])
    step = int(np.diff(epochs).min()) if len(epochs) > 1 else 1
    return {
        "epoch": epoch,
        "groups": groups,
        "bin": max(1, step),
        "x_range": (int(epochs[0]), int(epochs[-1])),
        "title_detail": f" (layer {layer})",
    }


def render_commitment(data: dict[str, Any]) -> go.Figure:
    """Stacked cumulative histogram: neurons committed by each epoch, coloured by frequency."""
    figure = go.Figure()
    low, high = data["x_range"]
    for name, values in data["groups"].items():
        grey = name.startswith("not")
        figure.add_trace(
            go.Histogram(
                x=values,
                name=name,
                cumulative={"enabled": True},
                xbins={
                    "start": low - data["bin"] / 2,
                    "end": high + data["bin"] / 2,
                    "size": data["bin"],
                },
                marker={"color": "#bbbbbb"} if grey else None,
            )
        )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_layout(barmode="stack", bargap=0)
    figure.update_xaxes(title_text="epoch (neuron committed to its final dominant frequency)")
    figure.update_yaxes(title_text="committed neurons (cumulative count)")
    figure.update_layout(
        legend={"orientation": "v", "x": 1.01, "y": 1, "title": {"text": "final frequency"}}
    )
    return figure


register_view(
    ViewSpec(
        name="neurons.dominant_frequency_over_training",
        title="Dominant frequency per neuron",
        kind=CROSS_EPOCH,
        description="Each MLP neuron's dominant frequency at every checkpoint (neurons sorted by "
        "final frequency, then commitment), hover shows its variance share.",
        loader=load_dominant_frequency,
        renderer=render_dominant_frequency,
        aliases=("neuron_dynamics",),
        **COMMON,
    )
)

register_view(
    ViewSpec(
        name="neurons.commitment_timeline",
        title="Neuron commitment timeline",
        kind=CROSS_EPOCH,
        description="How many MLP neurons have committed to their final dominant frequency by each "
        "epoch, stacked by that frequency (unspecialized neurons in grey).",
        loader=load_commitment,
        renderer=render_commitment,
        aliases=("commitment_timeline",),
        **COMMON,
    )
)


def load_switch_counts(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
    """How many times each neuron's dominant frequency changed, split by final specialization."""
    arrays = source.cross_epoch(ANALYZER)
    switches = np.asarray(arrays["switch_count"][layer])
    specialized = np.asarray(arrays["specialized_final"][layer], dtype=bool)
    return {
        "epoch": epoch,
        "groups": {
            "specialized at the end": switches[specialized],
            "not specialized at the end": switches[~specialized],
        },
        "title_detail": f" (layer {layer})",
    }


def render_switch_counts(data: dict[str, Any]) -> go.Figure:
    """Stacked histogram of switch counts (integer bins)."""
    figure = go.Figure()
    for name, values in data["groups"].items():
        figure.add_trace(
            go.Histogram(
                x=values,
                name=name,
                xbins={"size": 1, "start": -0.5},
                marker={"color": "#bbbbbb"} if name.startswith("not") else None,
            )
        )
    figure.update_layout(barmode="stack", bargap=0.05)
    figure.update_xaxes(title_text="changes of dominant frequency between checkpoints")
    figure.update_yaxes(title_text="MLP neurons (count)")
    return figure


register_view(
    ViewSpec(
        name="neurons.switch_counts",
        title="Dominant-frequency switches per neuron",
        kind=CROSS_EPOCH,
        uses_epoch=False,
        description="Histogram of how often each MLP neuron's dominant frequency changed over the "
        "checkpoints, for neurons specialized at the end and the rest.",
        loader=load_switch_counts,
        renderer=render_switch_counts,
        **COMMON,
    )
)
