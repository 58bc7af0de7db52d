"""Views of `attention.source_scores`: induction and previous-token scores per head."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.library.attention import HEAD_COLORS
from miscope_core.views.registry import ACROSS_EPOCHS, PER_EPOCH, ViewParam, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import SEQUENTIAL, add_epoch_cursor

SCORES = "attention.source_scores"
CONTEXT = ("induction_source_position", "previous_token_position")
SCORE = ViewParam(
    "score",
    str,
    "induction_score",
    "which score to draw",
    choices=("induction_score", "previous_token_score"),
)
SCORE_TITLES = {
    "induction_score": "induction score",
    "previous_token_score": "previous-token score",
}


def load_score_table(
    source: VariantSource, epoch: int, score: str = "induction_score"
) -> dict[str, Any]:
    """The [layer, head] table of one score at `epoch`."""
    table = np.asarray(source.epoch(SCORES, epoch)[score], dtype=np.float32)
    return {
        "epoch": epoch,
        "table": table,
        "score": score,
        "title_detail": f" ({SCORE_TITLES[score]})",
    }


def render_score_table(data: dict[str, Any]) -> go.Figure:
    """Heatmap layer x head, colour scale fixed to 0..1."""
    table = data["table"]
    figure = go.Figure(
        go.Heatmap(
            z=table,
            x=[f"head {h}" for h in range(table.shape[1])],
            y=[f"layer {layer}" for layer in range(table.shape[0])],
            zmin=0,
            zmax=1,
            colorscale=SEQUENTIAL,
            text=np.round(table, 2),
            texttemplate="%{text}",
            colorbar={"title": {"text": "attention weight"}},
            name=SCORE_TITLES[data["score"]],
            hovertemplate="%{y}, %{x}<br>score %{z:.3f}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="attention head", type="category")
    figure.update_yaxes(title_text="layer", type="category", autorange="reversed")
    return figure


def load_score_history(
    source: VariantSource, epoch: int, score: str = "induction_score"
) -> dict[str, Any]:
    """One score of every head over training."""
    epochs, values = source.stacked(SCORES, score)
    return {
        "epoch": epoch,
        "epochs": epochs,
        "values": np.asarray(values),
        "score": score,
        "title_detail": f" ({SCORE_TITLES[score]})",
    }


def render_score_history(data: dict[str, Any]) -> go.Figure:
    """A line per (layer, head); colour by head, dash by layer; cursor at the epoch."""
    figure = go.Figure()
    values = data["values"]
    for layer in range(values.shape[1]):
        for head in range(values.shape[2]):
            figure.add_trace(
                go.Scatter(
                    x=data["epochs"],
                    y=values[:, layer, head],
                    mode="lines",
                    name=f"L{layer} H{head}",
                    line={
                        "color": HEAD_COLORS[head % len(HEAD_COLORS)],
                        "dash": ("solid", "dash", "dot", "dashdot")[layer % 4],
                    },
                    hovertemplate="epoch %{x}<br>score %{y:.3f}<extra></extra>",
                )
            )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(
        title_text=f"{SCORE_TITLES[data['score']]} (attention weight)", range=[0, 1.02]
    )
    return figure


register_view(
    ViewSpec(
        name="attention.source_scores",
        title="Induction / previous-token score per head",
        kind=PER_EPOCH,
        requires=(SCORES,),
        context_keys=CONTEXT,
        description="Mean attention from each token to its family-defined source (the token after "
        "its previous occurrence, or the previous token), per layer and head.",
        loader=load_score_table,
        renderer=render_score_table,
        params=(SCORE,),
        aliases=("induction_scores",),
    )
)
register_view(
    ViewSpec(
        name="attention.source_scores_over_training",
        title="Induction / previous-token scores over training",
        kind=ACROSS_EPOCHS,
        requires=(SCORES,),
        context_keys=CONTEXT,
        description="Each head's induction (or previous-token) score over training: an induction "
        "head forming shows as a sharp rise at the phase change.",
        loader=load_score_history,
        renderer=render_score_history,
        params=(SCORE,),
        aliases=("induction_score_curves",),
    )
)
