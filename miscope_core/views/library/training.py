"""Training curves: loss and accuracy per epoch, checkpoints marked, epoch cursor."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from miscope_core.views.registry import ACROSS_EPOCHS, METRICS, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import add_epoch_cursor, epoch_checkpoint_markers

SPLIT_COLORS = {"train": "#1f77b4", "test": "#ff7f0e"}
OTHER_COLORS = ("#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def load_training_curves(source: VariantSource, epoch: int, quantity: str) -> dict[str, Any]:
    """Every per-epoch `<split>_<quantity>` metric (train/test, or the family's own splits
    such as repeated_half) with the checkpoint epochs."""
    metrics = source.metrics()
    suffix = f"_{quantity}"
    names = sorted(
        (k for k in metrics if k.endswith(suffix)),
        key=lambda k: (k != f"train{suffix}", k != f"test{suffix}", k),
    )
    curves = {name[: -len(suffix)].replace("_", " "): metrics[name] for name in names}
    return {
        "epoch": epoch,
        "epochs": metrics["epoch"],
        "curves": curves,
        "checkpoints": source.checkpoint_epochs,
        "quantity": quantity,
    }


def load_loss_curves(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Train and test loss per epoch."""
    return load_training_curves(source, epoch, "loss")


def load_accuracy_curves(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Train and test accuracy per epoch."""
    return load_training_curves(source, epoch, "accuracy")


def render_training_curves(data: dict[str, Any]) -> go.Figure:
    """One line per split (log y for loss), checkpoint markers, dashed epoch cursor."""
    figure = go.Figure()
    for i, (split, values) in enumerate(data["curves"].items()):
        color = SPLIT_COLORS.get(split, OTHER_COLORS[i % len(OTHER_COLORS)])
        figure.add_trace(
            go.Scatter(x=data["epochs"], y=values, mode="lines", name=split, line={"color": color})
        )
        xs, ys = epoch_checkpoint_markers(data["epochs"], values, data["checkpoints"])
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers",
                name=f"{split} checkpoints",
                marker={"color": color, "size": 5},
                showlegend=False,
            )
        )
    add_epoch_cursor(figure, data["epoch"])
    is_loss = data["quantity"] == "loss"
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(
        title_text="cross-entropy loss (nats, log scale)"
        if is_loss
        else "accuracy (fraction correct)",
        type="log" if is_loss else "linear",
    )
    if not is_loss:
        figure.update_yaxes(range=[-0.02, 1.02])
    return figure


def render_loss_curve(data: dict[str, Any]) -> go.Figure:
    """Loss curves (log y)."""
    return render_training_curves(data)


register_view(
    ViewSpec(
        name="training.loss_curves",
        title="Train and test loss",
        description="Cross-entropy loss on the train and test splits (or the family's own "
        "splits) at every epoch (log scale), checkpoints marked.",
        kind=ACROSS_EPOCHS,
        requires=(METRICS,),
        loader=load_loss_curves,
        renderer=render_loss_curve,
        aliases=("loss_curves", "loss"),
    )
)

register_view(
    ViewSpec(
        name="training.accuracy_curves",
        title="Train and test accuracy",
        description="Accuracy on the train and test splits (or the family's own splits) at every "
        "epoch, checkpoints marked.",
        kind=ACROSS_EPOCHS,
        requires=(METRICS,),
        loader=load_accuracy_curves,
        renderer=render_training_curves,
        aliases=("accuracy_curves", "accuracy"),
    )
)
