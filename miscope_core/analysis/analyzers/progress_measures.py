"""Progress measures for grokking (Nanda et al. 2023), across checkpoints.

`progress.measures` (cross-epoch; depends on progress.logit_projections,
weights.basis_spectra, weights.frequency_spectra, parameters.snapshot). Params:
`key_source` "W_E" | "W_L", `key_threshold` 0.25, `min_gap` 2.0. Outputs (n = checkpoints):
  key_frequencies [n_key] int16   k whose final-checkpoint frequency norm of key_source
                                  (W_L: summed over layers) exceeds key_threshold * max, kept
                                  only when they stand apart: empty ("no key frequencies yet")
                                  unless key_frequency_gap >= min_gap
  key_frequency_gap []            smallest key norm / largest non-key norm (0 when every
                                  frequency passes the threshold, as at init: 29 of 29 at p=59)
  Without key frequencies, restricted_loss, restricted_loss_all, excluded_loss and
  key_share_W_E are NaN: not yet interpretable (restricting to "every frequency" means nothing).
  restricted_loss [n]             CE on the test rows of mean + key-frequency sum projections
  restricted_loss_all [n]         the same on all probe rows
  excluded_loss [n]               CE on the train rows of the logits minus the key projections
  train_loss [n]                  CE of the rebuilt train logits (check: equals train loss)
  key_share_W_E [n]               share of W_E's non-constant frequency power in the key set
  gini_W_E [n], gini_W_L [n, L] (MLP)  Hurley-Rickard Gini of the n_basis row norms
  sum_squares [n]                 parameters.snapshot summary total_sum_squares
  W_E_frequency_norms [n, n_freq], W_L_frequency_norms [n, L, n_freq] (MLP)
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.basis_tools import frequency_values, hurley_rickard_gini
from miscope_core.analysis.analyzers.logit_projections import grid_sum_directions
from miscope_core.analysis.inputs import EpochSeries
from miscope_core.analysis.registry import CROSS_EPOCH, AnalyzerSpec, register_analyzer

KEY_SOURCES = ("W_E", "W_L")


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy in float64 (log-softmax with the max subtracted)."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_norm - shifted[np.arange(len(labels)), labels]))


def key_frequencies(
    final_spectra: dict, source: str, threshold: float, min_gap: float = 2.0
) -> tuple[np.ndarray, float]:
    """(frequencies whose final norm exceeds threshold * max, ascending k; the spectral gap).

    The set is empty unless the smallest key norm is at least min_gap times the largest
    non-key norm: on a run that has not grokked the max/4 rule passes (nearly) every frequency
    (quick preset: 29 of 29 at init, 12 with gap 1.04 at epoch 2 400; 3 with gap 3.9 at the end).
    """
    if source not in KEY_SOURCES:
        raise ValueError(f"key_source must be one of {KEY_SOURCES}, got {source!r}")
    if source not in final_spectra:
        raise ValueError(
            f"key_source {source!r} is not available for this model "
            f"(attention-only models have no W_L); use 'W_E'"
        )
    norms = np.asarray(final_spectra[source], dtype=np.float64)
    if norms.ndim == 2:
        norms = np.sqrt(np.square(norms).sum(axis=0))
    passed = norms > threshold * norms.max()
    rest = norms[~passed]
    gap = float(norms[passed].min() / max(rest.max(), 1e-300)) if len(rest) else 0.0
    keys = np.flatnonzero(passed) + 1 if gap >= min_gap else np.array([], dtype=np.int64)
    return keys.astype(np.int16), gap


def rebuild_train_logits(arrays, train_rows: np.ndarray) -> np.ndarray:
    """The training rows' logits from progress.logit_projections: mean + D^T D Z + residual.

    train_rows = the sum directions restricted to the training rows [n_dirs, n_train].
    """
    mean = arrays["mean_logits"].astype(np.float64)
    coefficients = arrays["sum_projections"].astype(np.float64)
    return mean + train_rows.T @ coefficients + arrays["train_residual"].astype(np.float64)


def epoch_losses(arrays, directions, direction_k, keys, labels, train_mask) -> dict:
    """Restricted (test / all), excluded (train) and rebuilt train loss of one checkpoint."""
    mean = arrays["mean_logits"].astype(np.float64)
    coefficients = arrays["sum_projections"].astype(np.float64)
    is_key = np.isin(direction_k, keys)
    restricted = mean + directions[is_key].T @ coefficients[is_key]
    train_rows = directions[:, train_mask]
    full_train = rebuild_train_logits(arrays, train_rows)
    excluded = full_train - train_rows[is_key].T @ coefficients[is_key]
    return {
        "restricted_loss": cross_entropy(restricted[~train_mask], labels[~train_mask]),
        "restricted_loss_all": cross_entropy(restricted, labels),
        "excluded_loss": cross_entropy(excluded, labels[train_mask]),
        "train_loss": cross_entropy(full_train, labels[train_mask]),
    }


def spectra_measures(basis_rows: dict, freq_norms: dict, keys: np.ndarray, ks: np.ndarray):
    """Gini of the basis-row norms and the key share of W_E's frequency power."""
    power = np.square(freq_norms["W_E"].astype(np.float64))
    result = {
        "gini_W_E": hurley_rickard_gini(basis_rows["W_E"]),
        "key_share_W_E": float(power[np.isin(ks, keys)].sum() / max(power.sum(), 1e-300)),
        "W_E_frequency_norms": freq_norms["W_E"],
    }
    if "W_L" in basis_rows:
        result["gini_W_L"] = np.array([hurley_rickard_gini(row) for row in basis_rows["W_L"]])
        result["W_L_frequency_norms"] = freq_norms["W_L"]
    return result


