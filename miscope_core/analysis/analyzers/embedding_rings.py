"""Embedding rings (Liu et al. 2022; Nanda et al. 2023): is each frequency's cos/sin pair a circle?

`embedding.rings` (per epoch). Context: `token_basis`, `token_basis_frequency`, `n_tokens`.
Weight W_E (the '=' row dropped: W_E[:n_tokens]). With F the token basis:
- for each frequency k with basis rows (c, s): C_k = [F_c W_E; F_s W_E] is 2 x d_model;
  `ring_ratio[k-1]` = sigma_2 / sigma_1 of C_k (1 = the two directions have equal norms and are
  orthogonal, i.e. the tokens sit on a circle at angle w_k a; CALIBRATION.md §6.3, §7 item 7);
  `frequency_norm[k-1]` = ||C_k||_F.
- `ring_coordinates` [n_freq, n_tokens, 2]: W_E[:n_tokens] (centred) projected on the two right
  singular vectors of C_k (the plane of frequency k's ring).
- plain PCA of the centred W_E[:n_tokens]: `pca_coordinates` [n_tokens, 2] (PC1, PC2),
  `pca_explained` [4] (variance ratios of PC1..PC4);
  `pca_phase_locking` [] and `pca_frequency` [] int16: theta_a = angle of PC1 + i PC2 for token
  a; for every k and sign s in {+1, -1}, |mean_a exp(i (theta_a - s 2 pi k a / p))|; the best
  score and its k. A ring in token order k*a mod p (a star polygon, not monotone in a) gives 1.
Summary: `ring_ratio`, `frequency_norm` [n_epochs, n_freq], `pca_phase_locking`,
`pca_frequency` [n_epochs].
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.pca import explained_ratio, pca_of_rows
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer


def frequency_rows(frequency: np.ndarray) -> dict[int, tuple[int, int]]:
    """{k: (cos row, sin row)} for every non-constant frequency with two basis rows."""
    rows: dict[int, tuple[int, int]] = {}
    for k in sorted({int(f) for f in frequency if f > 0}):
        found = np.flatnonzero(np.asarray(frequency) == k)
        if len(found) == 2:
            rows[k] = (int(found[0]), int(found[1]))
    return rows


def ring_ratio_of(pair: np.ndarray) -> float:
    """sigma_2 / sigma_1 of a 2 x d matrix (0 when it is zero)."""
    sigma = np.linalg.svd(np.asarray(pair, dtype=np.float64), compute_uv=False)
    return float(sigma[1] / sigma[0]) if sigma[0] > 0 else 0.0


def ring_plane(pair: np.ndarray) -> np.ndarray:
    """The two right singular vectors of a 2 x d matrix, as a d x 2 matrix."""
    _, _, vt = np.linalg.svd(np.asarray(pair, dtype=np.float64), full_matrices=False)
    return vt[:2].T


def phase_locking(coordinates: np.ndarray, p: int) -> tuple[float, int]:
    """Best |mean exp(i(theta_a -+ 2 pi k a / p))| over k = 1..p//2 and both signs, and its k."""
    theta = np.angle(coordinates[:, 0] + 1j * coordinates[:, 1])
    tokens = np.arange(len(theta))
    best, best_k = 0.0, 0
    for k in range(1, p // 2 + 1):
        for sign in (1, -1):
            score = abs(np.mean(np.exp(1j * (theta - sign * 2 * np.pi * k * tokens / p))))
            if score > best:
                best, best_k = float(score), k
    return best, best_k


def embedding_pca(embedding: np.ndarray, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(sign-fixed coordinates on PC1..PCn [tokens, n], explained variance ratios [n])."""
    coords, eigvals = pca_of_rows(embedding, n)
    return coords, explained_ratio(eigvals, n)


def compute_embedding_rings(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Per-frequency ring ratio and ring plane, and the PCA ring of W_E."""
    p = int(inputs.context["n_tokens"])
    basis = np.asarray(inputs.context["token_basis"], dtype=np.float64)
    embedding = inputs.weight("W_E")[:p].astype(np.float64)
    coefficients = basis @ embedding
    rows = frequency_rows(np.asarray(inputs.context["token_basis_frequency"]))
    n_freq = max(rows, default=0)
    ratio, norm = np.zeros(n_freq), np.zeros(n_freq)
    centred = embedding - embedding.mean(axis=0)
    ring_coordinates = np.zeros((n_freq, p, 2))
    for k, (cos_row, sin_row) in rows.items():
        pair = coefficients[[cos_row, sin_row]]
        ratio[k - 1], norm[k - 1] = ring_ratio_of(pair), np.linalg.norm(pair)
        ring_coordinates[k - 1] = centred @ ring_plane(pair)
    coords, explained = embedding_pca(embedding)
    locking, locked_k = phase_locking(coords[:, :2], p)
    return {
        "ring_ratio": ratio.astype(np.float32),
        "frequency_norm": norm.astype(np.float32),
        "ring_coordinates": ring_coordinates.astype(np.float32),
        "pca_coordinates": coords[:, :2].astype(np.float32),
        "pca_explained": explained.astype(np.float32),
        "pca_phase_locking": np.float32(locking),
        "pca_frequency": np.int16(locked_k),
    }


def summarize_embedding_rings(arrays, **_params):
    """Ring ratios, norms and the PCA phase-locking per epoch."""
    return {
        k: arrays[k] for k in ("ring_ratio", "frequency_norm", "pca_phase_locking", "pca_frequency")
    }


register_analyzer(
    AnalyzerSpec(
        name="embedding.rings",
        version=2,  # 2: PCA signs fixed (largest-|projection| positive)
        description=(
            "Is each frequency's cos/sin pair of W_E a circle (sigma2/sigma1), and "
            "does the "
            "W_E PC1-PC2 plane hold a ring ordered by k*a mod p?"
        ),
        kind=PER_EPOCH,
        compute=compute_embedding_rings,
        outputs=(
            "ring_ratio",
            "frequency_norm",
            "ring_coordinates",
            "pca_coordinates",
            "pca_explained",
            "pca_phase_locking",
            "pca_frequency",
        ),
        weights=("W_E",),
        context_keys=("token_basis", "token_basis_frequency", "n_tokens"),
        summarize=summarize_embedding_rings,
        summary_outputs=("ring_ratio", "frequency_norm", "pca_phase_locking", "pca_frequency"),
        source="Liu et al. 2022 (rings in embedding PCA); Nanda et al. 2023 §4.1; "
        "CALIBRATION.md §2, §6.3, §7 item 7",
    )
)
