"""Loss-landscape flatness: the distribution of loss changes under random perturbations."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from miscope_core.views.registry import ACROSS_EPOCHS, PER_EPOCH, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import add_epoch_cursor, value_range

ANALYZER = "landscape.flatness"
BINS = 30
STATISTICS = (
    ("mean_delta", "mean"),
    ("median_delta", "median"),
    ("p90_delta", "90th pct"),
    ("max_delta", "max"),
)


def load_flatness_distribution(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Δloss of every perturbation direction at one epoch; bins fixed over training."""
    arrays = source.epoch(ANALYZER, epoch)
    _, history = source.stacked(ANALYZER, "delta_loss")
    low, high = value_range(history)
    return {
        "epoch": epoch,
        "delta": np.asarray(arrays["delta_loss"], dtype=np.float64),
        "base_loss": float(arrays["base_loss"]),
        "x_range": (low, high),
        "title_detail": f" (base loss {float(arrays['base_loss']):.3g})",
    }


def render_flatness_distribution(data: dict[str, Any]) -> go.Figure:
    """Histogram of Δloss with bins and x range shared by every epoch."""
    low, high = data["x_range"]
    size = (high - low) / BINS
    figure = go.Figure(
        go.Histogram(
            x=data["delta"],
            name="directions",
            showlegend=False,
            marker={"color": "#1f77b4"},
            xbins={"start": low, "end": high + size, "size": size},
        )
    )
    pad = 0.02 * (high - low)
    figure.update_xaxes(
        title_text="Δ training loss under a random perturbation (nats)",
        range=[low - pad, high + size + pad],
    )
    figure.update_yaxes(title_text="perturbation directions (count)")
    return figure


def load_flatness_history(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Summary statistics of Δloss and the flat fraction over training."""
    summary = source.summary(ANALYZER)
    return {
        "epoch": epoch,
        "epochs": summary["epochs"],
        "stats": {label: summary[key] for key, label in STATISTICS if key in summary},
        "flat_fraction": summary["flat_fraction"],
    }


def render_flatness_history(data: dict[str, Any]) -> go.Figure:
    """Top: Δloss statistics; bottom: share of flat directions; cursor in both."""
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.65, 0.35]
    )
    for label, values in data["stats"].items():
        figure.add_trace(
            go.Scatter(x=data["epochs"], y=values, name=f"Δloss {label}", mode="lines+markers"),
            row=1,
            col=1,
        )
    figure.add_trace(
        go.Scatter(
            x=data["epochs"],
            y=data["flat_fraction"],
            name="flat share",
            mode="lines+markers",
            line={"color": "#444"},
        ),
        row=2,
        col=1,
    )
    for row in (1, 2):
        add_epoch_cursor(figure, data["epoch"], row=row, col=1)
    figure.update_xaxes(title_text="epoch", row=2, col=1)
    figure.update_yaxes(title_text="Δ training loss (nats)", row=1, col=1)
    figure.update_yaxes(title_text="flat directions (share)", range=[0, 1.02], row=2, col=1)
    figure.update_layout(height=600)
    return figure


register_view(
    ViewSpec(
        name="landscape.flatness_distribution",
        title="Loss change under random perturbations",
        kind=PER_EPOCH,
        description="Histogram of the training-loss change along seeded random directions at a "
        "radius relative to the weight norm (analyzer default), at one checkpoint (bins fixed "
        "over training).",
        requires=(ANALYZER,),
        loader=load_flatness_distribution,
        renderer=render_flatness_distribution,
        aliases=("flatness",),
    )
)

register_view(
    ViewSpec(
        name="landscape.flatness_over_training",
        title="Landscape flatness over training",
        kind=ACROSS_EPOCHS,
        description="Mean, median, 90th percentile and max of the loss change under random "
        "perturbations, and the share of flat directions, over training.",
        requires=(ANALYZER,),
        loader=load_flatness_history,
        renderer=render_flatness_history,
        aliases=("flatness_over_training",),
    )
)
