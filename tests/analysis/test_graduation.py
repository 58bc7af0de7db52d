"""Known answers for per-input margins and graduation epochs, and a run on both real families."""

from __future__ import annotations

import json

import numpy as np
import pytest

from miscope_core.analysis.analyzers.graduation import (
    compute_graduation,
    compute_margins,
    forgetting_counts,
    graduation_epochs,
    target_margins,
)
from miscope_core.analysis.artifacts import ArtifactStore
from tests.analysis.analysis_helpers import series_from, synthetic_inputs

P = 5


def test_graduation_is_the_first_epoch_after_which_an_input_stays_correct():
    epochs = np.array([0, 10, 20, 30])
    correct = np.array(
        [
            [False, True, False, True],  # learned at 10, forgotten at 20, relearned at 30
            [True, True, True, True],  # always right: graduates at the first checkpoint
            [False, False, False, True],  # only the last checkpoint
            [True, True, True, False],  # forgotten at the end: never graduates
            [False, True, True, True],
        ]
    ).T  # [n_epochs, n_inputs]
    graduation = graduation_epochs(correct, epochs)
    np.testing.assert_array_equal(graduation, [30, 0, 30, np.nan, 10])
    assert forgetting_counts(correct).tolist() == [1, 0, 0, 1, 0]


def test_margin_is_target_logit_minus_best_other_and_nan_without_target():
    logits = np.array([[[1.0, 3.0, 2.0], [5.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    targets = np.array([[1, 2, -1]])
    margins = target_margins(logits, targets)
    np.testing.assert_allclose(margins[0, :2], [1.0, -5.0])
    assert np.isnan(margins[0, 2])
    with pytest.raises(ValueError, match="3 classes"):
        target_margins(logits, np.array([[3, 0, 0]]))


def planted_margins(p: int, learned_at: np.ndarray, epoch: int) -> np.ndarray:
    """Readout logits where row r is right (margin +1) from epoch learned_at[r], else wrong."""
    labels = (np.arange(p * p) // p + np.arange(p * p) % p) % p
    logits = np.zeros((p * p, 3, p))
    right = epoch >= learned_at
    logits[np.arange(p * p), 2, labels] = np.where(right, 1.0, -1.0)
    return logits


def test_planted_grid_graduates_when_planted(tmp_path):
    epochs = [0, 10, 20]
    learned_at = np.repeat([0, 10, 20, 99, 10], P)  # a-row r learns at learned_at[r * P]
    per_epoch = []
    for epoch in epochs:
        inputs = synthetic_inputs(P, cache={"hook_unembed": planted_margins(P, learned_at, epoch)})
        per_epoch.append(compute_margins(inputs))
    np.testing.assert_allclose(per_epoch[-1]["margin"][:, 0], np.where(learned_at <= 20, 1, -1))
    series = series_from(tmp_path, epochs, {"inputs.margins": per_epoch}, P)
    result = compute_graduation(series)
    expected = np.where(learned_at <= 20, learned_at, np.nan).astype(float)
    np.testing.assert_array_equal(result["graduation_epoch"][:, 0], expected)
    names = result["group_names"].tolist()
    assert names == ["all", "train", "test"]
    np.testing.assert_allclose(result["graduated_fraction"][:, 0], [0.2, 0.6, 0.8])
    np.testing.assert_allclose(result["accuracy"][:, 0], [0.2, 0.6, 0.8])
    # every class holds one input of each a-row, so every class has the same rates
    np.testing.assert_allclose(result["class_graduated_fraction"][-1], np.full(P, 0.8))
    train = result["group_masks"][1, :, 0]
    np.testing.assert_allclose(
        result["graduated_fraction"][-1, 1], np.mean(~np.isnan(expected[train]))
    )


def check_common_structure(graduation: dict) -> None:
    fractions = graduation["graduated_fraction"]
    assert np.all(np.diff(fractions, axis=0) >= -1e-12)  # graduation is never undone
    assert np.all(fractions <= graduation["accuracy"] + 1e-12)  # graduated => correct now
    valid = graduation["target"] >= 0
    finite = np.isfinite(graduation["graduation_epoch"])
    assert not np.any(finite & ~valid)
    np.testing.assert_allclose(fractions[-1, 0], graduation["accuracy"][-1, 0])


def test_real_modular_variant_train_accuracy_matches_the_trainer(tiny_variant):
    from miscope_core.training.trainer import load_metrics

    _, paths = tiny_variant
    store = ArtifactStore(paths.artifacts)
    graduation = store.load_cross_epoch("inputs.graduation")
    metrics = load_metrics(paths)
    names = graduation["group_names"].tolist()
    epochs = graduation["epochs"]
    for group in ("train", "test"):
        np.testing.assert_allclose(
            graduation["accuracy"][:, names.index(group)],
            metrics[f"{group}_accuracy"][epochs],
            atol=1e-9,
        )
    check_common_structure(graduation)
    summary = store.load_summary("inputs.margins")
    np.testing.assert_allclose(summary["accuracy"], graduation["accuracy"][:, 0])


def test_real_induction_variant_grades_every_scored_position(tiny_induction_variant):
    _, paths = tiny_induction_variant
    store = ArtifactStore(paths.artifacts)
    graduation = store.load_cross_epoch("inputs.graduation")
    assert graduation["group_names"].tolist() == ["all", "repeated half", "first half"]
    n_rows, n_pos = graduation["target"].shape
    assert n_rows == 64 and n_pos == graduation["positions"].size
    # every position but the last (no next token) is scored
    n_ctx = json.loads(paths.variant_json.read_text())["model"]["n_ctx"]
    assert graduation["positions"].tolist() == list(range(n_ctx - 1))
    assert np.all(graduation["target"] >= 0)
    check_common_structure(graduation)


@pytest.mark.parametrize("fixture", ["tiny_variant", "tiny_induction_variant"])
def test_graduation_heatmap_dots_exactly_the_training_inputs(fixture, request):
    from miscope_core.views.library.graduation import load_graduation_heatmap
    from miscope_core.views.registry import get_view
    from miscope_core.views.source import VariantSource

    workspace, paths = request.getfixturevalue(fixture)
    source = VariantSource.open(workspace, paths.root.name)
    data = load_graduation_heatmap(source, 0)
    figure = get_view("inputs.graduation_heatmap").renderer(data)
    if fixture == "tiny_induction_variant":  # a sample of the training distribution: no split
        assert data["marks"] is None and len(figure.data) == 1
        return
    graduation = source.cross_epoch("inputs.graduation")
    train = graduation["group_masks"][graduation["group_names"].tolist().index("train")]
    p = int(np.sqrt(train.shape[0]))
    dotted = {(a, b) for a, b in zip(figure.data[1].y, figure.data[1].x, strict=True)}
    expected = {(row // p, row % p) for row in np.flatnonzero(train[:, 0])}
    assert dotted == expected and 0 < len(dotted) < p * p
