"""Phase boundaries of training, detected from the instruments, for markers on views.

`training.phases` (cross-epoch; depends on parameters.snapshot for the sum of squared weights;
reads the variant's metrics). Definitions in miscope_core.analysis.phases: memorization_end,
cleanup_start, cleanup_end (boundaries) and memorized, generalization, drop_end (events), NaN
when they never happen. Outputs: `boundary_names` [6] str, `boundary_epochs` [6] float64.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import EpochSeries
from miscope_core.analysis.phases import (
    EVENT_NAMES,
    PHASE_NAMES,
    detect_phases,
    phases_as_arrays,
)
from miscope_core.analysis.registry import CROSS_EPOCH, AnalyzerSpec, register_analyzer


def compute_phase_boundaries(series: EpochSeries) -> dict[str, np.ndarray]:
    """Detect the boundaries from metrics and the checkpoints' sum of squared weights."""
    metrics = series.metrics
    if not metrics or "test_loss" not in metrics:
        phases = {name: float("nan") for name in (*PHASE_NAMES, *EVENT_NAMES)}
        return phases_as_arrays(phases)
    summary = series.summary("parameters.snapshot")
    phases = detect_phases(
        metrics,
        series.config.d_vocab_out,
        np.asarray(summary["epochs"]),
        np.asarray(summary["total_sum_squares"]),
    )
    return phases_as_arrays(phases)


register_analyzer(
    AnalyzerSpec(
        name="training.phases",
        description="Phase boundaries (end of memorization, start and end of cleanup) and events "
        "(memorized, generalization, end of the test-loss drop) detected from the "
        "metrics and the weight norm.",
        kind=CROSS_EPOCH,
        compute=compute_phase_boundaries,
        outputs=("boundary_names", "boundary_epochs"),
        version=2,
        depends_on=("parameters.snapshot",),
        source="Nanda et al. 2023 §5.2 phase definitions; CALIBRATION.md §1.2 (TL demo lines "
        "1 500 / 13 300 / 16 600, paper 1 400 / 9 400 / 14 000)",
    )
)
