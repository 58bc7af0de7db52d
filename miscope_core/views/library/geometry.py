"""Representation geometry: class centroids, their spread, SNR, circularity, Fourier alignment."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from miscope_core.views.registry import ACROSS_EPOCHS, PER_EPOCH, ViewParam, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.spectra import LAYER
from miscope_core.views.style import add_epoch_cursor, symmetric_range, value_range

ANALYZER = "representations.class_geometry"
SITES = ("resid_pre", "resid_mid", "resid_post", "mlp_post")
MLP_SITES = ("resid_mid", "mlp_post")
NOT_APPLICABLE_REASON = (
    "the activation is the same for every probe input (e.g. resid_pre of layer 0 at the readout "
    "position holds only the '=' token's embedding), so classes cannot differ there"
)
SITE = ViewParam(
    "site", str, "resid_post", "where in the layer (at the readout position)", choices=SITES
)
CONTEXT = ("probe_labels", "readout_position")
SITE_COLORS = dict(zip(SITES, ("#1f77b4", "#2ca02c", "#d62728", "#ff7f0e"), strict=True))
MEASURES = (
    ("snr", "signal-to-noise (spread² / radius²)", "log"),
    ("circularity", "circularity (0..1)", "linear"),
    ("fourier_alignment", "Fourier alignment (0..1)", "linear"),
)


def check_site(source: VariantSource, site: str, epoch: int | None = None, layer: int = 0):
    """MLP sites do not exist in attention-only models; a constant site has no geometry."""
    if site in MLP_SITES and not source.model.get("d_mlp"):
        raise ValueError(
            f"Site '{site}' needs MLP layers; this model is attention-only; try site='resid_post'"
        )
    if epoch is not None and not bool(source.epoch(ANALYZER, epoch)[f"{site}.applicable"][layer]):
        raise ValueError(
            f"Site '{site}' (layer {layer}) is not applicable at epoch {epoch}: "
            f"{NOT_APPLICABLE_REASON}; try site='resid_post'"
        )


def load_centroids(
    source: VariantSource, epoch: int, site: str = "resid_post", layer: int = 0
) -> dict[str, Any]:
    """Class centroids on their top principal axes; axis ranges fixed over training."""
    check_site(source, site, epoch, layer)
    key = f"{site}.centroid_pcs"
    pcs = np.asarray(source.epoch(ANALYZER, epoch)[key][layer], dtype=np.float64)
    _, history = source.stacked(ANALYZER, key)
    bound = symmetric_range(history[:, layer, :, :2])[1] * 1.1
    return {
        "epoch": epoch,
        "pcs": pcs,
        "bound": bound,
        "title_detail": f" at {site} (layer {layer})",
        "width": 700,
        "height": 660,
    }


def render_centroids(data: dict[str, Any]) -> go.Figure:
    """Centroid of each class on PC1/PC2, labelled and coloured cyclically by class."""
    pcs = data["pcs"]
    classes = np.arange(len(pcs))
    figure = go.Figure(
        go.Scatter(
            x=pcs[:, 0],
            y=pcs[:, 1],
            mode="markers+text",
            text=[str(c) for c in classes],
            textposition="top center",
            name="class centroids",
            showlegend=False,
            marker={
                "color": classes,
                "colorscale": "Phase",
                "size": 10,
                "colorbar": {"title": {"text": "class"}},
            },
        )
    )
    bound = data["bound"]
    figure.update_xaxes(title_text="centroid PC1 (activation units)", range=[-bound, bound])
    figure.update_yaxes(
        title_text="centroid PC2 (activation units)", range=[-bound, bound], scaleanchor="x"
    )
    return figure


def load_class_spread(
    source: VariantSource, epoch: int, site: str = "resid_post", layer: int = 0
) -> dict[str, Any]:
    """Per class: radius and dimensionality, y ranges fixed over training."""
    check_site(source, site, epoch, layer)
    arrays = source.epoch(ANALYZER, epoch)
    keys = (f"{site}.radii", f"{site}.class_dimensionality")
    tops = [
        value_range(source.stacked(ANALYZER, k)[1][:, layer], floor=0.0)[1] * 1.05 for k in keys
    ]
    return {
        "epoch": epoch,
        "radii": arrays[keys[0]][layer],
        "dimensionality": arrays[keys[1]][layer],
        "tops": tops,
        "title_detail": f" at {site} (layer {layer})",
    }


def render_class_spread(data: dict[str, Any]) -> go.Figure:
    """Two bar panels per class: radius, participation ratio."""
    classes = [str(c) for c in range(len(data["radii"]))]
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    figure.add_trace(go.Bar(x=classes, y=data["radii"], name="radius"), row=1, col=1)
    figure.add_trace(
        go.Bar(x=classes, y=data["dimensionality"], name="dimensionality"), row=2, col=1
    )
    figure.update_xaxes(title_text="output class", type="category", row=2, col=1)
    figure.update_yaxes(
        title_text="class radius (activation units)", range=[0, data["tops"][0]], row=1, col=1
    )
    figure.update_yaxes(
        title_text="class dimensionality (PR)", range=[0, data["tops"][1]], row=2, col=1
    )
    figure.update_layout(height=600)
    return figure


def load_geometry_history(source: VariantSource, epoch: int, layer: int = 0) -> dict[str, Any]:
    """SNR, circularity and Fourier alignment per site over training; a site that is constant
    at every checkpoint is left out and named as not applicable."""
    sites = [s for s in SITES if source.model.get("d_mlp") or s not in MLP_SITES]
    constant = [
        s for s in sites if not np.any(source.stacked(ANALYZER, f"{s}.applicable")[1][:, layer])
    ]
    sites = [s for s in sites if s not in constant]
    series: dict[str, dict[str, np.ndarray]] = {}
    epochs = None
    for measure, _, _ in MEASURES:
        series[measure] = {}
        for site in sites:
            epochs, values = source.stacked(ANALYZER, f"{site}.{measure}")
            series[measure][site] = np.asarray(values)[:, layer]
    return {
        "epoch": epoch,
        "epochs": epochs,
        "series": series,
        "title_detail": f" (layer {layer})"
        + (
            f"; not applicable (constant over the probe): {', '.join(constant)}" if constant else ""
        ),
        "height": 760,
    }


def render_geometry_history(data: dict[str, Any]) -> go.Figure:
    """Three stacked panels (SNR log scale, circularity, alignment), one line per site."""
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    for row, (measure, title, scale) in enumerate(MEASURES, start=1):
        for site, values in data["series"][measure].items():
            figure.add_trace(
                go.Scatter(
                    x=data["epochs"],
                    y=values,
                    name=site,
                    legendgroup=site,
                    showlegend=row == 1,
                    mode="lines+markers",
                    line={"color": SITE_COLORS[site]},
                ),
                row=row,
                col=1,
            )
        figure.update_yaxes(
            title_text=title,
            type=scale,
            row=row,
            col=1,
            range=None if scale == "log" else [0, 1.02],
            exponentformat="power",
        )
        add_epoch_cursor(figure, data["epoch"], row=row, col=1)
    figure.update_xaxes(title_text="epoch", row=3, col=1)
    return figure


register_view(
    ViewSpec(
        name="representations.centroid_pca",
        title="Class centroids",
        kind=PER_EPOCH,
        description="Each output class's centroid at one site, on the centroids' top two principal "
        "axes (a circle means a Fourier-like representation).",
        requires=(ANALYZER,),
        loader=load_centroids,
        renderer=render_centroids,
        params=(SITE, LAYER),
        context_keys=CONTEXT,
        aliases=("centroid_pca",),
    )
)

register_view(
    ViewSpec(
        name="representations.class_spread",
        title="Class radius and dimensionality",
        kind=PER_EPOCH,
        description="Per output class, the radius (RMS distance to the centroid) and the "
        "participation ratio of the class's activations at one site.",
        requires=(ANALYZER,),
        loader=load_class_spread,
        renderer=render_class_spread,
        params=(SITE, LAYER),
        context_keys=CONTEXT,
    )
)

register_view(
    ViewSpec(
        name="representations.geometry_over_training",
        title="Representation geometry over training",
        kind=ACROSS_EPOCHS,
        description="Signal-to-noise, circularity and Fourier alignment of the class centroids at "
        "every site, over training.",
        requires=(ANALYZER,),
        loader=load_geometry_history,
        renderer=render_geometry_history,
        params=(LAYER,),
        context_keys=CONTEXT,
        aliases=("representation_geometry",),
    )
)
