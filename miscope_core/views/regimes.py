"""Training regimes (the `training.regimes` artifact) drawn as shaded bands on epoch axes.

One helper for every across-epoch view (applied by `render_for_source`) and for Compare:
`regime_segments(arrays)` turns the artifact into (start, end, regime) spans and
`add_regime_bands(figure, segments)` shades them behind every x axis titled "epoch".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.style import CATEGORICAL

REGIMES = "training.regimes"
BAND_OPACITY = 0.08


def regime_segments(arrays: Mapping[str, Any] | None) -> list[tuple[float, float, int]]:
    """(first epoch, next regime's first epoch or the last epoch, regime) per regime."""
    if not arrays:
        return []
    epochs = np.asarray(arrays["epochs"], dtype=np.float64)
    regime = np.asarray(arrays["regime"], dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(regime)) + 1]
    ends = np.r_[starts[1:], len(epochs) - 1]
    return [
        (float(epochs[s]), float(epochs[e]), int(regime[s]))
        for s, e in zip(starts, ends, strict=True)
    ]


def source_regime_segments(source: Any) -> list[tuple[float, float, int]]:
    """The segments of a variant's training.regimes artifact ([] when not analyzed)."""
    return regime_segments(source.cross_epoch(REGIMES) if source.store.has(REGIMES) else None)


def epoch_axes(figure: go.Figure) -> list[tuple[str, str]]:
    """(xref, yref domain) of every x axis whose title mentions "epoch"."""
    layout = figure.to_dict().get("layout", {})
    axes = []
    for key, axis in layout.items():
        if key.startswith("xaxis") and "epoch" in str(axis.get("title", {}).get("text", "")):
            suffix = key[len("xaxis") :]
            axes.append((f"x{suffix}", f"{axis.get('anchor') or 'y' + suffix} domain"))
    return axes


def add_regime_bands(
    figure: go.Figure, segments: list[tuple[float, float, int]], label: str = "regime"
) -> go.Figure:
    """Shade each regime (one colour per regime) behind every epoch axis; label the first."""
    for index, (xref, yref) in enumerate(epoch_axes(figure)):
        for start, end, regime in segments:
            figure.add_shape(
                type="rect",
                xref=xref,
                yref=yref,
                x0=start,
                x1=end,
                y0=0,
                y1=1,
                fillcolor=CATEGORICAL[regime % len(CATEGORICAL)],
                opacity=BAND_OPACITY,
                line_width=0,
                layer="below",
                name=f"{label}_{regime}",
            )
            if index == 0:
                figure.add_annotation(
                    x=(start + end) / 2,
                    y=1,
                    xref=xref,
                    yref=yref,
                    text=f"R{regime + 1}",
                    showarrow=False,
                    yanchor="bottom",
                    font={"size": 9, "color": "#888888"},
                    name=f"{label}_{regime}",
                )
    return figure
