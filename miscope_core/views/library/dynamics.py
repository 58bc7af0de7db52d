"""Behavioural dynamics: essential dynamics (PCA of outputs) and the probe outputs themselves."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.registry import CROSS_EPOCH, PER_EPOCH, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import SEQUENTIAL, add_epoch_cursor, value_range
from miscope_core.views.trajectory import register_pca_views

ESSENTIAL = "dynamics.essential"
SAMPLE = "logits.probe_sample"

register_pca_views(
    "dynamics.essential",
    ESSENTIAL,
    "Essential dynamics",
    "log-prob units",
    aliases={"essential_dynamics": "dynamics.essential.pc1_pc2"},
)


def load_output_speed(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Output-space speed between consecutive checkpoints, at interval midpoints."""
    arrays = source.cross_epoch(ESSENTIAL)
    epochs = np.asarray(arrays["epochs"], dtype=np.float64)
    return {
        "epoch": epoch,
        "midpoints": (epochs[:-1] + epochs[1:]) / 2,
        "speed": np.asarray(arrays["speed"]),
    }


def render_output_speed(data: dict[str, Any]) -> go.Figure:
    """Speed over training (log y), cursor at the epoch."""
    figure = go.Figure(
        go.Scatter(
            x=data["midpoints"],
            y=data["speed"],
            mode="lines+markers",
            name="speed",
            showlegend=False,
        )
    )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch (midpoint between checkpoints)")
    figure.update_yaxes(title_text="‖Δ log-probs‖ / Δepoch (per epoch, log scale)", type="log")
    return figure


def load_probe_sample(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Log-probabilities on the sampled probe rows; colour range fixed over training."""
    arrays = source.epoch(SAMPLE, epoch)
    _, history = source.stacked(SAMPLE, "log_probs")
    low, high = value_range(np.maximum(history, -30.0))
    return {
        "epoch": epoch,
        "log_probs": np.maximum(arrays["log_probs"], -30.0),
        "rows": arrays["rows"],
        "z_range": (low, min(high, 0.0) if high > low else high),
    }


def render_probe_sample(data: dict[str, Any]) -> go.Figure:
    """Heatmap sampled probe row x output class of log-probability."""
    low, high = data["z_range"]
    figure = go.Figure(
        go.Heatmap(
            z=data["log_probs"],
            y=[f"row {r}" for r in data["rows"]],
            zmin=low,
            zmax=high,
            colorscale=SEQUENTIAL,
            name="log-prob",
            colorbar={"title": {"text": "log p (nats)"}},
            hovertemplate="%{y}<br>class %{x}<br>log p %{z:.2f}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="output class (token id)")
    figure.update_yaxes(
        title_text="sampled probe row", type="category", showticklabels=False, autorange="reversed"
    )
    figure.update_layout(height=640)
    return figure


register_view(
    ViewSpec(
        name="dynamics.essential.speed",
        title="Essential dynamics: output speed",
        kind=CROSS_EPOCH,
        description="Distance travelled by the model's outputs on the probe sample per epoch "
        "between consecutive checkpoints.",
        requires=(ESSENTIAL,),
        loader=load_output_speed,
        renderer=render_output_speed,
    )
)

register_view(
    ViewSpec(
        name="logits.probe_sample",
        title="Output log-probabilities on a probe sample",
        kind=PER_EPOCH,
        description="Log-softmax of the readout logits for a fixed seeded sample of probe rows "
        "(clipped at -30; colour range fixed over training).",
        requires=(SAMPLE,),
        loader=load_probe_sample,
        renderer=render_probe_sample,
        context_keys=("readout_position",),
    )
)
