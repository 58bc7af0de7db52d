"""The local learning coefficient: over training beside the losses, the chains at one
checkpoint with their diagnostic flags, and the epsilon x gamma calibration sweep."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from miscope_core.views.library.calibration import PHASES, phase_boundaries
from miscope_core.views.library.training import SPLIT_COLORS, load_loss_curves
from miscope_core.views.registry import (
    ACROSS_EPOCHS,
    CROSS_EPOCH,
    METRICS,
    PER_EPOCH,
    ViewSpec,
    register_view,
)
from miscope_core.views.source import VariantSource
from miscope_core.views.style import add_epoch_cursor

LLC = "landscape.llc"
SWEEP = "landscape.llc_calibration"
LLC_COLOR = "#d62728"
FLAG_COLOR = "#000000"
# (start boundary, end boundary, label, colour): the three phases of CALIBRATION §1.2
PHASE_BANDS = (
    (None, "memorization_end", "memorization", "rgba(127,127,127,0.12)"),
    ("memorization_end", "cleanup_start", "circuit formation", "rgba(148,103,189,0.12)"),
    ("cleanup_start", "cleanup_end", "cleanup", "rgba(44,160,44,0.12)"),
)


def chain_status(diverged: np.ndarray, stationary: np.ndarray) -> list[str]:
    """'diverged', 'not stationary' or 'ok' for each chain."""
    return [
        "diverged" if d else "ok" if s else "not stationary"
        for d, s in zip(np.asarray(diverged), np.asarray(stationary), strict=True)
    ]


# --- LLC over training ----------------------------------------------------------------------
def load_llc_over_training(source: VariantSource, epoch: int) -> dict[str, Any]:
    """LLC per checkpoint (mean and its uncertainty), flagged checkpoints, loss curves and
    phase boundaries (absent when training.phases has not run or found none)."""
    summary = source.summary(LLC)
    flagged = (summary["diverged_chains"] > 0) | (summary["nonstationary_chains"] > 0)
    phases = phase_boundaries(source) if source.store.has(PHASES) else {}
    return {
        "epoch": epoch,
        "epochs": summary["epochs"],
        "llc": summary["llc"],
        # artifacts from before version 2 have no standard error: fall back to the chain spread
        "band": 2 * summary["llc_se"] if "llc_se" in summary else summary["llc_std"],
        "band_label": "±2 standard errors" if "llc_se" in summary else "±1 std over chains",
        "flagged": flagged,
        "losses": load_loss_curves(source, epoch),
        "phases": phases,
    }


def render_llc_over_training(data: dict[str, Any]) -> go.Figure:
    """Top: LLC with a ±2 standard-error band, flagged checkpoints as crosses; bottom: train
    and test loss (log); shaded phase bands in both."""
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4]
    )
    epochs, llc = data["epochs"], np.asarray(data["llc"], dtype=np.float64)
    spread = np.nan_to_num(np.asarray(data["band"], dtype=np.float64))
    band_x = np.concatenate([epochs, epochs[::-1]])
    band_y = np.concatenate([llc + spread, (llc - spread)[::-1]])
    figure.add_trace(
        go.Scatter(
            x=band_x,
            y=band_y,
            fill="toself",
            fillcolor="rgba(214,39,40,0.15)",
            line={"width": 0},
            name=data["band_label"],
            hoverinfo="skip",
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(x=epochs, y=llc, name="LLC", mode="lines+markers", line={"color": LLC_COLOR}),
        row=1,
        col=1,
    )
    flagged = np.asarray(data["flagged"], dtype=bool)
    if flagged.any():
        figure.add_trace(
            go.Scatter(
                x=epochs[flagged],
                y=llc[flagged],
                mode="markers",
                name="a chain diverged or not stationary",
                marker={"symbol": "x", "size": 10, "color": FLAG_COLOR},
            ),
            row=1,
            col=1,
        )
    losses = data["losses"]
    for split, values in losses["curves"].items():
        figure.add_trace(
            go.Scatter(
                x=losses["epochs"],
                y=values,
                mode="lines",
                name=f"{split} loss",
                line={"color": SPLIT_COLORS.get(split)},
            ),
            row=2,
            col=1,
        )
    add_phase_bands(figure, data["phases"], float(max(epochs[-1], losses["epochs"][-1])))
    for row in (1, 2):
        add_epoch_cursor(figure, data["epoch"], row=row, col=1)
    figure.update_xaxes(title_text="epoch", row=2, col=1)
    figure.update_yaxes(title_text="local learning coefficient", row=1, col=1)
    figure.update_yaxes(title_text="loss (nats, log scale)", type="log", row=2, col=1)
    figure.update_layout(height=650)
    return figure


def add_phase_bands(figure: go.Figure, phases: dict[str, float], last_epoch: float) -> None:
    """Shaded memorization / circuit formation / cleanup bands on every subplot."""
    for start, end, label, color in PHASE_BANDS:
        low = 0.0 if start is None else phases.get(start, math.nan)
        high = phases.get(end, math.nan)
        if math.isnan(low) or math.isnan(high) or high <= low:
            continue
        figure.add_vrect(
            x0=low,
            x1=min(high, last_epoch),
            fillcolor=color,
            line_width=0,
            layer="below",
            annotation_text=label,
            annotation_position="top left",
            annotation_font={"size": 10},
            row="all",
            col="all",
        )


# --- chains at one checkpoint ---------------------------------------------------------------
def load_llc_chains(source: VariantSource, epoch: int) -> dict[str, Any]:
    """Each chain's n beta (L_t - L(w*)) per SGLD step at one checkpoint, with its estimate
    and flag."""
    arrays = source.epoch(LLC, epoch)
    traces = np.asarray(arrays["loss_traces"], dtype=np.float64)
    n_burnin = traces.shape[1] - _n_draws(source, traces.shape[1])
    scaled = float(arrays["nbeta"]) * (traces - float(arrays["init_loss"]))
    return {
        "epoch": epoch,
        "scaled": scaled,
        "n_burnin": n_burnin,
        "llc_chains": np.asarray(arrays["llc_chains"], dtype=np.float64),
        "status": chain_status(arrays["diverged"], arrays["stationary"]),
        "title_detail": f" (LLC {float(arrays['llc']):.3g})",
    }


def _n_draws(source: VariantSource, n_steps: int) -> int:
    """n_draws recorded with the artifacts (all steps when the manifest lacks it)."""
    params = source.store.read_manifest()["analyzers"].get(LLC, {}).get("params", {})
    return int(params.get("n_draws", n_steps))


def render_llc_chains(data: dict[str, Any]) -> go.Figure:
    """One line per chain; burn-in shaded; each chain's estimate as a dotted level."""
    figure = go.Figure()
    steps = np.arange(data["scaled"].shape[1])
    colors = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
    for chain, values in enumerate(data["scaled"]):
        color = colors[chain % len(colors)]
        label = f"chain {chain}: {data['llc_chains'][chain]:.3g} ({data['status'][chain]})"
        figure.add_trace(
            go.Scatter(x=steps, y=values, mode="lines", name=label, line={"color": color})
        )
        figure.add_hline(
            y=data["llc_chains"][chain], line={"color": color, "dash": "dot", "width": 1}
        )
    if data["n_burnin"] > 0:
        figure.add_vrect(
            x0=0,
            x1=data["n_burnin"] - 0.5,
            fillcolor="rgba(127,127,127,0.15)",
            line_width=0,
            layer="below",
            annotation_text="burn-in",
            annotation_position="top left",
        )
    figure.update_xaxes(title_text="SGLD step")
    figure.update_yaxes(title_text="n β (minibatch loss − L(w*))")
    return figure


