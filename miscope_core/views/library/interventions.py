"""Views of the interventions: necessity over training, per-component heatmap, logit
frequencies under ablation, and the cross-checkpoint patching matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.analysis.artifacts import MissingArtifactError
from miscope_core.io import CorruptFileError
from miscope_core.views.library.attention import HEAD_COLORS
from miscope_core.views.library.calibration import phase_boundaries
from miscope_core.views.library.graduation import make_fixed_heatmap_renderer
from miscope_core.views.registry import (
    ACROSS_EPOCHS,
    CROSS_EPOCH,
    PER_EPOCH,
    ViewParam,
    ViewSpec,
    register_view,
)
from miscope_core.views.source import VariantSource
from miscope_core.views.style import DIVERGING, SEQUENTIAL, add_epoch_cursor

ABLATION = "interventions.ablation"
PATCHING = "interventions.patching"
METRIC = ViewParam(
    "metric", str, "loss", "loss (cross-entropy) or accuracy", choices=("loss", "accuracy")
)
METRIC_SET = ViewParam(
    "metric_set",
    str,
    "",
    "which targets: 'train', 'test', 'probe', 'repeated_half' (as the family has them); "
    "'' = test if present, else the first",
)
BANDS = (
    ("memorization_end", "cleanup_start", "#fdd49e", "circuit formation"),
    ("cleanup_start", "cleanup_end", "#c7e9c0", "cleanup"),
)


def choose_set(names: list[str], wanted: str) -> int:
    """Index of the metric set; an unknown name lists those the artifact has."""
    if not wanted:
        return names.index("test") if "test" in names else 0
    if wanted not in names:
        raise ValueError(f"metric_set must be one of {names} for this variant, got {wanted!r}")
    return names.index(wanted)


def load_necessity(
    source: VariantSource, epoch: int, metric: str = "loss", metric_set: str = ""
) -> dict[str, Any]:
    """Clean and ablated metric of every component over training, plus phase boundaries."""
    summary = source.summary(ABLATION)
    sets = [str(s) for s in summary["set_names"][-1]]
    index = choose_set(sets, metric_set)
    return {
        "epoch": epoch,
        "epochs": np.asarray(summary["epochs"]),
        "names": [str(n) for n in summary["component_names"][-1]],
        "clean": np.asarray(summary[f"baseline_{metric}"])[:, index],
        "ablated": np.asarray(summary[metric])[:, :, index],
        "metric": metric,
        "metric_set": sets[index],
        "phases": _optional_phases(source),
        "title_detail": f" ({metric}, {sets[index]})",
        "width": 1100,
    }


def _optional_phases(source: VariantSource) -> dict[str, float]:
    try:
        return phase_boundaries(source)
    except (MissingArtifactError, CorruptFileError, KeyError):
        return {}


def add_phase_bands(figure: go.Figure, phases: dict[str, float]) -> None:
    """Shaded circuit-formation (memorization end to cleanup start) and cleanup bands, when
    training.phases found them."""
    for start, end, color, label in BANDS:
        if start in phases and end in phases:
            figure.add_vrect(
                x0=phases[start],
                x1=phases[end],
                fillcolor=color,
                opacity=0.35,
                line_width=0,
                layer="below",
                annotation_text=label,
                annotation_position="top left",
                annotation_font={"size": 10},
            )


def render_necessity(data: dict[str, Any]) -> go.Figure:
    """One line per ablated component, the clean model dashed; phase bands; epoch cursor."""
    figure = go.Figure()
    for i, name in enumerate(data["names"]):
        figure.add_trace(
            go.Scatter(
                x=data["epochs"],
                y=data["ablated"][:, i],
                mode="lines",
                name=f"{name} ablated",
                line={"color": HEAD_COLORS[i % len(HEAD_COLORS)]},
                hovertemplate="epoch %{x}<br>%{y:.4g}<extra>" + name + "</extra>",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=data["epochs"],
            y=data["clean"],
            mode="lines",
            name="clean model",
            line={"color": "black", "dash": "dash"},
            hovertemplate="epoch %{x}<br>%{y:.4g}<extra>clean</extra>",
        )
    )
    add_phase_bands(figure, data["phases"])
    add_epoch_cursor(figure, data["epoch"])
    # one entry per component: a column beside the plot, not a row over the title
    figure.update_layout(legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1})
    figure.update_xaxes(title_text="epoch")
    label = f"{data['metric_set']} {data['metric']}"
    if data["metric"] == "loss":
        figure.update_yaxes(title_text=f"{label} (cross-entropy, log scale)", type="log")
    else:
        figure.update_yaxes(title_text=label, range=[-0.02, 1.02])
    return figure


def render_necessity_heatmap(data: dict[str, Any]) -> go.Figure:
    """Component x epoch: the ablated metric minus the clean one."""
    change = (data["ablated"] - data["clean"][:, None]).T
    limit = float(np.nanmax(np.abs(change))) or 1.0
    figure = go.Figure(
        go.Heatmap(
            z=change,
            x=data["epochs"],
            y=data["names"],
            zmin=-limit,
            zmax=limit,
            colorscale=DIVERGING,
            colorbar={"title": {"text": f"Δ {data['metric']}"}},
            hovertemplate="epoch %{x}<br>%{y}<br>Δ %{z:.4g}<extra></extra>",
        )
    )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="ablated component", type="category", autorange="reversed")
    return figure


def load_logit_frequencies(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Per-frequency norm of the readout logits, clean and with each component ablated."""
    arrays = source.epoch(ABLATION, epoch)
    norms = np.asarray(arrays["logit_frequency_norms"], dtype=np.float32)
    if norms.shape[1] == 0:
        raise ValueError(
            "interventions.logit_frequencies needs a token basis over a square probe grid "
            "(modular addition); this variant's ablation artifacts have no frequency norms"
        )
    highest = float(np.max(source.summary(ABLATION)["logit_frequency_norms"]))
    return {
        "epoch": epoch,
        "z": norms,
        "y": ["clean", *[str(n) for n in arrays["component_names"]]],
        "x": np.arange(1, norms.shape[1] + 1),
        "z_range": (0.0, highest or 1.0),
        "x_title": "frequency k of cos/sin(w_k(a+b)) in the logits",
        "y_title": "model",
    }


