"""MLP neuron views: frequency specialization, counts over training, one neuron's grid."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from miscope_core.views.registry import ACROSS_EPOCHS, PER_EPOCH, ViewParam, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.spectra import LAYER
from miscope_core.views.style import (
    DIVERGING,
    SEQUENTIAL,
    add_epoch_cursor,
    symmetric_range,
    value_range,
)

ANALYZER = "neurons.frequency_specialization"
CONTEXT = ("token_basis", "token_basis_frequency", "probe_grid_shape")
NEURON = ViewParam(
    "neuron",
    int,
    None,
    "MLP neuron index, one whose grid is stored (default: "
    "the stored neuron most specialized at the last checkpoint)",
    upper="d_mlp",
)
COMMON = {"requires": (ANALYZER,), "context_keys": CONTEXT, "requires_mlp": True}


def load_neuron_fractions(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
    """Per-neuron frequency fractions, neurons ordered by dominant frequency then share."""
    arrays = source.epoch(ANALYZER, epoch)
    fractions = np.asarray(arrays["fractions"][layer], dtype=np.float32)
    dominant, share = arrays["dominant_frequency"][layer], arrays["max_fraction"][layer]
    dead = np.asarray(arrays["dead"][layer], dtype=bool)
    order = np.lexsort((-share, dominant, dead))  # dead neurons last, never among k = 1
    return {
        "epoch": epoch,
        "fractions": fractions[order],
        "neurons": order,
        "dead": dead[order],
        "labels": source.frequency_labels(fractions.shape[1]),
        "title_detail": f" (layer {layer})",
        "height": 640,
    }


def render_neuron_fractions(data: dict[str, Any]) -> go.Figure:
    """Heatmap neuron x frequency of variance share, colour scale fixed to 0..1.

    Rows are positions in the sorted order (the neuron id is in the hover): the row order
    changes every epoch, and a category axis of neuron names would be re-laid out each step."""
    fractions = np.asarray(data["fractions"])
    neurons = np.asarray(data["neurons"], dtype=np.uint16 if fractions.shape[0] < 2**16 else int)
    figure = go.Figure(
        go.Heatmap(
            z=fractions,
            x=data["labels"],
            y=np.arange(fractions.shape[0]),
            customdata=np.broadcast_to(neurons[:, None], fractions.shape).copy(),
            zmin=0,
            zmax=1,
            colorscale=SEQUENTIAL,
            name="variance share",
            colorbar={"title": {"text": "share of variance"}},
            hovertemplate="neuron n%{customdata}<br>%{x}<br>share %{z:.2f}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="frequency", type="category")
    # the axis title stays the same over epochs (a changing one re-lays out the panel on every
    # scrub step); neurons.specialization_over_training draws the dead count over training
    figure.update_yaxes(
        title_text="MLP neuron (by dominant frequency; dead last)",
        showticklabels=False,
        autorange="reversed",
    )
    return figure


def load_specialized_counts(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
    """Neurons specialized per frequency at one epoch, with the run-wide maximum for y."""
    epochs, counts = source.stacked(ANALYZER, "specialized_count")
    row = int(np.argmin(np.abs(epochs - epoch)))
    return {
        "epoch": epoch,
        "counts": counts[row, layer],
        "labels": source.frequency_labels(counts.shape[-1]),
        "y_max": max(1.0, float(counts[:, layer].max()) * 1.1),
        "title_detail": f" (layer {layer})",
    }


def render_specialized_counts(data: dict[str, Any]) -> go.Figure:
    """Bars of specialized neurons per frequency, y fixed over training."""
    figure = go.Figure(go.Bar(x=data["labels"], y=data["counts"], name="neurons", showlegend=False))
    figure.update_xaxes(title_text="frequency", type="category", tickangle=-60)
    figure.update_yaxes(title_text="specialized neurons (count)", range=[0, data["y_max"]])
    return figure


def load_count_history(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
    """Specialized-neuron counts per frequency over every epoch."""
    epochs, counts = source.stacked(ANALYZER, "specialized_count")
    return {
        "epoch": epoch,
        "epochs": epochs,
        "counts": counts[:, layer],
        "labels": source.frequency_labels(counts.shape[-1]),
        "title_detail": f" (layer {layer})",
    }


def render_count_history(data: dict[str, Any]) -> go.Figure:
    """Heatmap epoch x frequency of specialized counts, cursor at the epoch."""
    low, high = value_range(data["counts"], floor=0.0)
    figure = go.Figure(
        go.Heatmap(
            x=data["epochs"],
            y=data["labels"],
            z=np.asarray(data["counts"]).T,
            zmin=low,
            zmax=high,
            colorscale=SEQUENTIAL,
            name="specialized neurons",
            colorbar={"title": {"text": "neurons"}},
            hovertemplate="epoch %{x}<br>%{y}<br>%{z} neurons<extra></extra>",
        )
    )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="frequency", type="category", autorange="reversed")
    return figure


def load_specialization_history(
    source: VariantSource, epoch: int, layer: int = 0
) -> dict[str, Any]:
    """Mean / median max share, specialized and dead neuron counts over training."""
    series = {
        key: source.stacked(ANALYZER, key)
        for key in ("mean_max_fraction", "median_max_fraction", "specialized_total", "dead_count")
    }
    return {
        "epoch": epoch,
        "epochs": series["specialized_total"][0],
        "series": {k: v[1][:, layer] for k, v in series.items()},
        "title_detail": f" (layer {layer})",
    }


def render_specialization_history(data: dict[str, Any]) -> go.Figure:
    """Shares on the left axis (0..1), specialized and dead counts on the right; cursor."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    for key, label in (
        ("mean_max_fraction", "mean max share"),
        ("median_max_fraction", "median max share"),
    ):
        figure.add_trace(
            go.Scatter(x=data["epochs"], y=data["series"][key], name=label, mode="lines+markers"),
            secondary_y=False,
        )
    for key, label, mode, dash in (
        ("specialized_total", "specialized neurons", "lines+markers", "dot"),
        ("dead_count", "dead / constant neurons", "lines", "dash"),
    ):
        figure.add_trace(
            go.Scatter(
                x=data["epochs"], y=data["series"][key], name=label, mode=mode, line={"dash": dash}
            ),
            secondary_y=True,
        )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(
        title_text="largest single-frequency share of variance", range=[0, 1.02], secondary_y=False
    )
    counts = np.concatenate([data["series"]["specialized_total"], data["series"]["dead_count"]])
    top = max(5.0, float(np.max(counts)) * 1.1)
    figure.update_yaxes(
        title_text="specialized neurons (count)", range=[0, top], tickformat="d", secondary_y=True
    )
    return figure


