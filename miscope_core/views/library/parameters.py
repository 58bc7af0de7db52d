"""Parameter-space views: the weight trajectory (PCA), its speed, and the weight norm."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.registry import ACROSS_EPOCHS, CROSS_EPOCH, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import add_epoch_cursor
from miscope_core.views.trajectory import group_param, register_pca_views

TRAJECTORY = "parameters.trajectory"
SNAPSHOT = "parameters.snapshot"
GROUPS = ("all", "embedding", "attention", "mlp")
GROUP_COLORS = {
    "total": "#333333",
    "embedding": "#1f77b4",
    "attention": "#2ca02c",
    "mlp": "#ff7f0e",
}

register_pca_views(
    "parameters.pca",
    TRAJECTORY,
    "Parameter trajectory",
    "weight units",
    groups=GROUPS,
    aliases={
        "parameter_trajectory": "parameters.pca.pc2_pc3",
        "parameter_trajectory_3d": "parameters.pca.trajectory_3d",
        "parameter_pca_pc1_pc2": "parameters.pca.pc1_pc2",
        "explained_variance": "parameters.pca.explained_variance",
    },
)


def load_velocity(source: VariantSource, epoch: int, group: str = "all") -> dict[str, Any]:
    """Velocity ||Δθ||/Δepoch between consecutive checkpoints, placed at interval midpoints."""
    arrays = source.cross_epoch(TRAJECTORY)
    epochs = np.asarray(arrays["epochs"], dtype=np.float64)
    return {
        "epoch": epoch,
        "midpoints": (epochs[:-1] + epochs[1:]) / 2,
        "velocity": np.asarray(arrays[f"{group}.velocity"]),
        "title_detail": f" ({group} weights)",
    }


def render_velocity(data: dict[str, Any]) -> go.Figure:
    """Velocity over training (log y), cursor at the epoch."""
    figure = go.Figure(
        go.Scatter(
            x=data["midpoints"],
            y=data["velocity"],
            mode="lines+markers",
            name="velocity",
            showlegend=False,
        )
    )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch (midpoint between checkpoints)")
    figure.update_yaxes(title_text="‖Δθ‖ / Δepoch (weight units per epoch, log scale)", type="log")
    return figure


def load_weight_norm(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Sum of squared weights per group over training (parameters.snapshot summary)."""
    summary = source.summary(SNAPSHOT)
    series = {
        group: np.asarray(summary[f"{group}_sum_squares"])
        for group in GROUP_COLORS
        if f"{group}_sum_squares" in summary
    }
    series = {g: v for g, v in series.items() if g == "total" or np.any(v)}
    return {"epoch": epoch, "epochs": summary["epochs"], "series": series}


def render_weight_norm(data: dict[str, Any]) -> go.Figure:
    """One line per weight group, cursor at the epoch."""
    figure = go.Figure()
    for group, values in data["series"].items():
        figure.add_trace(
            go.Scatter(
                x=data["epochs"],
                y=values,
                mode="lines+markers",
                name=group,
                line={"color": GROUP_COLORS[group]},
            )
        )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="sum of squared weights (Σw²)", rangemode="tozero")
    return figure


register_view(
    ViewSpec(
        name="parameters.velocity",
        title="Parameter velocity",
        description="Distance travelled in weight space per epoch between consecutive checkpoints "
        "(corrected for uneven checkpoint spacing).",
        kind=CROSS_EPOCH,
        requires=(TRAJECTORY,),
        loader=load_velocity,
        renderer=render_velocity,
        params=group_param(GROUPS),
        aliases=("velocity", "parameter_velocity"),
    )
)

register_view(
    ViewSpec(
        name="parameters.weight_norm",
        title="Weight norm",
        description="Sum of squared weights over training, in total and per group (embedding, "
        "attention, MLP).",
        kind=ACROSS_EPOCHS,
        requires=(SNAPSHOT,),
        loader=load_weight_norm,
        renderer=render_weight_norm,
        aliases=("weight_norm",),
    )
)


DYNAMICS = "parameters.trajectory_dynamics"


def load_turning(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Per window: displacement and turning cosine of the run and of the random-walk null."""
    arrays = source.cross_epoch(DYNAMICS)
    windows = np.asarray(arrays["window_epochs"], dtype=np.float64)
    return {
        "epoch": epoch,
        "midpoints": (windows[:-1] + windows[1:]) / 2,
        "turns": windows[1:-1],
        "displacement": arrays["displacement"],
        "null_displacement": arrays["null.displacement"],
        "turning": arrays["turning_cosine"],
        "null_turning": arrays["null.turning_cosine"],
        "height": 620,
    }


def render_turning(data: dict[str, Any]) -> go.Figure:
    """Top: displacement per window; bottom: cosine between consecutive windows; nulls dashed."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for row, x, run, null in (
        (1, data["midpoints"], data["displacement"], data["null_displacement"]),
        (2, data["turns"], data["turning"], data["null_turning"]),
    ):
        figure.add_trace(
            go.Scatter(
                x=x,
                y=run,
                name="this run",
                mode="lines+markers",
                line={"color": "#1f77b4"},
                legendgroup="run",
                showlegend=row == 1,
            ),
            row=row,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=x,
                y=null,
                name="random-walk null",
                mode="lines",
                line={"color": "#888", "dash": "dash"},
                legendgroup="null",
                showlegend=row == 1,
            ),
            row=row,
            col=1,
        )
        add_epoch_cursor(figure, data["epoch"], row=row, col=1)
    figure.update_xaxes(title_text="epoch", row=2, col=1)
    figure.update_yaxes(title_text="‖Δθ‖ per window", rangemode="tozero", row=1, col=1)
    figure.update_yaxes(title_text="turning cosine", range=[-1.02, 1.02], row=2, col=1)
    return figure


def load_pca_versus_null(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Explained variance of the trajectory PCA and of a random walk at the same epochs."""
    arrays = source.cross_epoch(DYNAMICS)
    return {
        "epoch": epoch,
        "run": np.asarray(arrays["explained_variance_ratio"]) * 100,
        "null": np.asarray(arrays["null.explained_variance_ratio"]) * 100,
    }


def render_pca_versus_null(data: dict[str, Any]) -> go.Figure:
    """Grouped bars per principal component."""
    labels = [f"PC{i + 1}" for i in range(len(data["run"]))]
    figure = go.Figure(
        [
            go.Bar(x=labels, y=data["run"], name="this run"),
            go.Bar(
                x=labels,
                y=data["null"][: len(labels)],
                name="random walk",
                marker={"color": "#aaa"},
            ),
        ]
    )
    figure.update_layout(barmode="group")
    figure.update_xaxes(title_text="principal component")
    figure.update_yaxes(title_text="explained variance (% of total)", range=[0, 105])
    return figure


register_view(
    ViewSpec(
        name="parameters.turning_over_training",
        title="Trajectory speed and turning",
        kind=CROSS_EPOCH,
        description="Distance travelled per window and the cosine between consecutive steps of "
        "the weight trajectory, each beside a random-walk null.",
        requires=(DYNAMICS,),
        loader=load_turning,
        renderer=render_turning,
        aliases=("trajectory_turning",),
    )
)

register_view(
    ViewSpec(
        name="parameters.pca_versus_random_walk",
        title="Trajectory PCA versus a random walk",
        kind=CROSS_EPOCH,
        uses_epoch=False,
        description="Explained variance of the weight trajectory's principal components beside "
        "that of a random walk sampled at the same epochs.",
        requires=(DYNAMICS,),
        loader=load_pca_versus_null,
        renderer=render_pca_versus_null,
    )
)
