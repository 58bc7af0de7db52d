"""Training curves as an artifact: loss and accuracy per epoch plus the family's task metrics.

`training.curves` (cross-epoch, no upstream analyzers; reads the variant's metrics.npz):
  epoch [E] int64, train_loss, train_accuracy, test_loss, test_accuracy [E] float64
  task_metric_names [m] str        any further metrics the family's task records
  task_metrics [m, E] float64      their values (m may be 0)
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import EpochSeries
from miscope_core.analysis.registry import CROSS_EPOCH, AnalyzerSpec, register_analyzer

STANDARD = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy")


def compute_training_curves(series: EpochSeries) -> dict[str, np.ndarray]:
    """Copy the standard curves and pack the family-specific ones into one matrix."""
    metrics = dict(series.metrics)
    missing = [key for key in STANDARD if key not in metrics]
    if missing:
        raise ValueError(
            f"metrics.npz lacks {missing} (has {sorted(metrics)}); "
            f"training.curves needs {list(STANDARD)}"
        )
    result = {key: np.asarray(metrics[key]) for key in STANDARD}
    extra = sorted(key for key in metrics if key not in STANDARD)
    length = len(result["epoch"])
    result["task_metric_names"] = np.array(extra, dtype=str)
    result["task_metrics"] = (
        np.stack([np.asarray(metrics[k], dtype=np.float64) for k in extra])
        if extra
        else np.zeros((0, length))
    )
    return result


register_analyzer(
    AnalyzerSpec(
        name="training.curves",
        description="Train/test loss and accuracy per epoch and the family's task metrics, as an "
        "artifact the views read.",
        kind=CROSS_EPOCH,
        compute=compute_training_curves,
        outputs=(*STANDARD, "task_metric_names", "task_metrics"),
        source="The trainer's metrics.npz",
    )
)