def load_patching_matrix(
    source: VariantSource, epoch: int, component: int = 0, metric: str = "recovered"
) -> dict[str, Any]:
    """The s x t matrix of one component: source checkpoint s patched into target t."""
    arrays = source.cross_epoch(PATCHING)
    names = [str(n) for n in arrays["component_names"]]
    if not 0 <= component < len(names):
        raise ValueError(
            f"component must be an index in 0..{len(names) - 1} ({names}), got {component}"
        )
    return {
        "epoch": epoch,
        "epochs": np.asarray(arrays["epochs"]),
        "matrix": np.asarray(arrays[metric])[component],
        "metric": metric,
        "name": names[component],
        "set_name": str(arrays["set_name"]),
        "title_detail": f" ({names[component]}, {metric})",
    }


def render_patching_matrix(data: dict[str, Any]) -> go.Figure:
    """Heatmap: rows target checkpoint t, columns source checkpoint s."""
    labels = [str(e) for e in data["epochs"]]
    recovered = data["metric"] == "recovered"
    figure = go.Figure(
        go.Heatmap(
            z=data["matrix"],
            x=labels,
            y=labels,
            colorscale=DIVERGING if recovered else SEQUENTIAL,
            zmin=-1 if recovered else None,
            zmax=1 if recovered else None,
            text=np.round(data["matrix"], 2),
            texttemplate="%{text}",
            colorbar={"title": {"text": data["metric"]}},
            hovertemplate="source epoch %{x} -> target epoch %{y}<br>%{z:.3f}<extra></extra>",
        )
    )
    figure.update_xaxes(
        title_text=f"source checkpoint s ({data['name']} taken from)", type="category"
    )
    figure.update_yaxes(title_text="target checkpoint t", type="category", autorange="reversed")
    return figure


register_view(
    ViewSpec(
        name="interventions.necessity",
        title="Necessity over training: metric with each component ablated",
        kind=ACROSS_EPOCHS,
        requires=(ABLATION,),
        description="Loss or accuracy of the model with each chosen component ablated (one line "
        "each) beside the clean model, at every checkpoint; shaded memorization-to-cleanup and "
        "cleanup phases when training.phases ran.",
        loader=load_necessity,
        renderer=render_necessity,
        params=(METRIC, METRIC_SET),
        aliases=("necessity_curves",),
    )
)
register_view(
    ViewSpec(
        name="interventions.necessity_heatmap",
        title="Ablation effect per component and epoch",
        kind=ACROSS_EPOCHS,
        requires=(ABLATION,),
        description="Component x epoch heatmap of the ablated metric minus the clean one: when "
        "in training each component became necessary.",
        loader=load_necessity,
        renderer=render_necessity_heatmap,
        params=(METRIC, METRIC_SET),
    )
)
register_view(
    ViewSpec(
        name="interventions.logit_frequencies",
        title="Logit frequencies under ablation",
        kind=PER_EPOCH,
        requires=(ABLATION,),
        context_keys=("token_basis", "probe_grid_shape"),
        description="Norm of the readout logits' cos/sin(w_k(a+b)) component for every frequency "
        "k, for the clean model and with each component ablated: which frequencies a "
        "component carries.",
        loader=load_logit_frequencies,
        renderer=make_fixed_heatmap_renderer(
            "logit norm",
            "logit norm",
            "k=%{x}<br>%{y}<br>norm %{z:.3g}",
            type="category",
            autorange="reversed",
        ),
    )
)
register_view(
    ViewSpec(
        name="interventions.patching_matrix",
        title="Cross-checkpoint patching matrix",
        kind=CROSS_EPOCH,
        requires=(PATCHING,),
        description="A component's activations from checkpoint s patched into checkpoint t: "
        "the share of the metric recovered relative to ablating it (1 = as good as t's own, "
        "0 = as bad as ablated), or the raw patched loss.",
        loader=load_patching_matrix,
        renderer=render_patching_matrix,
        params=(
            ViewParam("component", int, 0, "index of the patched component", lower=0),
            ViewParam(
                "metric",
                str,
                "recovered",
                "recovered share or raw loss",
                choices=("recovered", "loss"),
            ),
        ),
    )
)
