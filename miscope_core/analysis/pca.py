"""One PCA for every analyzer: principal components of a set of rows via their Gram matrix.

The rows are few (checkpoints, classes, tokens) and long (weights, d_model), so the n x n Gram
matrix is the cheap route. Signs follow one convention everywhere: each component's
largest-magnitude projection is positive, so an eigensolver's arbitrary flip is never read as
a difference between epochs, runs or variants.
"""

from __future__ import annotations

import numpy as np


def fix_signs(projections: np.ndarray) -> np.ndarray:
    """Flip each column so that its largest-|value| entry is positive (a copy)."""
    projections = np.array(projections, dtype=np.float64)
    if projections.size == 0:
        return projections
    peak = projections[np.abs(projections).argmax(axis=0), np.arange(projections.shape[1])]
    return projections * np.where(peak < 0, -1.0, 1.0)


def centered_gram(gram: np.ndarray) -> np.ndarray:
    """Gram matrix of mean-centred rows, from the raw Gram matrix."""
    row_mean = gram.mean(axis=1, keepdims=True)
    return gram - row_mean - row_mean.T + gram.mean()


def gram_pca(centred_gram: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """(sign-fixed projections [n, k], every eigenvalue descending and >= 0) of centred rows.

    k = min(n_components, n); a missing component is not padded here.
    """
    eigvals, eigvecs = np.linalg.eigh(centred_gram)
    order = np.argsort(eigvals)[::-1]
    eigvals = np.clip(eigvals[order], 0.0, None)
    k = min(n_components, len(eigvals))
    return fix_signs(eigvecs[:, order[:k]] * np.sqrt(eigvals[:k])), eigvals


def pca_of_rows(
    rows: np.ndarray, n_components: int, pad: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(sign-fixed projections [n, n_components], eigenvalues [n]) of mean-centred rows.

    With `pad`, components beyond the rank (fewer rows than asked) are zero columns.
    """
    rows = np.asarray(rows, dtype=np.float64)
    centred = rows - rows.mean(axis=0)
    projections, eigvals = gram_pca(centred @ centred.T, n_components)
    if pad and projections.shape[1] < n_components:
        projections = np.pad(projections, ((0, 0), (0, n_components - projections.shape[1])))
    return projections, eigvals


def explained_ratio(eigvals: np.ndarray, n_components: int) -> np.ndarray:
    """Fraction of the total variance on each of the first n_components (zeros beyond)."""
    ratio = np.zeros(n_components)
    total = float(np.sum(eigvals)) or 1.0
    k = min(n_components, len(eigvals))
    ratio[:k] = eigvals[:k] / total
    return ratio
