"""Logit attribution per frequency: amplitudes on cos/sin(w_k(a+b−c)), whole and per component."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.library.graduation import (
    make_fixed_heatmap_renderer,
    make_share_heatmap_renderer,
)
from miscope_core.views.library.progress import key_label, make_lines_renderer
from miscope_core.views.registry import CROSS_EPOCH, PER_EPOCH, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import (
    CATEGORICAL,
    add_epoch_cursor,
    symmetric_range,
    value_range,
)

PER_EPOCH_ANALYZER = "logits.frequency_attribution"
KEY_ANALYZER = "logits.key_frequency_attribution"
CLUSTER_ANALYZER = "neurons.cluster_logit_attribution"
CONTEXT = ("token_basis", "token_basis_frequency", "probe_grid_shape", "readout_position")
PAPER_SHARE = 0.9  # Nanda et al. 2023 report 95%; CALIBRATION §7.6 checks >= 90%


def load_amplitudes(source: VariantSource, epoch: int) -> dict[str, Any]:
    """α_k and β_k of the logits at one checkpoint, on the range of every checkpoint."""
    arrays = source.epoch(PER_EPOCH_ANALYZER, epoch)
    summary = source.summary(PER_EPOCH_ANALYZER)
    share = float(np.sum(arrays["variance_explained"]))
    return {
        "labels": source.frequency_labels(len(arrays["cos_coefficients"])),
        "cos": arrays["cos_coefficients"],
        "sin": arrays["sin_coefficients"],
        "y_range": symmetric_range(summary["cos_coefficients"], summary["sin_coefficients"]),
        "title_detail": f" (all cos/sin terms: {share:.1%} of the centred logit variance)",
    }


def render_amplitudes(data: dict[str, Any]) -> go.Figure:
    """Grouped bars: cos and sin amplitude per frequency."""
    figure = go.Figure()
    for key, name, color in (("cos", "cos(w_k(a+b−c))", "#1f77b4"), ("sin", "sin(…)", "#ff7f0e")):
        figure.add_trace(go.Bar(x=data["labels"], y=data[key], name=name, marker_color=color))
    figure.update_layout(barmode="group")
    figure.update_xaxes(title_text="frequency")
    figure.update_yaxes(title_text="amplitude in the logits (logit units)", range=data["y_range"])
    return figure


def load_frequency_variance(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Share of the centred logit variance per frequency at every checkpoint."""
    summary = source.summary(PER_EPOCH_ANALYZER)
    share = np.asarray(summary["variance_explained"], dtype=np.float64)
    return {
        "epoch": epoch,
        "epochs": summary["epochs"],
        "z": share.T,
        "rows": source.frequency_labels(share.shape[1]),
    }


