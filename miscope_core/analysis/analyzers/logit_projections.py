"""Per-epoch ingredients of the progress measures: the logits' 'sum' frequency components.

`progress.logit_projections` (context `token_basis`, `token_basis_frequency`,
`probe_grid_shape`, `probe_train_mask`, `readout_position`; hook `hook_unembed`). Logits Z
[n_probe, d_vocab_out] at the readout position over the full grid; D [n_dirs, n_probe] the unit
directions cos(w_k(a+b)), sin(w_k(a+b)) of every frequency built from the basis rows
(basis_tools.sum_directions). Per epoch:
  mean_logits [d_vocab_out] float32            per-class mean of Z over the probe
  sum_projections [n_dirs, d_vocab_out] float32  D Z (ordered cos k, sin k for k = 1, 2, ...)
  direction_frequency [n_dirs] int16          k of each direction
  train_residual [n_train, d_vocab_out] float16  (Z - mean - D^T D Z) on the training rows
The key frequencies are only known at the final checkpoint, so progress.measures rebuilds the
restricted and excluded logits from these pieces once it knows them.
"""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.analyzers.basis_tools import basis_and_frequencies, sum_directions
from miscope_core.analysis.inputs import EpochInputs
from miscope_core.analysis.registry import PER_EPOCH, AnalyzerSpec, register_analyzer

LOGITS_HOOK = "hook_unembed"


def readout_logits(inputs: EpochInputs) -> np.ndarray:
    """Logits at the readout position over the probe, float64 -> [n_probe, d_vocab_out]."""
    position = int(inputs.context["readout_position"])
    return inputs.activation(LOGITS_HOOK)[:, position].astype(np.float64)


def grid_sum_directions(context) -> tuple[np.ndarray, np.ndarray]:
    """Sum directions on the probe grid, checked against the grid shape."""
    basis, frequencies = basis_and_frequencies(context)
    n_a, n_b = (int(s) for s in context["probe_grid_shape"])
    if not n_a == n_b == basis.shape[1]:
        raise ValueError(
            f"probe_grid_shape {(n_a, n_b)} must be square over the basis's {basis.shape[1]} tokens"
        )
    return sum_directions(basis, frequencies)


def compute_logit_projections(inputs: EpochInputs) -> dict[str, np.ndarray]:
    """Class means, every sum-direction projection, and the training rows' remainder."""
    logits = readout_logits(inputs)
    directions, labels = grid_sum_directions(inputs.context)
    mean = logits.mean(axis=0)
    projections = directions @ logits
    residual = logits - mean - directions.T @ projections
    train = np.asarray(inputs.context["probe_train_mask"], dtype=bool)
    return {
        "mean_logits": mean.astype(np.float32),
        "sum_projections": projections.astype(np.float32),
        "direction_frequency": labels,
        "train_residual": residual[train].astype(np.float16),
    }


register_analyzer(
    AnalyzerSpec(
        name="progress.logit_projections",
        description="Projections of the probe logits onto cos/sin(w_k(a+b)) for every frequency, "
        "class means and the training rows' remainder (inputs of progress.measures).",
        kind=PER_EPOCH,
        compute=compute_logit_projections,
        outputs=("mean_logits", "sum_projections", "direction_frequency", "train_residual"),
        hooks=(LOGITS_HOOK,),
        context_keys=(
            "token_basis",
            "token_basis_frequency",
            "probe_grid_shape",
            "probe_train_mask",
            "readout_position",
        ),
        source="Nanda et al. 2023, §5.1 and App. C.2; released notebook (trig_loss, "
        "excluded_loss_2D_full)",
    )
)
