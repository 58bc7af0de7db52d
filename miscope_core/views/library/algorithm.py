"""Which algorithm: Clock vs Pizza (Zhong et al. 2023) and the embedding's rings."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.registry import ACROSS_EPOCHS, PER_EPOCH, ViewParam, ViewSpec, register_view
from miscope_core.views.source import VariantSource
from miscope_core.views.style import DIVERGING, SEQUENTIAL, add_epoch_cursor, symmetric_range

CLOCK_PIZZA = "algorithm.clock_pizza"
PHASES = "training.phases"
RINGS = "embedding.rings"
FREQUENCY = ViewParam(
    "frequency",
    int,
    None,
    "frequency k whose ring to draw (default: the largest-norm one at this epoch)",
    lower=1,
)


def generalization_epoch(source: VariantSource) -> float:
    """First epoch with test accuracy >= 0.99 (training.phases), NaN when it never came."""
    arrays = source.cross_epoch(PHASES)
    pairs = zip(arrays["boundary_names"], arrays["boundary_epochs"], strict=True)
    return next((float(e) for n, e in pairs if str(n) == "generalization"), float("nan"))


def load_clock_pizza_history(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Gradient symmetricity and distance irrelevance over training; epochs before
    generalization are marked not interpretable (uniform attention at init gives
    symmetricity ≈ 1, which would read as "Pizza")."""
    summary = source.summary(CLOCK_PIZZA)
    general = generalization_epoch(source)
    epochs = np.asarray(summary["epochs"], dtype=np.float64)
    early = np.ones(len(epochs), bool) if np.isnan(general) else epochs < general
    return {
        "epoch": epoch,
        "epochs": epochs,
        "lines": {
            "gradient symmetricity (Pizza → 1)": summary["gradient_symmetricity"],
            "distance irrelevance (Clock → 1)": summary["distance_irrelevance"],
        },
        "not_interpretable": early,
        "not_interpretable_reason": "before generalization (test accuracy < 99%): not interpretable"
        if not np.isnan(general)
        else "never generalized (test accuracy < 99%): not interpretable",
    }


def render_unit_lines(data: dict[str, Any]) -> go.Figure:
    """Lines in 0..1 over training with the epoch cursor; a not-interpretable stretch is drawn
    grey and dotted under a shaded band that says why."""
    figure = go.Figure()
    epochs = np.asarray(data["epochs"])
    early = np.asarray(data.get("not_interpretable", np.zeros(len(epochs), bool)), dtype=bool)
    for name, values in data["lines"].items():
        values = np.asarray(values, dtype=np.float64)
        figure.add_trace(
            go.Scatter(x=epochs, y=np.where(early, np.nan, values), name=name, mode="lines+markers")
        )
        if early.any():
            figure.add_trace(
                go.Scatter(
                    x=epochs[early],
                    y=values[early],
                    name=f"{name.split(' (')[0]}, not interpretable",
                    mode="lines",
                    line={"color": "#b0b0b0", "dash": "dot"},
                )
            )
    if early.any():
        figure.add_vrect(
            x0=float(epochs[early][0]),
            x1=float(epochs[early][-1]),
            fillcolor="#d9d9d9",
            opacity=0.35,
            line_width=0,
            layer="below",
            annotation_text=data["not_interpretable_reason"],
            annotation_position="top left",
            annotation_font={"size": 10},
        )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text=data.get("y_title", "score (0..1)"), range=[-0.02, 1.02])
    return figure


