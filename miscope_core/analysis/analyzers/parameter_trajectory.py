"""Parameter trajectory: PCA of the flattened weights across checkpoints, per weight group.

`parameters.trajectory` (cross-epoch): epochs, {group}.projections [n, 10],
{group}.explained_variance_ratio [10], {group}.velocity [n - 1], group in all / embedding /
attention / mlp.

The Gram matrix of the checkpoints (n x n) is accumulated from a disk-backed RowFile, so memory
grows with n^2, not with n times the parameter count.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.parameter_snapshot import WEIGHT_GROUPS
from miscope_core.analysis.inputs import EpochSeries
from miscope_core.analysis.pca import centered_gram, gram_pca
from miscope_core.analysis.registry import CROSS_EPOCH, AnalyzerSpec, register_analyzer
from miscope_core.analysis.rowfile import RowFile

GROUPS = ("all", *WEIGHT_GROUPS)
FIELDS = ("projections", "explained_variance_ratio", "velocity")


def group_names(group: str, available: list[str]) -> list[str]:
    """Weight names of a group that the model has."""
    names = available if group == "all" else WEIGHT_GROUPS[group]
    return [n for n in names if n in available]


def pca_from_gram(gram: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """(projections [n, k], explained variance ratio [k]) of the rows behind a raw Gram matrix,
    signs fixed by miscope_core.analysis.pca's convention."""
    centred = centered_gram(gram)
    # n centred points span at most n - 1 directions; later "components" would be noise.
    n_components = min(n_components, max(1, gram.shape[0] - 1))
    projections, eigvals = gram_pca(centred, n_components)
    total = np.clip(np.trace(centred), 1e-300, None)
    return projections, eigvals[:n_components] / total


def step_velocity(gram: np.ndarray, epochs: np.ndarray) -> np.ndarray:
    """||theta_{i+1} - theta_i|| / (epoch_{i+1} - epoch_i) from the Gram matrix."""
    diag = np.diag(gram)
    off = np.diag(gram, k=1)
    distance = np.sqrt(np.clip(diag[:-1] + diag[1:] - 2 * off, 0.0, None))
    return distance / np.diff(epochs).astype(np.float64)


def gram_of_rows(rows: np.ndarray, block: int = 64) -> np.ndarray:
    """X X^T in float64, reading `rows` (an array or a RowFile) in blocks."""
    n = rows.shape[0]
    gram = np.zeros((n, n))
    for start in range(0, n, block):
        left = np.asarray(rows[start : start + block], dtype=np.float64)
        for other in range(0, start + block, block):
            right = np.asarray(rows[other : other + block], dtype=np.float64)
            product = left @ right.T
            gram[start : start + block, other : other + block] = product
            gram[other : other + block, start : start + block] = product.T
    return gram


def compute_parameter_trajectory(series: EpochSeries, n_components: int = 10):
    """PCA per weight group over all checkpoints, with explained variance and velocity."""
    epochs = np.array(series.epochs)
    first = series.load("parameters.snapshot", series.epochs[0])
    available = list(first)
    groups = [g for g in GROUPS if group_names(g, available)]
    sizes = {g: sum(first[n].size for n in group_names(g, available)) for g in groups}
    result: dict[str, np.ndarray] = {"epochs": epochs}
    with series.scratch() as tmp:
        rows = {g: RowFile(f"{tmp}/{g}.f32", sizes[g]) for g in groups}
        for _, arrays in series.iter("parameters.snapshot"):
            for group in groups:
                parts = [arrays[n].ravel() for n in group_names(group, available)]
                rows[group].append(np.concatenate(parts))
        for group in groups:
            gram = gram_of_rows(rows[group])
            k = min(n_components, len(epochs))
            projections, ratio = pca_from_gram(gram, k)
            result[f"{group}.projections"] = projections.astype(np.float32)
            result[f"{group}.explained_variance_ratio"] = ratio
            result[f"{group}.velocity"] = step_velocity(gram, epochs)
            del rows[group]
    return result


register_analyzer(
    AnalyzerSpec(
        name="parameters.trajectory",
        description="PCA of the flattened weights over checkpoints (groups all / embedding / "
        "attention / mlp): projections, explained variance, velocity.",
        kind=CROSS_EPOCH,
        compute=compute_parameter_trajectory,
        outputs=tuple(f"{g}.{f}" for g in GROUPS for f in FIELDS),
        mlp_outputs=tuple(f"mlp.{f}" for f in FIELDS),
        params={"n_components": 10},
        depends_on=("parameters.snapshot",),
        source="Trajectory PCA as in Antognini & Sohl-Dickstein 2018; velocity corrects for "
        "uneven checkpoint spacing",
    )
)