# --- epsilon x gamma sweep ------------------------------------------------------------------
def load_llc_calibration(source: VariantSource, epoch: int) -> dict[str, Any]:
    """The sweep's LLC grid and flags at each checkpoint it ran on."""
    arrays = source.cross_epoch(SWEEP)
    return {
        "epoch": epoch,
        "epochs": np.asarray(arrays["epochs"]),
        "epsilons": np.asarray(arrays["epsilons"], dtype=np.float64),
        "gammas": np.asarray(arrays["gammas"], dtype=np.float64),
        "llc": np.asarray(arrays["llc"], dtype=np.float64),
        "diverged": np.asarray(arrays["diverged"]).any(axis=-1),
        "stationary": np.asarray(arrays["stationary"]).all(axis=-1),
    }


def render_llc_calibration(data: dict[str, Any]) -> go.Figure:
    """One heatmap per checkpoint: LLC over (gamma, epsilon); D = diverged, N = not stationary."""
    epochs = data["epochs"]
    figure = make_subplots(
        rows=1,
        cols=len(epochs),
        subplot_titles=[f"epoch {int(e)}" for e in epochs],
        horizontal_spacing=0.06,
    )
    x = [f"{g:g}" for g in data["gammas"]]
    y = [f"{e:g}" for e in data["epsilons"]]
    finite = data["llc"][np.isfinite(data["llc"]) & ~data["diverged"]]
    high = float(finite.max()) if finite.size else 1.0
    for col, grid in enumerate(data["llc"], start=1):
        marks = np.where(
            data["diverged"][col - 1], "D", np.where(data["stationary"][col - 1], "", "N")
        )
        text = [
            [f"{v:.3g}{' ' + m if m else ''}" for v, m in zip(row, mrow, strict=True)]
            for row, mrow in zip(grid, marks, strict=True)
        ]
        figure.add_trace(
            go.Heatmap(
                z=np.where(data["diverged"][col - 1], np.nan, grid),
                x=x,
                y=y,
                text=text,
                texttemplate="%{text}",
                zmin=min(0.0, float(finite.min()) if finite.size else 0.0),
                zmax=high,
                colorscale="Viridis",
                showscale=col == len(epochs),
                colorbar={"title": {"text": "LLC"}},
            ),
            row=1,
            col=col,
        )
        figure.update_xaxes(title_text="γ (localization)", row=1, col=col)
    figure.update_yaxes(title_text="ε (step size)", row=1, col=1)
    figure.update_layout(height=420)
    return figure