def load_logit_grid(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Correct-class logit by (a+b mod p, a-b mod p); colour range fixed over training."""
    grid = source.epoch(CLOCK_PIZZA, epoch)["correct_logit_grid"]
    _, history = source.stacked(CLOCK_PIZZA, "correct_logit_grid")
    return {
        "epoch": epoch,
        "grid": np.asarray(grid, dtype=np.float32),
        "z_range": symmetric_range(history),
        "width": 720,
        "height": 660,
    }


def render_logit_grid(data: dict[str, Any]) -> go.Figure:
    """Heatmap: rows the sum s, columns the distance d."""
    low, high = data["z_range"]
    figure = go.Figure(
        go.Heatmap(
            z=data["grid"],
            zmin=low,
            zmax=high,
            colorscale=DIVERGING,
            name="correct logit",
            colorbar={"title": {"text": "correct-class logit"}},
            hovertemplate="s = %{y}<br>d = %{x}<br>logit %{z:.3g}<extra></extra>",
        )
    )
    figure.update_xaxes(title_text="distance d = (a − b) mod p", constrain="domain")
    figure.update_yaxes(title_text="sum s = (a + b) mod p", scaleanchor="x", autorange="reversed")
    return figure


def load_triple_cosines(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Cosines between the logit gradients w.r.t. the two operand embeddings."""
    arrays = source.epoch(CLOCK_PIZZA, epoch)
    return {
        "epoch": epoch,
        "cosines": np.asarray(arrays["triple_cosines"], dtype=np.float64),
        "title_detail": f" (mean {float(arrays['gradient_symmetricity']):.2f})",
    }


def render_triple_cosines(data: dict[str, Any]) -> go.Figure:
    """Histogram over the fixed range -1..1."""
    figure = go.Figure(
        go.Histogram(
            x=data["cosines"],
            name="triples",
            showlegend=False,
            xbins={"start": -1, "end": 1.0001, "size": 0.05},
        )
    )
    figure.update_xaxes(
        title_text="cosine of ∂logit/∂embed(a) and ∂logit/∂embed(b)", range=[-1.02, 1.02]
    )
    figure.update_yaxes(title_text="sampled (a, b, c) triples (count)")
    return figure


def load_ring(source: VariantSource, epoch: int, frequency: int | None = None) -> dict[str, Any]:
    """Tokens projected on the plane of one frequency's (cos, sin) embedding directions."""
    arrays = source.epoch(RINGS, epoch)
    coords = np.asarray(arrays["ring_coordinates"], dtype=np.float64)
    n_freq = coords.shape[0]
    k = int(np.argmax(arrays["frequency_norm"])) + 1 if frequency is None else frequency
    if not 1 <= k <= n_freq:
        raise ValueError(
            f"View 'embedding.ring' needs frequency (an int in 1..{n_freq}), got "
            f"{k}; try frequency=1"
        )
    _, history = source.stacked(RINGS, "ring_coordinates")
    label = source.frequency_labels(n_freq)[k - 1]
    return {
        "epoch": epoch,
        "xy": coords[k - 1],
        "bound": symmetric_range(history)[1] * 1.1,
        "title_detail": f" of {label} (ring ratio {float(arrays['ring_ratio'][k - 1]):.2f})",
        "width": 700,
        "height": 660,
    }


def load_embedding_pca(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Tokens on the embedding's top-2 principal components."""
    arrays = source.epoch(RINGS, epoch)
    _, history = source.stacked(RINGS, "pca_coordinates")
    k = int(arrays["pca_frequency"])
    return {
        "epoch": epoch,
        "xy": np.asarray(arrays["pca_coordinates"], dtype=np.float64),
        "bound": symmetric_range(history)[1] * 1.1,
        "axis": "PC",
        "title_detail": f" (phase-locked to k={k}: {float(arrays['pca_phase_locking']):.2f})",
        "width": 700,
        "height": 660,
    }


RING_LABEL_GAP = 0.09  # fraction of the half-width two labelled points must be apart


def ring_labels(xy: np.ndarray, bound: float) -> tuple[list[str], list[str]]:
    """Token labels placed outward from the centre, leaving out a label whose point sits on an
    already labelled one (hover still names every token), so labels never overlap."""
    gap = RING_LABEL_GAP * max(float(bound), 1e-12)
    labelled: list[np.ndarray] = []
    text, positions = [], []
    for token, point in enumerate(np.asarray(xy, dtype=np.float64)):
        free = all(np.hypot(*(point - other)) >= gap for other in labelled)
        text.append(str(token) if free else "")
        if free:
            labelled.append(point)
        vertical = "top" if point[1] >= 0 else "bottom"
        side = "right" if point[0] > gap / 2 else "left" if point[0] < -gap / 2 else "center"
        positions.append(f"{vertical} {side}")
    return text, positions


def render_token_plane(data: dict[str, Any]) -> go.Figure:
    """Each token as a labelled point, coloured cyclically by token id; fixed square axes."""
    xy = data["xy"]
    tokens = np.arange(len(xy))
    bound = data["bound"]
    text, positions = ring_labels(xy, bound)
    figure = go.Figure(
        go.Scatter(
            x=xy[:, 0],
            y=xy[:, 1],
            mode="markers+text",
            text=text,
            textposition=positions,
            customdata=tokens,
            hovertemplate="token %{customdata}<extra></extra>",
            name="tokens",
            showlegend=False,
            textfont={"size": 11},
            marker={
                "color": tokens,
                "colorscale": "Phase",
                "size": 9,
                "colorbar": {"title": {"text": "token"}},
            },
        )
    )
    names = ("PC1", "PC2") if data.get("axis") == "PC" else ("cos direction", "sin direction")
    figure.update_xaxes(title_text=f"{names[0]} (embedding units)", range=[-bound, bound])
    figure.update_yaxes(
        title_text=f"{names[1]} (embedding units)", range=[-bound, bound], scaleanchor="x"
    )
    return figure


def load_ring_ratio_history(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Ring ratio σ2/σ1 of every frequency over training."""
    epochs, ratio = source.stacked(RINGS, "ring_ratio")
    return {
        "epoch": epoch,
        "epochs": epochs,
        "ratio": np.asarray(ratio, dtype=np.float64),
        "labels": source.frequency_labels(ratio.shape[1]),
    }


def render_ring_ratio_history(data: dict[str, Any]) -> go.Figure:
    """Heatmap epoch x frequency of the ring ratio, colour scale 0..1."""
    figure = go.Figure(
        go.Heatmap(
            x=data["epochs"],
            y=data["labels"],
            z=data["ratio"].T,
            zmin=0,
            zmax=1,
            colorscale=SEQUENTIAL,
            name="ring ratio",
            colorbar={"title": {"text": "σ2 / σ1"}},
            hovertemplate="epoch %{x}<br>%{y}<br>ratio %{z:.2f}<extra></extra>",
        )
    )
    add_epoch_cursor(figure, data["epoch"])
    figure.update_xaxes(title_text="epoch")
    figure.update_yaxes(title_text="frequency", type="category", autorange="reversed")
    return figure


def load_phase_locking(source: VariantSource, epoch: int) -> dict[str, Any]:
    """How well the embedding's PC1/PC2 angle follows one frequency, over training."""
    summary = source.summary(RINGS)
    return {
        "epoch": epoch,
        "epochs": summary["epochs"],
        "lines": {"PC1/PC2 phase locking": summary["pca_phase_locking"]},
        "y_title": "phase locking |mean exp(i(θ − 2πka/p))| (0..1)",
    }


register_view(
    ViewSpec(
        name="algorithm.clock_pizza_over_training",
        title="Clock or Pizza over training",
        kind=ACROSS_EPOCHS,
        requires=(CLOCK_PIZZA, PHASES),
        description=(
            "Gradient symmetricity (Pizza ≈ 1) and distance irrelevance (Clock ≈ 1) of Zhong et "
            "al. 2023 over training; epochs before generalization are greyed as not "
            "interpretable (uniform attention at init gives symmetricity ≈ 1)."
        ),
        loader=load_clock_pizza_history,
        renderer=render_unit_lines,
        aliases=("clock_pizza",),
    )
)

register_view(
    ViewSpec(
        name="algorithm.correct_logit_grid",
        title="Correct-class logit by sum and distance",
        kind=PER_EPOCH,
        requires=(CLOCK_PIZZA,),
        description=(
            "The correct-class logit arranged by (a+b) mod p and (a−b) mod p: constant along rows"
            " for a Clock, varying with the distance for a Pizza."
        ),
        loader=load_logit_grid,
        renderer=render_logit_grid,
    )
)

register_view(
    ViewSpec(
        name="algorithm.gradient_symmetricity",
        title="Gradient symmetricity of sampled triples",
        kind=PER_EPOCH,
        requires=(CLOCK_PIZZA,),
        description=(
            "Histogram of the cosine between the logit gradients with respect to the two operand "
            "embeddings over seeded (a, b, c) triples."
        ),
        loader=load_triple_cosines,
        renderer=render_triple_cosines,
    )
)

register_view(
    ViewSpec(
        name="embedding.ring",
        title="Embedding ring",
        kind=PER_EPOCH,
        requires=(RINGS,),
        description=(
            "Tokens projected on the plane of one frequency's cos/sin embedding directions (a "
            "circle in token order k·a means a Fourier ring); axes fixed over training."
        ),
        loader=load_ring,
        renderer=render_token_plane,
        params=(FREQUENCY,),
        aliases=("embedding_ring",),
    )
)

register_view(
    ViewSpec(
        name="embedding.pca",
        title="Embedding PCA",
        kind=PER_EPOCH,
        requires=(RINGS,),
        description=(
            "Tokens on the embedding's top two principal components, with how well their angle "
            "phase-locks to one frequency."
        ),
        loader=load_embedding_pca,
        renderer=render_token_plane,
    )
)

register_view(
    ViewSpec(
        name="embedding.ring_ratio_over_training",
        title="Embedding ring ratio over training",
        kind=ACROSS_EPOCHS,
        requires=(RINGS,),
        description=(
            "Epoch x frequency heatmap of σ2/σ1 of each frequency's cos/sin embedding pair (1 = a"
            " perfect circle)."
        ),
        loader=load_ring_ratio_history,
        renderer=render_ring_ratio_history,
    )
)

register_view(
    ViewSpec(
        name="embedding.phase_locking_over_training",
        title="Embedding phase locking over training",
        kind=ACROSS_EPOCHS,
        requires=(RINGS,),
        description=(
            "How closely the angle of each token on the embedding's top two principal components "
            "follows one frequency, over training."
        ),
        loader=load_phase_locking,
        renderer=render_unit_lines,
    )
)
