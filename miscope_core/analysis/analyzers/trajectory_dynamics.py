"""Speed and turning along the parameter trajectory, each beside a random-walk null.

`parameters.trajectory_dynamics` (cross-epoch; depends on parameters.snapshot). All weight
matrices of a checkpoint flattened into theta. Windows: checkpoints nearest to the epochs
0, W, 2W, ... (W = `window`; 0 = auto: about `target_windows` windows, rounded to a multiple of
the median checkpoint spacing). With t_0 < t_1 < ... the selected epochs and d_i = theta(t_{i+1})
- theta(t_i):
- `window_epochs` [m + 1] int64: t_i; `displacement` [m] = ||d_i||;
- `turning_cosine` [m - 1] = cos(d_i, d_{i+1}) (1 = straight on, 0 = a random walk's turn);
- nulls from a seeded Gaussian random walk in `null_dims` dimensions whose step variance is
  proportional to the epoch span, sampled at the same epochs: `null.displacement` [m]
  (rescaled to the run's mean displacement), `null.turning_cosine` [m - 1];
- trajectory PCA over every checkpoint (all weights) and the same null sampled at every
  checkpoint epoch: `explained_variance_ratio` [k], `projections` [n, 3],
  `null.explained_variance_ratio` [k], `null.projections` [n, 3], `epochs` [n]
  (the asymptotic random walk gives 6/pi^2 ~ 0.61 / 0.15 / 0.07, Antognini & Sohl-Dickstein
  2018, but the matched null on a real, uneven schedule differs -- 0.58 / 0.17 / 0.07 on the
  quick preset -- so views and checks quote the stored null, never the asymptote).
Source: CALIBRATION.md §5, §6.4, §7 item 9.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.parameter_trajectory import gram_of_rows, pca_from_gram
from miscope_core.analysis.inputs import EpochSeries
from miscope_core.analysis.registry import CROSS_EPOCH, AnalyzerSpec, register_analyzer


def auto_window(epochs: np.ndarray, target_windows: int) -> int:
    """About target_windows windows over the run, a multiple of the median checkpoint spacing."""
    spacing = int(np.median(np.diff(epochs))) if len(epochs) > 1 else 1
    raw = (int(epochs[-1]) - int(epochs[0])) / max(1, target_windows)
    return max(spacing, int(round(raw / max(1, spacing))) * max(1, spacing))


def window_epochs(epochs: np.ndarray, window: int) -> np.ndarray:
    """Checkpoint epochs nearest to first, first + W, ... (distinct, increasing)."""
    targets = np.arange(int(epochs[0]), int(epochs[-1]) + 1, max(1, window))
    nearest = epochs[np.abs(epochs[None, :] - targets[:, None]).argmin(axis=1)]
    return np.unique(nearest)


def displacements(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(||d_i||, cos(d_i, d_{i+1})) of a sequence of points [m + 1, D]."""
    steps = np.diff(np.asarray(points, dtype=np.float64), axis=0)
    norms = np.linalg.norm(steps, axis=1)
    dots = np.sum(steps[:-1] * steps[1:], axis=1)
    denominator = norms[:-1] * norms[1:]
    cosines = np.where(denominator > 0, dots / np.where(denominator > 0, denominator, 1), 0.0)
    return norms, cosines


def random_walk(epochs: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """A Gaussian random walk observed at the given epochs (step variance = epoch span)."""
    spans = np.diff(np.asarray(epochs, dtype=np.float64))
    rng = np.random.default_rng(seed)
    steps = rng.standard_normal((len(spans), dims)) * np.sqrt(spans)[:, None]
    return np.vstack([np.zeros(dims), np.cumsum(steps, axis=0)])


def trajectory_pca(points: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """(projections [n, k], explained variance ratio [k]) of the rows of points."""
    return pca_from_gram(gram_of_rows(points), min(n_components, len(points)))


def padded(values: np.ndarray, columns: int) -> np.ndarray:
    """The first `columns` columns, zero-padded when there are fewer."""
    out = np.zeros((values.shape[0], columns))
    out[:, : min(columns, values.shape[1])] = values[:, :columns]
    return out


def flattened_weights(series: EpochSeries, epoch: int) -> np.ndarray:
    """All weight matrices of one checkpoint as one float32 vector."""
    arrays = series.load("parameters.snapshot", epoch)
    return np.concatenate([np.asarray(arrays[k], dtype=np.float32).ravel() for k in sorted(arrays)])


def compute_trajectory_dynamics(
    series: EpochSeries,
    window: int = 0,
    target_windows: int = 18,
    null_dims: int = 10000,
    n_components: int = 10,
    seed: int = 0,
):
    """Displacement and turning per window, trajectory PCA, and the random-walk nulls."""
    epochs = np.array(series.epochs, dtype=np.int64)
    points = np.stack([flattened_weights(series, int(e)) for e in epochs])
    chosen = window_epochs(epochs, window or auto_window(epochs, target_windows))
    index = np.searchsorted(epochs, chosen)
    displacement, cosine = displacements(points[index])
    null_points = random_walk(chosen, null_dims, seed)
    null_displacement, null_cosine = displacements(null_points)
    scale = displacement.mean() / null_displacement.mean() if null_displacement.mean() else 1.0
    projections, ratio = trajectory_pca(points, n_components)
    null_projections, null_ratio = trajectory_pca(
        random_walk(epochs, null_dims, seed + 1), n_components
    )
    return {
        "epochs": epochs,
        "window_epochs": chosen,
        "displacement": displacement,
        "turning_cosine": cosine,
        "null.displacement": null_displacement * scale,
        "null.turning_cosine": null_cosine,
        "explained_variance_ratio": ratio,
        "projections": padded(projections, 3),
        "null.explained_variance_ratio": null_ratio,
        "null.projections": padded(null_projections, 3),
    }


register_analyzer(
    AnalyzerSpec(
        name="parameters.trajectory_dynamics",
        description="Speed (displacement per window) and turning (cosine of successive "
        "displacements) along the weight trajectory, and trajectory PCA, each beside "
        "a random walk sampled at the same epochs.",
        kind=CROSS_EPOCH,
        compute=compute_trajectory_dynamics,
        outputs=(
            "epochs",
            "window_epochs",
            "displacement",
            "turning_cosine",
            "null.displacement",
            "null.turning_cosine",
            "explained_variance_ratio",
            "projections",
            "null.explained_variance_ratio",
            "null.projections",
        ),
        params={
            "window": 0,
            "target_windows": 18,
            "null_dims": 10000,
            "n_components": 10,
            "seed": 0,
        },
        depends_on=("parameters.snapshot",),
        source="Antognini & Sohl-Dickstein 2018 (random-walk null); CALIBRATION.md §5, §6.4, §7.9",
    )
)