register_view(
    ViewSpec(
        name="landscape.llc_over_training",
        title="Local learning coefficient over training",
        kind=ACROSS_EPOCHS,
        description="LLC per checkpoint (±2 standard errors; crosses: a chain diverged or "
        "was not stationary) above the train and test loss, with the memorization, circuit "
        "formation and cleanup phases shaded when training.phases found them.",
        requires=(LLC, METRICS),
        loader=load_llc_over_training,
        renderer=render_llc_over_training,
        aliases=("llc",),
    )
)

register_view(
    ViewSpec(
        name="landscape.llc_chains",
        title="LLC chains at a checkpoint",
        kind=PER_EPOCH,
        description="Each SGLD chain's n β (loss − L(w*)) per step at one checkpoint, burn-in "
        "shaded, with its estimate and its flag (ok, diverged, not stationary).",
        requires=(LLC,),
        loader=load_llc_chains,
        renderer=render_llc_chains,
        aliases=("llc_chains",),
    )
)

register_view(
    ViewSpec(
        name="landscape.llc_calibration",
        title="LLC calibration sweep (ε × γ)",
        kind=CROSS_EPOCH,
        description="The LLC over a grid of SGLD step sizes ε and localizations γ at a few "
        "checkpoints (D: a chain diverged, N: not stationary): pick settings where the "
        "estimate is flat in both and no chain is flagged.",
        requires=(SWEEP,),
        loader=load_llc_calibration,
        renderer=render_llc_calibration,
        uses_epoch=False,
        aliases=("llc_sweep",),
    )
)
