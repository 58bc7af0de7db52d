"""The real Fourier basis over Z_p in the paper's convention: const, then (cos k, sin k) pairs."""

from __future__ import annotations

import numpy as np


def fourier_basis(p: int) -> np.ndarray:
    """Orthonormal (p, p) basis; row 0 is constant, rows 2k-1 / 2k are cos / sin of frequency k.

    Follows Nanda et al. (2023)'s released code (const, cos, sin), not the TransformerLens demo's
    (const, sin, cos) order. For even p the final row is the Nyquist cosine.
    """
    x = np.arange(p)
    rows = [np.ones(p)]
    for k in range(1, p // 2 + 1):
        rows.append(np.cos(2 * np.pi * k * x / p))
        if 2 * k != p:
            rows.append(np.sin(2 * np.pi * k * x / p))
    basis = np.stack(rows[:p])
    return basis / np.linalg.norm(basis, axis=1, keepdims=True)


def fourier_row_frequencies(p: int) -> np.ndarray:
    """The frequency k of each basis row (0 for the constant)."""
    return np.array([(row + 1) // 2 for row in range(p)])


def fourier_row_labels(p: int) -> list[str]:
    """Readable name of each basis row: 'const', 'cos 1', 'sin 1', ..."""
    labels = ["const"]
    for row in range(1, p):
        labels.append(f"{'cos' if row % 2 else 'sin'} {(row + 1) // 2}")
    return labels