NEEDS_KEYS = ("restricted_loss", "restricted_loss_all", "excluded_loss", "key_share_W_E")


def compute_progress_measures(
    series: EpochSeries, key_source: str = "W_E", key_threshold: float = 0.25, min_gap=2.0
) -> dict[str, np.ndarray]:
    """Key frequencies from the last checkpoint, then every measure at every checkpoint."""
    final = series.load("weights.frequency_spectra", series.epochs[-1])
    keys, gap = key_frequencies(final, key_source, key_threshold, min_gap)
    directions, direction_k = grid_sum_directions(series.context)
    ks = frequency_values(np.asarray(series.context["token_basis_frequency"]))
    labels = np.asarray(series.context["probe_labels"], dtype=np.int64)
    train_mask = np.asarray(series.context["probe_train_mask"], dtype=bool)
    rows = []
    for epoch, arrays in series.iter("progress.logit_projections"):
        row = epoch_losses(arrays, directions, direction_k, keys, labels, train_mask)
        row.update(
            spectra_measures(
                series.load("weights.basis_spectra", epoch),
                series.load("weights.frequency_spectra", epoch),
                keys,
                ks,
            )
        )
        rows.append(row)
    result = {key: np.stack([np.asarray(r[key]) for r in rows]) for key in rows[0]}
    result["sum_squares"] = series.summary("parameters.snapshot")["total_sum_squares"]
    if not len(keys):  # not yet interpretable: drawn as absent, not as numbers
        result.update({key: np.full(len(series.epochs), np.nan) for key in NEEDS_KEYS})
    return {
        "epochs": np.array(series.epochs),
        "key_frequencies": keys,
        "key_frequency_gap": np.float64(gap),
        **result,
    }


OUTPUTS = (
    "key_frequencies",
    "key_frequency_gap",
    "restricted_loss",
    "restricted_loss_all",
    "excluded_loss",
    "train_loss",
    "key_share_W_E",
    "gini_W_E",
    "gini_W_L",
    "sum_squares",
    "W_E_frequency_norms",
    "W_L_frequency_norms",
)

register_analyzer(
    AnalyzerSpec(
        name="progress.measures",
        description=(
            "Nanda et al. progress measures: key frequencies, restricted and "
            "excluded loss, "
            "Gini of the Fourier norms of W_E and W_L, sum of squared weights."
        ),
        kind=CROSS_EPOCH,
        compute=compute_progress_measures,
        outputs=OUTPUTS,
        mlp_outputs=("gini_W_L", "W_L_frequency_norms"),
        context_keys=(
            "token_basis",
            "token_basis_frequency",
            "probe_grid_shape",
            "probe_labels",
            "probe_train_mask",
        ),
        params={"key_source": "W_E", "key_threshold": 0.25, "min_gap": 2.0},
        version=2,  # 2: key frequencies need a spectral gap
        depends_on=(
            "progress.logit_projections",
            "weights.basis_spectra",
            "weights.frequency_spectra",
            "parameters.snapshot",
        ),
        source=(
            "Nanda et al. 2023 §5.1, App. C.2; CALIBRATION.md §1.5 and §6 (test-split "
            "restricted "
            "loss, train-split excluded loss, Gini over the p component norms)"
        ),
    )
)