def most_specialized_stored_neuron(source: VariantSource, stored: list[int], layer: int) -> int:
    """Among neurons with stored grids, the one most specialized at the last checkpoint."""
    last = source.epochs_of(ANALYZER)[-1]
    share = np.asarray(source.epoch(ANALYZER, last)["max_fraction"][layer])
    return max(stored, key=lambda n: share[n])


def load_activation_grid(
    source: VariantSource, epoch: int, layer: int = 0, neuron: int | None = None
) -> dict[str, Any]:
    """One stored neuron's activation over the probe grid; colour range from every epoch."""
    arrays = source.epoch(ANALYZER, epoch)
    stored = [int(n) for n in arrays["grid_neurons"]]
    if neuron is None:
        neuron = most_specialized_stored_neuron(source, stored, layer)
    if neuron not in stored:
        raise ValueError(
            f"View 'neurons.activation_grid' has grids for neurons {stored} only, "
            f"got neuron={neuron}; try neuron={stored[0]} (raise the analyzer's "
            f"grid_neurons parameter to store more)"
        )
    slot = stored.index(neuron)
    _, grids = source.stacked(ANALYZER, "activation_grids")
    history = np.asarray(grids[:, layer, slot], dtype=np.float32)
    signed = float(history.min()) < 0
    z_range = symmetric_range(history) if signed else value_range(history, floor=0.0)
    return {
        "epoch": epoch,
        "grid": np.asarray(arrays["activation_grids"][layer, slot], dtype=np.float32),
        "z_range": z_range,
        "colorscale": DIVERGING if signed else SEQUENTIAL,
        "title_detail": f" (neuron {neuron}, layer {layer})",
        "width": 700,
        "height": 640,
    }


def render_activation_grid(data: dict[str, Any]) -> go.Figure:
    """Heatmap over (first input, second input), colour range fixed over training."""
    low, high = data["z_range"]
    figure = go.Figure(
        go.Heatmap(
            z=data["grid"],
            zmin=low,
            zmax=high,
            colorscale=data["colorscale"],
            name="activation",
            colorbar={"title": {"text": "activation"}},
            hovertemplate="input 0 = %{y}<br>input 1 = %{x}<br>%{z:.3g}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="input 1 token (second operand)", constrain="domain")
    figure.update_yaxes(
        title_text="input 0 token (first operand)", scaleanchor="x", autorange="reversed"
    )
    return figure


register_view(
    ViewSpec(
        name="neurons.frequency_specialization",
        title="Neuron frequency specialization",
        kind=PER_EPOCH,
        description=(
            "For each MLP neuron, the share of its activation variance over the probe grid "
            "explained by each frequency (neurons sorted by dominant frequency)."
        ),
        loader=load_neuron_fractions,
        renderer=render_neuron_fractions,
        params=(LAYER,),
        aliases=("neuron_specialization",),
        **COMMON,
    )
)

register_view(
    ViewSpec(
        name="neurons.specialized_count",
        title="Specialized neurons per frequency",
        kind=PER_EPOCH,
        description=(
            "Number of neurons whose largest single-frequency share reaches the threshold, by "
            "frequency, at one checkpoint (y fixed over training)."
        ),
        loader=load_specialized_counts,
        renderer=render_specialized_counts,
        params=(LAYER,),
        **COMMON,
    )
)

register_view(
    ViewSpec(
        name="neurons.specialized_count_over_training",
        title="Specialized neurons per frequency over training",
        kind=ACROSS_EPOCHS,
        description=(
            "Epoch x frequency heatmap of the number of neurons specialized in each frequency."
        ),
        loader=load_count_history,
        renderer=render_count_history,
        params=(LAYER,),
        aliases=("neuron_frequency_counts",),
        **COMMON,
    )
)

register_view(
    ViewSpec(
        name="neurons.specialization_over_training",
        title="Neuron specialization over training",
        kind=ACROSS_EPOCHS,
        description=(
            "Mean and median of each neuron's largest single-frequency share, and the number of "
            "specialized neurons, over training."
        ),
        loader=load_specialization_history,
        renderer=render_specialization_history,
        params=(LAYER,),
        **COMMON,
    )
)

register_view(
    ViewSpec(
        name="neurons.activation_grid",
        title="Neuron activation over the input grid",
        kind=PER_EPOCH,
        description=(
            "One MLP neuron's activation at the readout position for every input pair (colour "
            "range fixed over training)."
        ),
        loader=load_activation_grid,
        renderer=render_activation_grid,
        params=(LAYER, NEURON),
        aliases=("neuron_grid",),
        **COMMON,
    )
)
