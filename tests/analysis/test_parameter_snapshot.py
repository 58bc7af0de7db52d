"""parameters.snapshot holds every trained parameter, biases included (issue 14.5)."""

from __future__ import annotations

import numpy as np

from miscope_core.analysis.artifacts import ArtifactStore
from miscope_core.training.checkpoints import load_checkpoint


def test_sum_of_squares_counts_every_trained_parameter(tiny_induction_variant):
    """The induction family trains its biases: Σw² must equal the checkpoint's full Σw²
    (before the fix the snapshot held weight matrices only and came out short)."""
    _, paths = tiny_induction_variant
    store = ArtifactStore(paths.artifacts)
    summary = store.load_summary("parameters.snapshot")
    last = int(summary["epochs"][-1])
    state = load_checkpoint(paths.checkpoints, last)
    biases = sum(float((v.double() ** 2).sum()) for k, v in state.items() if k.endswith(".bias"))
    assert biases > 0  # trained away from their zero init
    expected = sum(float((v.double() ** 2).sum()) for v in state.values())
    assert np.isclose(summary["total_sum_squares"][-1], expected, rtol=1e-5)
    snapshot = store.load_epoch("parameters.snapshot", last)
    assert {"b_Q", "b_O", "b_U"} <= set(snapshot)