def load_key_variance(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Share of the centred logit variance explained by the key frequencies over training."""
    arrays = source.cross_epoch(KEY_ANALYZER)
    return {
        "epoch": epoch,
        "epochs": arrays["epochs"],
        "lines": {
            "cos and sin terms": arrays["key_variance_explained"],
            "cos terms only (the paper's measure)": arrays["key_cos_variance_explained"],
        },
        "title_detail": key_label(source, arrays),
    }


def render_key_variance(data: dict[str, Any]) -> go.Figure:
    """Lines over checkpoints with the paper's 90% reference."""
    figure = make_lines_renderer("share of centred logit variance", [0, 1.02])(data)
    figure.add_hline(
        y=PAPER_SHARE,
        line={"color": "#7f7f7f", "dash": "dot"},
        annotation_text="90% (calibration check)",
    )
    return figure


def load_single_excluded(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Train loss with one frequency removed, for every frequency, over training."""
    arrays = source.cross_epoch(KEY_ANALYZER)
    losses = np.asarray(arrays["single_frequency_excluded_loss"], dtype=np.float64)
    return {
        "epoch": epoch,
        "epochs": arrays["epochs"],
        "losses": losses,
        "labels": source.frequency_labels(losses.shape[1]),
        "keys": {int(k) for k in arrays["key_frequencies"]},
        "title_detail": key_label(source, arrays),
    }


def render_single_excluded(data: dict[str, Any]) -> go.Figure:
    """One line per frequency: key frequencies coloured, the others thin grey (log scale)."""
    figure = go.Figure()
    others = [i for i in range(len(data["labels"])) if i + 1 not in data["keys"]]
    for index, label in enumerate(data["labels"]):
        key = index + 1 in data["keys"]
        # one legend entry stands for every grey line: 28 entries would bury the plot
        grey = {"legendgroup": "other", "showlegend": index == others[0]} if not key else {}
        if grey.get("showlegend"):
            grey["legendgrouptitle_text"] = "other frequencies"
        figure.add_trace(
            go.Scatter(
                x=data["epochs"],
                y=data["losses"][:, index],
                name=label + (" (key)" if key else ""),
                mode="lines",
                line={
                    "color": CATEGORICAL[index % len(CATEGORICAL)] if key else "#bbbbbb",
                    "width": 2.5 if key else 1,
                },
                **grey,
            )
        )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="train loss with frequency k removed (log scale)", type="log")
    return figure


def load_head_attribution(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Amplitude √(α² + β²) of every head's direct logit contribution per frequency."""
    arrays = source.epoch(PER_EPOCH_ANALYZER, epoch)
    amplitude = np.hypot(
        arrays["head_cos_coefficients"].astype(np.float64),
        arrays["head_sin_coefficients"].astype(np.float64),
    )
    n_layers, n_heads, n_freq = amplitude.shape
    return {
        "z": amplitude.reshape(n_layers * n_heads, n_freq),
        "y": [f"L{layer}H{head}" for layer in range(n_layers) for head in range(n_heads)],
        "x": source.frequency_labels(n_freq),
        "x_title": "frequency",
        "y_title": "head (direct path to the logits)",
        "z_range": value_range(source.summary(PER_EPOCH_ANALYZER)["head_amplitude"], floor=0.0),
    }


def load_cluster_attribution(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Each neuron cluster's amplitude at its own frequency over training."""
    arrays = source.cross_epoch(CLUSTER_ANALYZER)
    clusters = [int(k) for k in arrays["cluster_frequency"]]
    sizes = [int(n) for n in arrays["cluster_size"]]
    amplitude = np.hypot(arrays["cluster_cos_coefficients"], arrays["cluster_sin_coefficients"])
    labels = source.frequency_labels(max([1, *clusters]))
    lines = {}
    for index, k in enumerate(clusters):
        if k == 0:
            name = f"unexplained ({sizes[index]} neurons; all frequencies)"
            lines[name] = np.sqrt(np.sum(amplitude[:, index] ** 2, axis=1))
        else:
            lines[f"{labels[k - 1]} cluster ({sizes[index]} neurons)"] = amplitude[:, index, k - 1]
    return {"epoch": epoch, "epochs": arrays["epochs"], "lines": lines}


register_view(
    ViewSpec(
        name="logits.frequency_amplitudes",
        title="Logit amplitude per frequency",
        kind=PER_EPOCH,
        requires=(PER_EPOCH_ANALYZER,),
        description="Amplitudes α_k, β_k of the logits on cos/sin(w_k(a+b−c)) at a checkpoint "
        "(logits ≈ Σ α_k cos(w_k(a+b−c)) once the clock algorithm has formed).",
        loader=load_amplitudes,
        renderer=render_amplitudes,
        context_keys=CONTEXT,
    )
)

register_view(
    ViewSpec(
        name="logits.frequency_variance",
        title="Logit variance per frequency over training",
        kind=CROSS_EPOCH,
        requires=(PER_EPOCH_ANALYZER,),
        description="Share of the per-input-centred logit variance explained by each "
        "frequency's cos/sin(w_k(a+b−c)) terms, at every checkpoint.",
        loader=load_frequency_variance,
        renderer=make_share_heatmap_renderer("frequency", "share of variance", "%{y}"),
        context_keys=CONTEXT,
    )
)

register_view(
    ViewSpec(
        name="logits.key_variance_explained",
        title="Logit variance explained by the key frequencies",
        kind=CROSS_EPOCH,
        requires=(KEY_ANALYZER,),
        description="Share of the centred logit variance explained by the key frequencies "
        "over training (the paper reports 95% at the end; calibration checks ≥ 90%).",
        loader=load_key_variance,
        renderer=render_key_variance,
        context_keys=CONTEXT,
        aliases=("variance_explained",),
    )
)

register_view(
    ViewSpec(
        name="logits.single_frequency_excluded_loss",
        title="Excluded loss of each single frequency",
        kind=CROSS_EPOCH,
        requires=(KEY_ANALYZER,),
        description="Train loss with one frequency's cos/sin(w_k(a+b)) components removed from "
        "the logits, for every frequency over training (Nanda et al. App. C).",
        loader=load_single_excluded,
        renderer=render_single_excluded,
        context_keys=CONTEXT,
    )
)

register_view(
    ViewSpec(
        name="logits.head_attribution",
        title="Logit attribution per head and frequency",
        kind=PER_EPOCH,
        requires=(PER_EPOCH_ANALYZER,),
        description="Amplitude √(α² + β²) on cos/sin(w_k(a+b−c)) of each attention head's direct "
        "contribution to the logits, per frequency.",
        loader=load_head_attribution,
        renderer=make_fixed_heatmap_renderer(
            "amplitude",
            "amplitude<br>(logits)",
            "%{y}, %{x}<br>amplitude %{z:.3g}",
            type="category",
        ),
        context_keys=CONTEXT,
    )
)

register_view(
    ViewSpec(
        name="neurons.cluster_attribution",
        title="Logit attribution per neuron cluster",
        kind=CROSS_EPOCH,
        requires=(CLUSTER_ANALYZER,),
        description="Direct logit amplitude of each MLP neuron cluster (neurons grouped by their "
        "final dominant frequency) at its own frequency, over training.",
        loader=load_cluster_attribution,
        renderer=make_lines_renderer("amplitude in the logits (logit units)"),
        context_keys=CONTEXT,
        requires_mlp=True,
    )
)
