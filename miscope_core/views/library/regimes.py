"""Training regimes (training.regimes): what the HMM segmented, beside the phase boundaries."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.regimes import REGIMES
from miscope_core.views.registry import ACROSS_EPOCHS, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import add_epoch_cursor


def load_regimes(source: VariantSource, epoch: int) -> dict[str, Any]:
    """The standardized summary components over checkpoints, regimes and phase agreement."""
    arrays = source.cross_epoch(REGIMES)
    agreement = float(arrays["agreement"])
    phases = {
        str(n): float(e)
        for n, e in zip(arrays["phase_names"], arrays["phase_epochs"], strict=True)
        if not math.isnan(float(e))
    }
    summary = f"{int(arrays['n_regimes'])} regimes by BIC; " + (
        "no loss-based phase boundary detected"
        if math.isnan(agreement)
        else f"{agreement:.0%} of the loss-based phase boundaries within 5% of a regime start"
    )
    return {
        "epoch": epoch,
        "epochs": np.asarray(arrays["epochs"]),
        "components": np.asarray(arrays["components"], dtype=np.float64),
        "phases": phases,
        "title_detail": f" ({summary})",
    }


def render_regimes(data: dict[str, Any]) -> go.Figure:
    """One line per component; dotted lines at the loss-based phase boundaries."""
    figure = go.Figure()
    for index in range(data["components"].shape[1]):
        figure.add_trace(
            go.Scatter(
                x=data["epochs"],
                y=data["components"][:, index],
                name=f"summary PC{index + 1}",
                mode="lines+markers",
            )
        )
    for name, epoch in data["phases"].items():
        figure.add_vline(
            x=epoch,
            line={"color": "#555555", "width": 1, "dash": "dot"},
            annotation_text=name.replace("_", " "),
            annotation_font={"size": 9},
        )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="standardized summary metrics (principal component)")
    return figure


register_view(
    ViewSpec(
        name="training.regimes",
        title="Training regimes",
        kind=ACROSS_EPOCHS,
        requires=(REGIMES,),
        description="The standardized summary metrics (top principal components) that a "
        "left-to-right Gaussian HMM segments into regimes (shaded; count by BIC), with the "
        "loss-based phase boundaries dotted and their agreement in the title.",
        loader=load_regimes,
        renderer=render_regimes,
        aliases=("regimes",),
    )
)
