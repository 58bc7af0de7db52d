"""Reusable PCA-trajectory views: 2-D pairs of components, 3-D, explained variance.

Any cross-epoch analyzer storing `epochs`, projections `[n_epochs, k]` and an explained-variance
ratio `[k]` (optionally per group, keys `<group>.projections`) gets these views.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.registry import CROSS_EPOCH, ViewParam, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import CURSOR_COLOR, add_cursor_point

PAIRS = ((1, 2), (1, 3), (2, 3))


def group_param(groups: tuple[str, ...]) -> tuple[ViewParam, ...]:
    """The `group` parameter (weight group) when the analyzer stores several."""
    if len(groups) <= 1:
        return ()
    return (ViewParam("group", str, groups[0], "which weights' trajectory", choices=groups),)


def make_pca_loader(analyzer: str, prefix: str):
    """Loader of epochs, projections and explained variance of one group."""

    def load(source: VariantSource, epoch: int, group: str = "") -> dict[str, Any]:
        arrays = source.cross_epoch(analyzer)
        stem = f"{group}." if group else prefix
        projections = np.asarray(arrays[f"{stem}projections"], dtype=np.float64)
        return {
            "epoch": epoch,
            "epochs": np.asarray(arrays["epochs"]),
            "projections": projections,
            "ratio": np.asarray(arrays[f"{stem}explained_variance_ratio"], dtype=np.float64),
            "title_detail": f" ({group} weights)" if group else "",
        }

    load.__name__ = f"load_{analyzer.replace('.', '_')}_pca"
    return load


def axis_label(ratio: np.ndarray, component: int, units: str) -> str:
    """'PC2 (21.3% of variance), weight units'."""
    share = ratio[component - 1] * 100 if component <= len(ratio) else float("nan")
    return f"PC{component} ({share:.1f}% of variance), {units}"


def short_axis_label(ratio: np.ndarray, component: int) -> str:
    """'PC2 (21%)' for crowded 3-D axes."""
    share = ratio[component - 1] * 100 if component <= len(ratio) else float("nan")
    return f"PC{component} ({share:.0f}%)"


def cursor_index(epochs: np.ndarray, epoch: int) -> int:
    """Index of the trajectory point nearest the cursor epoch."""
    return int(np.argmin(np.abs(np.asarray(epochs) - epoch)))


def make_pair_renderer(first: int, second: int, units: str):
    """Renderer of PC`first` vs PC`second`, coloured by epoch, cursor point highlighted."""

    def render(data: dict[str, Any]) -> go.Figure:
        proj, epochs = data["projections"], data["epochs"]
        xs = component(proj, first)
        ys = component(proj, second)
        figure = go.Figure(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name="checkpoints",
                showlegend=False,
                line={"color": "rgba(120,120,120,0.5)"},
                marker={
                    "color": epochs,
                    "colorscale": "Viridis",
                    "size": 7,
                    "colorbar": {"title": {"text": "epoch"}},
                },
                customdata=epochs,
                hovertemplate="epoch %{customdata}<extra></extra>",
            )
        )
        i = cursor_index(epochs, data["epoch"])
        add_cursor_point(figure, xs[i], ys[i], int(epochs[i]))
        figure.update_xaxes(title_text=axis_label(data["ratio"], first, units))
        figure.update_yaxes(title_text=axis_label(data["ratio"], second, units))
        return figure

    render.__name__ = f"render_pc{first}_pc{second}"
    return render


def component(projections: np.ndarray, number: int) -> np.ndarray:
    """Column PC`number` (1-based); zeros when fewer components exist (tiny runs)."""
    if projections.shape[1] >= number:
        return projections[:, number - 1]
    return np.zeros(projections.shape[0])


def make_3d_renderer(units: str):
    """Renderer of PC1-PC3 in 3-D, coloured by epoch, cursor highlighted."""

    def render(data: dict[str, Any]) -> go.Figure:
        proj, epochs = data["projections"], data["epochs"]
        xs, ys, zs = (component(proj, n) for n in (1, 2, 3))
        figure = go.Figure(
            go.Scatter3d(
                x=xs,
                y=ys,
                z=zs,
                mode="lines+markers",
                showlegend=False,
                line={"color": "rgba(120,120,120,0.6)"},
                marker={
                    "color": epochs,
                    "colorscale": "Viridis",
                    "size": 4,
                    "colorbar": {"title": {"text": "epoch"}},
                },
                customdata=epochs,
                hovertemplate="epoch %{customdata}<extra></extra>",
            )
        )
        i = cursor_index(epochs, data["epoch"])
        add_cursor_point(figure, xs[i], ys[i], int(epochs[i]), z=zs[i])
        ratio = data["ratio"]
        figure.update_layout(
            scene={
                "xaxis": {"title": {"text": short_axis_label(ratio, 1)}},
                "yaxis": {"title": {"text": short_axis_label(ratio, 2)}},
                "zaxis": {"title": {"text": short_axis_label(ratio, 3)}},
                "camera": {"eye": {"x": 1.7, "y": 1.7, "z": 1.1}},
            },
            height=660,
            annotations=[
                {
                    "text": f"axes: principal-component projections, {units}",
                    "x": 0,
                    "y": 0,
                    "xref": "paper",
                    "yref": "paper",
                    "showarrow": False,
                    "font": {"size": 11, "color": "#666"},
                }
            ],
        )
        return figure

    return render


def render_explained_variance(data: dict[str, Any]) -> go.Figure:
    """Bars of each component's share of variance, with the cumulative share as a line."""
    ratio = data["ratio"] * 100
    labels = [f"PC{i + 1}" for i in range(len(ratio))]
    figure = go.Figure(go.Bar(x=labels, y=ratio, name="per component", marker={"color": "#1f77b4"}))
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=np.cumsum(ratio),
            mode="lines+markers",
            name="cumulative",
            line={"color": CURSOR_COLOR},
        )
    )
    figure.update_xaxes(title_text="principal component")
    figure.update_yaxes(title_text="explained variance (% of total)", range=[0, 105])
    return figure


