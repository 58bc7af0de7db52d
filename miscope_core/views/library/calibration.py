"""Calibration views: phase-boundary markers on across-epoch views, and the trajectory's
PC2/PC3 beside the random-walk null.

Phase boundaries come from the `training.phases` analyzer (miscope_core.analysis.phases).
`add_phase_markers(figure, phases)` draws them on any figure with an epoch x axis; the
`phases.*` views are existing catalog views with the markers added.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.registry import CROSS_EPOCH, VIEWS, ViewSpec, get_view, register_view
from miscope_core.views.source import VariantSource

PHASES = "training.phases"
DYNAMICS = "parameters.trajectory_dynamics"
MARKERS = {
    "memorization_end": ("end of memorization", "#7f7f7f"),
    "cleanup_start": ("start of cleanup", "#9467bd"),
    "cleanup_end": ("end of cleanup", "#2ca02c"),
}
MARKED_VIEWS = (
    "training.loss_curves",
    "training.accuracy_curves",
    "progress.losses",
    "progress.gini",
    "progress.weight_norm",
    "progress.key_frequency_share",
    "parameters.turning_over_training",
)


def phase_boundaries(source: VariantSource) -> dict[str, float]:
    """{boundary name: epoch} from the training.phases artifact (NaN entries dropped)."""
    arrays = source.cross_epoch(PHASES)
    pairs = zip(arrays["boundary_names"], arrays["boundary_epochs"], strict=True)
    return {str(n): float(e) for n, e in pairs if not math.isnan(float(e))}


def add_phase_markers(figure: go.Figure, phases: dict[str, float]) -> go.Figure:
    """Dotted vertical lines, labelled, at each detected phase boundary (on every subplot)."""
    for name, (label, color) in MARKERS.items():
        if name in phases:
            figure.add_vline(
                x=phases[name],
                line={"color": color, "width": 1.5, "dash": "dot"},
                annotation_text=label,
                annotation_position="top left",
                annotation_font={"size": 10, "color": color},
                name=f"phase_{name}",
                row="all",
                col="all",
            )
    return figure


def marked(base_name: str) -> ViewSpec:
    """A copy of a catalog view with the phase markers drawn."""
    base = get_view(base_name)

    def load(source: VariantSource, epoch: int, **params: Any) -> dict[str, Any]:
        data = base.loader(source, epoch, **params)
        return {"width": 1100, **data, "phase_boundaries": phase_boundaries(source)}

    def render(data: dict[str, Any]) -> go.Figure:
        return add_phase_markers(base.renderer(data), data["phase_boundaries"])

    load.__module__ = render.__module__ = __name__
    return ViewSpec(
        name=f"phases.{base_name}",
        title=f"{base.title}, phase-marked",
        description=f"{base.description} Dotted lines: end of memorization, start "
        f"and end of cleanup, detected by training.phases.",
        kind=base.kind,
        requires=(*base.requires, PHASES),
        loader=load,
        renderer=render,
        params=base.params,
        context_keys=base.context_keys,
        requires_mlp=base.requires_mlp,
        uses_epoch=base.uses_epoch,
        module=__name__,
    )


def load_pc2_pc3_null(source: VariantSource, epoch: int) -> dict[str, Any]:
    """PC2/PC3 of the weight trajectory and of a random walk at the same epochs."""
    arrays = source.cross_epoch(DYNAMICS)
    return {
        "epoch": epoch,
        "epochs": np.asarray(arrays["epochs"]),
        "run": np.asarray(arrays["projections"]),
        "null": np.asarray(arrays["null.projections"]),
        "run_ratio": np.asarray(arrays["explained_variance_ratio"]),
        "null_ratio": np.asarray(arrays["null.explained_variance_ratio"]),
        "width": 1000,
    }


def render_pc2_pc3_null(data: dict[str, Any]) -> go.Figure:
    """Side by side: the run's PC2-PC3 path and the random walk's, coloured by epoch."""
    from plotly.subplots import make_subplots

    titles = [
        f"this run (PC2 {data['run_ratio'][1]:.0%}, PC3 {data['run_ratio'][2]:.0%})",
        f"random walk (PC2 {data['null_ratio'][1]:.0%}, PC3 {data['null_ratio'][2]:.0%})",
    ]
    figure = make_subplots(rows=1, cols=2, subplot_titles=titles)
    for col, key in ((1, "run"), (2, "null")):
        points = data[key]
        figure.add_trace(
            go.Scatter(
                x=points[:, 1],
                y=points[:, 2],
                mode="lines+markers",
                name=key,
                marker={
                    "color": data["epochs"],
                    "colorscale": "Viridis",
                    "size": 6,
                    "showscale": col == 1,
                    "colorbar": {"title": "epoch"},
                },
                line={"color": "#bbb"},
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        figure.update_xaxes(title_text="PC2", row=1, col=col)
        figure.update_yaxes(title_text="PC3", row=1, col=col)
    return figure


def register_calibration_views() -> None:
    """Register the phase-marked copies (once their base views exist) and the null view."""
    for name in MARKED_VIEWS:
        if f"phases.{name}" not in VIEWS:
            try:
                register_view(marked(name))
            except KeyError:
                continue
    register_view(
        ViewSpec(
            name="parameters.pc2_pc3_versus_random_walk",
            title="Trajectory PC2/PC3 beside a random walk",
            kind=CROSS_EPOCH,
            uses_epoch=False,
            description="The weight trajectory projected on its PC2 and PC3, beside a random walk "
            "sampled at the same epochs (arcs and loops appear for any diffusion: "
            "Antognini & Sohl-Dickstein 2018).",
            requires=(DYNAMICS,),
            loader=load_pc2_pc3_null,
            renderer=render_pc2_pc3_null,
        )
    )


register_calibration_views()
