"""A left-to-right Gaussian hidden Markov model in numpy, for segmenting training into regimes.

Hu et al. (2023, "Latent state models of training dynamics") fit a Gaussian HMM to standardized
training metrics and choose the number of states by BIC. Here the states are ordered in time and
visited once each (state i stays or moves to i + 1; the chain starts in state 0 and must end in
state K - 1), so a K-state fit is a segmentation of the checkpoints into K contiguous regimes with
one diagonal Gaussian per regime. Fitting is Baum-Welch in log space from a deterministic start
(K equal contiguous chunks), decoding is Viterbi; nothing is random.

BIC = -2 log L + m log T with m = 2 K D (means, variances) + (K - 1) (stay probabilities).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_ZERO = -np.inf


@dataclass(frozen=True)
class HMMFit:
    """One fitted left-to-right HMM: parameters, log-likelihood, BIC and the Viterbi path."""

    n_states: int
    means: np.ndarray  # [K, D]
    variances: np.ndarray  # [K, D]
    stay: np.ndarray  # [K] probability of staying in each state (last = 1)
    log_likelihood: float
    bic: float
    states: np.ndarray  # [T] int, Viterbi path (non-decreasing)


def log_emissions(x: np.ndarray, means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """log N(x_t | mean_k, diag(var_k)) -> [T, K]."""
    diff = x[:, None, :] - means[None]
    return -0.5 * np.sum(np.log(2 * np.pi * variances)[None] + diff**2 / variances[None], axis=2)


def log_transitions(stay: np.ndarray) -> np.ndarray:
    """[K, K] log transition matrix of a left-to-right chain."""
    k = len(stay)
    with np.errstate(divide="ignore"):
        matrix = np.full((k, k), LOG_ZERO)
        matrix[np.arange(k), np.arange(k)] = np.log(stay)
        matrix[np.arange(k - 1), np.arange(1, k)] = np.log1p(-stay[:-1])
    return matrix


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    top = np.max(values, axis=axis, keepdims=True)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        total = np.log(np.sum(np.exp(values - safe), axis=axis, keepdims=True)) + safe
    return np.squeeze(total, axis=axis)


def forward_backward(emissions: np.ndarray, log_a: np.ndarray):
    """(log alpha [T, K], log beta [T, K], log L), starting in state 0, ending in state K - 1."""
    t_len, k = emissions.shape
    alpha = np.full((t_len, k), LOG_ZERO)
    alpha[0, 0] = emissions[0, 0]
    for t in range(1, t_len):
        alpha[t] = _logsumexp(alpha[t - 1][:, None] + log_a, axis=0) + emissions[t]
    beta = np.full((t_len, k), LOG_ZERO)
    beta[-1, -1] = 0.0
    for t in range(t_len - 2, -1, -1):
        beta[t] = _logsumexp(log_a + (emissions[t + 1] + beta[t + 1])[None], axis=1)
    return alpha, beta, float(alpha[-1, -1])


def viterbi(emissions: np.ndarray, log_a: np.ndarray) -> np.ndarray:
    """Most likely state path [T] from state 0 to state K - 1."""
    t_len, k = emissions.shape
    score = np.full(k, LOG_ZERO)
    score[0] = emissions[0, 0]
    back = np.zeros((t_len, k), dtype=np.int64)
    for t in range(1, t_len):
        candidates = score[:, None] + log_a
        back[t] = np.argmax(candidates, axis=0)
        score = candidates[back[t], np.arange(k)] + emissions[t]
    path = np.zeros(t_len, dtype=np.int64)
    path[-1] = k - 1
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def chunk_start(x: np.ndarray, n_states: int, min_variance: float):
    """Deterministic start: K equal contiguous chunks, their means and variances."""
    chunks = np.array_split(np.arange(len(x)), n_states)
    means = np.stack([x[c].mean(axis=0) for c in chunks])
    variances = np.stack([x[c].var(axis=0) for c in chunks]) + min_variance
    stay = np.array([1 - 1 / max(len(c), 2) for c in chunks[:-1]] + [1.0])
    return means, variances, stay


def fit_left_to_right(
    x: np.ndarray, n_states: int, min_variance: float = 1e-2, max_iter: int = 200, tol=1e-6
) -> HMMFit:
    """Baum-Welch for a K-state left-to-right Gaussian HMM on rows x [T, D] (T >= K)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not 1 <= n_states <= len(x):
        raise ValueError(
            f"n_states must be in 1..{len(x)} (one state per row at most) for data of shape "
            f"{x.shape}, got {n_states}"
        )
    means, variances, stay = chunk_start(x, n_states, min_variance)
    previous = -np.inf
    for _ in range(max_iter):
        emissions, log_a = log_emissions(x, means, variances), log_transitions(stay)
        alpha, beta, log_l = forward_backward(emissions, log_a)
        gamma = np.exp(alpha + beta - log_l)
        weight = gamma.sum(axis=0)[:, None]
        means = gamma.T @ x / weight
        variances = gamma.T @ (x**2) / weight - means**2
        variances = np.clip(variances, 0.0, None) + min_variance
        moves = np.exp(
            alpha[:-1, :-1]
            + log_a[np.arange(n_states - 1), np.arange(1, n_states)]
            + emissions[1:, 1:]
            + beta[1:, 1:]
            - log_l
        ).sum(axis=0)
        occupied = gamma[:-1, :-1].sum(axis=0)
        stay = np.append(np.clip(1 - moves / np.maximum(occupied, 1e-300), 1e-6, 1 - 1e-6), 1.0)
        if abs(log_l - previous) < tol * max(1.0, abs(log_l)):
            break
        previous = log_l
    emissions, log_a = log_emissions(x, means, variances), log_transitions(stay)
    log_l = forward_backward(emissions, log_a)[2]
    n_params = 2 * n_states * x.shape[1] + (n_states - 1)
    bic = -2 * log_l + n_params * np.log(len(x))
    return HMMFit(n_states, means, variances, stay, log_l, bic, viterbi(emissions, log_a))


def select_by_bic(
    x: np.ndarray, max_states: int, min_variance: float = 1e-2
) -> tuple[HMMFit, np.ndarray]:
    """(the lowest-BIC fit, BIC for K = 1..max_states; NaN where K > T)."""
    bics = np.full(max_states, np.nan)
    best = None
    for k in range(1, min(max_states, len(x)) + 1):
        fit = fit_left_to_right(x, k, min_variance)
        bics[k - 1] = fit.bic
        if best is None or fit.bic < best.bic:
            best = fit
    return best, bics
