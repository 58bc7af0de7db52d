"""Progress measures for grokking (Nanda et al. 2023): restricted / excluded loss, Gini, norm."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.registry import CROSS_EPOCH, METRICS, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import add_epoch_cursor

ANALYZER = "progress.measures"
CONTEXT = ("token_basis", "token_basis_frequency", "probe_grid_shape", "probe_train_mask")
LOSS_STYLE = {
    "train": ("#1f77b4", "solid"),
    "test": ("#ff7f0e", "solid"),
    "restricted": ("#2ca02c", "dash"),
    "excluded": ("#d62728", "dash"),
}


def key_label(source: VariantSource, arrays: dict[str, np.ndarray]) -> str:
    """' (key frequencies k=4, k=11)' for titles."""
    keys = [int(k) for k in arrays.get("key_frequencies", [])]
    if not keys:
        return (
            " (no key frequencies yet: no spectral gap; key-frequency measures not yet "
            "interpretable, not drawn)"
        )
    labels = source.frequency_labels(max(keys))
    return f" (key frequencies {', '.join(labels[k - 1] for k in keys)})"


def load_progress_losses(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Train, test (metrics) and restricted, excluded (progress.measures) loss per checkpoint."""
    arrays = source.cross_epoch(ANALYZER)
    metrics = source.metrics()
    return {
        "epoch": epoch,
        "checkpoints": arrays["epochs"],
        "metric_epochs": metrics["epoch"],
        "curves": {"train": metrics["train_loss"], "test": metrics["test_loss"]},
        "measures": {"restricted": arrays["restricted_loss"], "excluded": arrays["excluded_loss"]},
        "title_detail": key_label(source, arrays),
    }


def render_progress_losses(data: dict[str, Any]) -> go.Figure:
    """Four losses on one log-scale plot, cursor at the epoch."""
    figure = go.Figure()
    for name, values in data["curves"].items():
        color, dash = LOSS_STYLE[name]
        figure.add_trace(
            go.Scatter(
                x=data["metric_epochs"],
                y=values,
                name=f"{name} loss",
                mode="lines",
                line={"color": color, "dash": dash},
            )
        )
    for name, values in data["measures"].items():
        color, dash = LOSS_STYLE[name]
        figure.add_trace(
            go.Scatter(
                x=data["checkpoints"],
                y=values,
                name=f"{name} loss",
                mode="lines+markers",
                line={"color": color, "dash": dash},
            )
        )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="cross-entropy loss (nats, log scale)", type="log")
    return figure


def load_gini(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Gini coefficient of the basis norms of W_E and of W_L (per layer) over training."""
    arrays = source.cross_epoch(ANALYZER)
    lines = {"W_E": arrays["gini_W_E"]}
    if "gini_W_L" in arrays:
        gini = np.asarray(arrays["gini_W_L"])
        lines.update({f"W_L layer {layer}": gini[:, layer] for layer in range(gini.shape[1])})
    return {
        "epoch": epoch,
        "epochs": arrays["epochs"],
        "lines": lines,
        "title_detail": key_label(source, arrays),
    }


def load_key_share(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Share of W_E's frequency power in the key frequencies over training."""
    arrays = source.cross_epoch(ANALYZER)
    return {
        "epoch": epoch,
        "epochs": arrays["epochs"],
        "lines": {"W_E key-frequency share": arrays["key_share_W_E"]},
        "title_detail": key_label(source, arrays),
    }


def make_lines_renderer(y_title: str, y_range: list[float] | None = None):
    """Renderer of named lines over checkpoints with the epoch cursor."""

    def render(data: dict[str, Any]) -> go.Figure:
        figure = go.Figure()
        for name, values in data["lines"].items():
            figure.add_trace(
                go.Scatter(x=data["epochs"], y=values, name=name, mode="lines+markers")
            )
        add_epoch_cursor(figure, data["epoch"])
        figure.update_xaxes(title_text="epoch")
        figure.update_yaxes(title_text=y_title, range=y_range)
        return figure

    return render


def load_sum_squares(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Total sum of squared weights at every checkpoint."""
    arrays = source.cross_epoch(ANALYZER)
    return {
        "epoch": epoch,
        "epochs": arrays["epochs"],
        "lines": {"Σw² (all weights)": arrays["sum_squares"]},
        "title_detail": key_label(source, arrays),
    }


register_view(
    ViewSpec(
        name="progress.losses",
        title="Progress measures: losses",
        kind=CROSS_EPOCH,
        requires=(ANALYZER, METRICS),
        description=(
            "Train and test loss with the restricted loss (key frequencies only, test rows) and "
            "the excluded loss (key frequencies removed, train rows), log scale."
        ),
        loader=load_progress_losses,
        renderer=render_progress_losses,
        context_keys=CONTEXT,
        aliases=("progress_losses", "restricted_loss"),
    )
)

register_view(
    ViewSpec(
        name="progress.gini",
        title="Progress measures: Gini of the basis norms",
        kind=CROSS_EPOCH,
        requires=(ANALYZER,),
        description=(
            "Gini coefficient of the basis-component norms of W_E and of the neuron-to-logit map "
            "W_L over training (1 = concentrated on few components)."
        ),
        loader=load_gini,
        renderer=make_lines_renderer(
            "Gini coefficient (0 = uniform, 1 = one component)", [0, 1.02]
        ),
        context_keys=CONTEXT,
        aliases=("gini",),
    )
)

register_view(
    ViewSpec(
        name="progress.key_frequency_share",
        title="Progress measures: key-frequency share of W_E",
        kind=CROSS_EPOCH,
        requires=(ANALYZER,),
        description=(
            "Share of the embedding's non-constant frequency power held by the key frequencies, "
            "over training."
        ),
        loader=load_key_share,
        renderer=make_lines_renderer("share of W_E frequency power", [0, 1.02]),
        context_keys=CONTEXT,
    )
)

register_view(
    ViewSpec(
        name="progress.weight_norm",
        title="Progress measures: total weight norm",
        kind=CROSS_EPOCH,
        requires=(ANALYZER,),
        description="Total sum of squared weights at each checkpoint (weight decay's target).",
        loader=load_sum_squares,
        renderer=make_lines_renderer("sum of squared weights (Σw²)"),
        context_keys=CONTEXT,
    )
)
