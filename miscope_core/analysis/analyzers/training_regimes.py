"""Training regimes: training segmented from the summary tier by a Gaussian HMM (Hu et al. 2023).

`training.regimes` (cross-epoch; depends on parameters.snapshot and
parameters.effective_dimensionality; reads the metrics). Features at each checkpoint (every
family has them): log10 train / test loss and train / test accuracy from the metrics, log10 of
the four sums of squared weights, and each weight matrix's participation ratio (mean over
layers and heads) from the effective-dimensionality summary. Each feature is standardized over
checkpoints (constant ones dropped); the top `n_components` principal components of the
standardized features are segmented by a left-to-right Gaussian HMM (miscope_core.analysis.hmm)
with K = 1..`max_regimes` states, K chosen by BIC. Outputs:
- `epochs` [n] int64, `regime` [n] int64 (0..K-1, non-decreasing), `n_regimes` [] int64
- `regime_starts` [K] int64: first checkpoint epoch of each regime
- `bic` [max_regimes] float64 (NaN where K > n), `features` [f] str, `components` [n, d]
  float32 (the standardized, PCA-reduced series the HMM saw)
- agreement with the loss-based phase boundaries (miscope_core.analysis.phases):
  `phase_names` [3] str, `phase_epochs` [3] float64 (NaN: never happened),
  `nearest_regime_start` [3] float64, `phase_offset` [3] float64 (|epoch difference| divided by
  the run's length), `agreement` [] float64 = share of the detected phase boundaries with a
  regime start within `tolerance` (fraction of the run) -- NaN when no boundary was detected.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.hmm import select_by_bic
from miscope_core.analysis.inputs import EpochSeries
from miscope_core.analysis.pca import pca_of_rows
from miscope_core.analysis.phases import PHASE_NAMES, detect_phases
from miscope_core.analysis.registry import CROSS_EPOCH, AnalyzerSpec, register_analyzer

METRIC_FEATURES = {
    "train_loss": "log10 train loss",
    "test_loss": "log10 test loss",
    "train_accuracy": "train accuracy",
    "test_accuracy": "test accuracy",
}
SNAPSHOT = "parameters.snapshot"
DIMENSIONALITY = "parameters.effective_dimensionality"


def metrics_at(metrics, epochs: np.ndarray, key: str) -> np.ndarray:
    """A metric at the checkpoint epochs (log10 for losses)."""
    values = np.asarray(metrics[key], dtype=np.float64)
    index = np.searchsorted(np.asarray(metrics["epoch"]), epochs).clip(0, len(values) - 1)
    picked = values[index]
    return np.log10(np.clip(picked, 1e-12, None)) if key.endswith("loss") else picked


def summary_features(series: EpochSeries, epochs: np.ndarray) -> dict[str, np.ndarray]:
    """{feature name: [n] values} from the metrics and the two summaries."""
    features = {}
    metrics = series.metrics or {}
    for key, name in METRIC_FEATURES.items():
        if key in metrics:
            features[name] = metrics_at(metrics, epochs, key)
    snapshot = series.summary(SNAPSHOT)
    for key in sorted(k for k in snapshot if k.endswith("_sum_squares")):
        features[f"log10 {key}"] = np.log10(np.clip(snapshot[key], 1e-12, None))
    dims = series.summary(DIMENSIONALITY)
    for key in sorted(k for k in dims if k != "epochs"):
        # one feature per matrix (mean over layers and heads), so the many per-head ratios do
        # not outweigh the losses and norms after standardization
        columns = np.asarray(dims[key], dtype=np.float64).reshape(len(epochs), -1)
        features[key] = columns.mean(axis=1)
    return features


def standardized(features: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """(kept names, z-scored columns [n, f]); constant or non-finite features are dropped."""
    names, columns = [], []
    for name, values in features.items():
        values = np.asarray(values, dtype=np.float64)
        spread = values.std()
        if np.all(np.isfinite(values)) and spread > 1e-12:
            names.append(name)
            columns.append((values - values.mean()) / spread)
    return names, np.stack(columns, axis=1) if columns else np.zeros((0, 0))


def phase_agreement(phases: dict[str, float], starts: np.ndarray, span: float, tolerance: float):
    """Per phase boundary: nearest regime start and offset (fraction of the run); agreement."""
    epochs = np.array([phases[n] for n in PHASE_NAMES], dtype=np.float64)
    inner = starts[1:].astype(np.float64)  # the first regime's start is the run's start
    nearest = np.full(len(epochs), np.nan)
    for i, epoch in enumerate(epochs):
        if not np.isnan(epoch) and len(inner):
            nearest[i] = inner[np.argmin(np.abs(inner - epoch))]
    offset = np.abs(nearest - epochs) / max(span, 1.0)
    detected = ~np.isnan(epochs)
    hits = np.where(np.isnan(offset), False, offset <= tolerance)[detected]
    agreement = float(hits.mean()) if detected.any() else float("nan")
    return epochs, nearest, offset, agreement


def compute_training_regimes(
    series: EpochSeries,
    max_regimes: int = 6,
    n_components: int = 3,
    min_variance: float = 0.05,
    tolerance: float = 0.05,
) -> dict[str, np.ndarray]:
    """Segment the checkpoints into regimes and compare them with the phase boundaries."""
    if max_regimes < 1 or n_components < 1 or min_variance <= 0 or not 0 < tolerance < 1:
        raise ValueError(
            f"training.regimes needs max_regimes >= 1, n_components >= 1, min_variance > 0 and "
            f"0 < tolerance < 1; got {max_regimes}, {n_components}, {min_variance}, {tolerance}"
        )
    epochs = np.asarray(series.epochs, dtype=np.int64)
    names, z = standardized(summary_features(series, epochs))
    components = pca_of_rows(z, min(n_components, z.shape[1]), pad=False)[0] if names else z
    if components.size == 0:
        components = np.zeros((len(epochs), 1))
    best, bics = select_by_bic(components, max_regimes, min_variance)
    regime = best.states
    starts = epochs[np.r_[0, np.flatnonzero(np.diff(regime)) + 1]]
    phases = phase_dict(series, epochs)
    span = float(epochs[-1] - epochs[0])
    phase_epochs, nearest, offset, agreement = phase_agreement(phases, starts, span, tolerance)
    return {
        "epochs": epochs,
        "regime": regime.astype(np.int64),
        "n_regimes": np.int64(best.n_states),
        "regime_starts": starts.astype(np.int64),
        "bic": bics,
        "features": np.array(names, dtype=str),
        "components": components.astype(np.float32),
        "phase_names": np.array(PHASE_NAMES),
        "phase_epochs": phase_epochs,
        "nearest_regime_start": nearest,
        "phase_offset": offset,
        "agreement": np.float64(agreement),
    }


def phase_dict(series: EpochSeries, epochs: np.ndarray) -> dict[str, float]:
    """The loss-based phase boundaries (NaN when the metrics are missing)."""
    metrics = series.metrics
    if not metrics or "test_loss" not in metrics:
        return {name: float("nan") for name in PHASE_NAMES}
    squares = series.summary(SNAPSHOT)["total_sum_squares"]
    return detect_phases(metrics, series.config.d_vocab_out, epochs, np.asarray(squares))


register_analyzer(
    AnalyzerSpec(
        name="training.regimes",
        description="Training segmented into regimes by a left-to-right Gaussian HMM over the "
        "standardized summary metrics (number of regimes by BIC), with its agreement with the "
        "loss-based phase boundaries.",
        kind=CROSS_EPOCH,
        compute=compute_training_regimes,
        outputs=(
            "epochs",
            "regime",
            "n_regimes",
            "regime_starts",
            "bic",
            "features",
            "components",
            "phase_names",
            "phase_epochs",
            "nearest_regime_start",
            "phase_offset",
            "agreement",
        ),
        params={"max_regimes": 6, "n_components": 3, "min_variance": 0.05, "tolerance": 0.05},
        depends_on=(SNAPSHOT, DIMENSIONALITY),
        source="Hu, Garcia, Kumar, Shrivastava, Kim (2023), 'Latent state models of training "
        "dynamics' (Gaussian HMM over training metrics, states chosen by BIC)",
    )
)
