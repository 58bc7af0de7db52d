"""Shared linear algebra for the analyzers: basis spectra, grid frequency fractions, Gini, PR.

Registers nothing. Every function takes the family's basis and row frequencies as arguments
(`context["token_basis"]` [n_basis, n_tokens], `context["token_basis_frequency"]` [n_basis],
0 for the constant row), so nothing here assumes Fourier or a particular p.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def basis_and_frequencies(context: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(token_basis float64 [n_basis, n_tokens], row frequencies int [n_basis]) from a context."""
    basis = np.asarray(context["token_basis"], dtype=np.float64)
    frequencies = np.asarray(context["token_basis_frequency"], dtype=np.int64)
    if frequencies.shape != (basis.shape[0],):
        raise ValueError(
            f"token_basis_frequency has shape {frequencies.shape}; expected one "
            f"frequency per basis row ({basis.shape[0]},)"
        )
    return basis, frequencies


def frequency_values(frequencies: np.ndarray) -> np.ndarray:
    """The non-constant frequencies present, ascending (k = 1, 2, ...)."""
    return np.unique(frequencies[frequencies > 0])


def frequency_membership(frequencies: np.ndarray) -> np.ndarray:
    """Indicator [n_basis, 1 + n_freq]: column 0 is the constant, column j is frequency j."""
    ks = frequency_values(frequencies)
    columns = [frequencies == 0] + [frequencies == k for k in ks]
    return np.stack(columns, axis=1).astype(np.float64)


def basis_row_norms(matrix: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Norm over the feature axis of `matrix` [n_tokens, d] in `basis` coordinates -> [n_basis]."""
    return np.linalg.norm(basis @ matrix[: basis.shape[1]], axis=-1)


def frequency_norms(row_norms: np.ndarray, frequencies: np.ndarray) -> np.ndarray:
    """Per-frequency norm sqrt(sum of squared row norms of that frequency), last axis = basis."""
    membership = frequency_membership(frequencies)[:, 1:]
    return np.sqrt(np.square(row_norms) @ membership)


def grid_coefficients(values: np.ndarray, grid_shape, basis: np.ndarray) -> np.ndarray:
    """2-D basis transform of mean-centred unit values over the probe grid.

    values [n_probe, n_units] with rows a-major on grid (n_a, n_b) -> [n_basis, n_basis, n_units].
    """
    n_a, n_b = (int(s) for s in grid_shape)
    if values.shape[0] != n_a * n_b or not n_a == n_b == basis.shape[1]:
        raise ValueError(
            f"Probe rows {values.shape[0]} and grid {tuple(grid_shape)} do not "
            f"match a square grid over the basis's {basis.shape[1]} tokens"
        )
    grid = values.reshape(n_a, n_b, -1).astype(np.float64)
    grid = grid - grid.mean(axis=(0, 1), keepdims=True)
    rows = np.tensordot(basis, grid, axes=(1, 0))  # [f, b, n]
    return np.tensordot(rows, basis, axes=(1, 1)).transpose(0, 2, 1)  # [f, g, n]


def grid_frequency_fractions(
    values: np.ndarray, grid_shape, basis: np.ndarray, frequencies: np.ndarray
) -> np.ndarray:
    """Fraction of each unit's centred variance per frequency k -> [n_units, n_freq].

    The share of k is the squared norm of the 3x3 block {const, cos k, sin k}^2 minus the
    const-const term (Nanda et al. 2023, released analysis notebook). Units with zero variance
    get zero everywhere.
    """
    power = np.square(grid_coefficients(values, grid_shape, basis))
    membership = frequency_membership(frequencies)
    inner = np.tensordot(membership, power, axes=(0, 1))  # [j, f, n]
    grouped = np.tensordot(membership, inner, axes=(0, 1)).transpose(2, 0, 1)  # [n, i, j]
    total = power.sum(axis=(0, 1))
    block = grouped[:, 0, 1:] + grouped[:, 1:, 0] + np.diagonal(grouped, axis1=1, axis2=2)[:, 1:]
    safe_total = np.where(total > 0, total, 1.0)
    return np.where(total[:, None] > 0, block / safe_total[:, None], 0.0)


def dominant_frequencies(fractions: np.ndarray, frequencies: np.ndarray):
    """(dominant k, its fraction) along the last axis of a fractions array."""
    ks = frequency_values(frequencies)
    best = np.argmax(fractions, axis=-1)
    return ks[best].astype(np.int16), np.take_along_axis(fractions, best[..., None], -1)[..., 0]


def hurley_rickard_gini(values: np.ndarray) -> float:
    """Gini coefficient of a non-negative vector (Hurley & Rickard 2009); 0 when all equal."""
    c = np.sort(np.abs(np.asarray(values, dtype=np.float64).ravel()))
    total = c.sum()
    if total <= 0:
        return 0.0
    n = c.size
    k = np.arange(1, n + 1)
    return float(1.0 - 2.0 * np.sum((c / total) * (n - k + 0.5) / n))


def participation_ratio(singular_values: np.ndarray) -> np.ndarray:
    """(sum s^2)^2 / sum s^4 over the last axis: r for r equal non-zero singular values."""
    sq = np.square(np.asarray(singular_values, dtype=np.float64))
    numerator = np.square(sq.sum(axis=-1))
    denominator = np.square(sq).sum(axis=-1)
    return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 0.0)


def sum_directions(basis: np.ndarray, frequencies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit 'sum' directions cos(w_k(a+b)), sin(w_k(a+b)) on the grid, from the basis rows.

    For each frequency k with rows (c, s) in basis order: (c(x)c - s(x)s)/sqrt2 and
    (s(x)c + c(x)s)/sqrt2; a frequency with a single row (Nyquist) gives c(x)c.
    Returns (directions [n_dirs, n_a * n_b] a-major, frequency of each direction [n_dirs]).
    """
    directions, labels = [], []
    for k in frequency_values(frequencies):
        rows = basis[frequencies == k]
        if len(rows) >= 2:
            c, s = rows[0], rows[1]
            directions += [
                (np.outer(c, c) - np.outer(s, s)) / np.sqrt(2),
                (np.outer(s, c) + np.outer(c, s)) / np.sqrt(2),
            ]
            labels += [k, k]
        else:
            directions.append(np.outer(rows[0], rows[0]))
            labels.append(k)
    stacked = np.stack([d.ravel() for d in directions])
    return stacked, np.asarray(labels, dtype=np.int16)
