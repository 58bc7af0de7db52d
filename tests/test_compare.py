"""Notebook comparison of several variants (grid, overlay, shared basis)."""

import numpy as np
import pytest

from miscope_core.comparison import aligned_epoch, compare, ema
from miscope_core.notebook import load_variant
from tests.conftest import train_and_analyze


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    ids = []
    for seed, epochs in ((0, 20), (1, 20), (2, 30)):
        _, paths = train_and_analyze(
            root,
            params={"seed": seed},
            training={"epochs": epochs},
            analyzers=[
                "parameters.snapshot",
                "parameters.trajectory",
                "embedding.basis_norms",
                "training.regimes",
            ],
        )
        ids.append(paths.root.name)
    return [load_variant(i, data_dir=root) for i in ids]


def test_ema_known_answer():
    np.testing.assert_allclose(ema([1, 1, 1], 0.5), [1, 1, 1])
    np.testing.assert_allclose(ema([0, 2], 0.5), [0, 1])
    with pytest.raises(ValueError, match="EMA weight"):
        ema([1], 1.0)


def test_alignment_by_epoch_and_by_progress(three):
    longest = three[2]
    assert aligned_epoch(longest, 14, None) == 10
    assert aligned_epoch(longest, None, 1.0) == 30
    assert aligned_epoch(three[0], None, 0.5) == 10
    with pytest.raises(ValueError, match="fraction"):
        aligned_epoch(longest, None, 1.5)


def test_overlay_has_one_trace_per_variant_and_curve(three):
    figure = compare(three).view("loss_curves").figure()
    labels = {trace.legendgroup for trace in figure.data}
    assert len(labels) == 3 and "seed=0" in str(labels)
    assert "3 variants overlaid" in figure.layout.title.text


def test_grid_panels_state_their_checkpoint(three):
    view = compare(three).view("parameter_trajectory", progress=0.7)
    titles = [a.text for a in view.figure().layout.annotations]
    assert titles[0].endswith("epoch 10") and titles[2].endswith("epoch 20")


def test_shared_trajectory_draws_every_variant(three):
    figure = compare(three).shared_trajectory(pc_x=1, pc_y=2)
    lines = [t for t in figure.data if t.mode == "lines+markers"]
    assert len(lines) == 3 and "shared basis" in figure.layout.title.text
    with pytest.raises(ValueError, match="PC index"):
        compare(three).shared_trajectory(pc_x=99)


def test_mixed_families_and_too_many_are_refused(three):
    with pytest.raises(ValueError, match="1 to 6 variants"):
        compare(three * 3).view("loss_curves")


def test_shared_trajectory_show_in_a_terminal_writes_offline_html(three, capsys):
    path = compare(three).shared_trajectory(pc_x=1, pc_y=2).show()
    assert path is not None and path.exists() and path.suffix == ".html"
    assert "cdn.plot.ly/plotly" not in path.read_text()[:5000]  # plotly.js inline, not a CDN
    assert str(path) in capsys.readouterr().out


def test_grid_panels_keep_each_variants_regime_bands(three):
    """Compare draws every variant's own training.regimes bands in its cell."""
    figure = compare(three).view("loss_curves", overlay=False).figure()
    bands = [s for s in figure.layout.shapes if (s.name or "").startswith("regime_")]
    assert {s.xref for s in bands} == {"x", "x2", "x3"}
    for index, variant in enumerate(three):
        n_regimes = int(variant.source.cross_epoch("training.regimes")["n_regimes"])
        cell = "x" if index == 0 else f"x{index + 1}"
        assert len([s for s in bands if s.xref == cell]) == n_regimes