def register_pca_views(
    prefix: str,
    analyzer: str,
    what: str,
    units: str,
    groups: tuple[str, ...] = (),
    key_prefix: str = "",
    aliases: dict[str, str] | None = None,
) -> None:
    """Register `<prefix>.pc1_pc2` .. `.pc2_pc3`, `.trajectory_3d`, `.explained_variance`."""
    aliases = aliases or {}
    params = group_param(groups)
    loader = make_pca_loader(analyzer, key_prefix)
    module = f"miscope_core.views.trajectory:{prefix}"
    for first, second in PAIRS:
        name = f"{prefix}.pc{first}_pc{second}"
        register_view(
            ViewSpec(
                name=name,
                title=f"{what}: PC{first} vs PC{second}",
                kind=CROSS_EPOCH,
                description=f"{what} across checkpoints projected on principal components "
                f"{first} and {second}, coloured by epoch.",
                requires=(analyzer,),
                loader=loader,
                params=params,
                module=module,
                renderer=make_pair_renderer(first, second, units),
                aliases=tuple(a for a, target in aliases.items() if target == name),
            )
        )
    for suffix, title, description, renderer in (
        (
            "trajectory_3d",
            f"{what}: PC1-PC3 in 3-D",
            f"{what} across checkpoints on the first three principal components, coloured by "
            f"epoch.",
            make_3d_renderer(units),
        ),
        (
            "explained_variance",
            f"{what}: explained variance",
            f"Share of the variance of {what.lower()} across checkpoints explained by each "
            f"principal component.",
            render_explained_variance,
        ),
    ):
        name = f"{prefix}.{suffix}"
        register_view(
            ViewSpec(
                name=name,
                title=title,
                kind=CROSS_EPOCH,
                description=description,
                requires=(analyzer,),
                loader=loader,
                params=params,
                renderer=renderer,
                module=module,
                uses_epoch=suffix != "explained_variance",
                aliases=tuple(a for a, t in aliases.items() if t == name),
            )
        )
