"""Training regimes (training.regimes): what the HMM segmented, beside the phase boundaries."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from miscope_core.views.library.calibration import add_phase_markers
from miscope_core.views.library.progress import make_lines_renderer
from miscope_core.views.regimes import REGIMES
from miscope_core.views.registry import ACROSS_EPOCHS, ViewSpec, register_view
from miscope_core.views.source import VariantSource


def load_regimes(source: VariantSource, epoch: int) -> dict[str, Any]:
    """The standardized summary components over checkpoints, regimes and phase agreement."""
    arrays = source.cross_epoch(REGIMES)
    agreement = float(arrays["agreement"])
    phases = {
        str(n): float(e)
        for n, e in zip(arrays["phase_names"], arrays["phase_epochs"], strict=True)
        if not math.isnan(float(e))
    }
    summary = f"{int(arrays['n_regimes'])} regimes by BIC; " + (
        "no loss-based phase boundary detected"
        if math.isnan(agreement)
        else f"{agreement:.0%} of the loss-based phase boundaries within 5% of a regime start"
    )
    return {
        "epoch": epoch,
        "epochs": np.asarray(arrays["epochs"]),
        "lines": {
            f"summary PC{i + 1}": column
            for i, column in enumerate(np.asarray(arrays["components"], dtype=np.float64).T)
        },
        "phases": phases,
        "title_detail": f" ({summary})",
    }


LINES = make_lines_renderer("standardized summary metrics (principal component)")


def render_regimes(data: dict[str, Any]) -> go.Figure:
    """One line per component; dotted lines at the loss-based phase boundaries."""
    return add_phase_markers(LINES(data), data["phases"])


register_view(
    ViewSpec(
        name="training.regimes",
        title="Training regimes",
        kind=ACROSS_EPOCHS,
        requires=(REGIMES,),
        description="The standardized summary metrics (top principal components) that a "
        "left-to-right Gaussian HMM segments into regimes (shaded; count by BIC), with the "
        "loss-based phase boundaries dotted and their agreement in the title.",
        loader=load_regimes,
        renderer=render_regimes,
        aliases=("regimes",),
    )
)
