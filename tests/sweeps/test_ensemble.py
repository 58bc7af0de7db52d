"""Seed ensembles: median + IQR of any across-epochs view, aligned by an event."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.comparison import compare
from miscope_core.ensemble import column_quantiles, get_alignment, phase_event, reduce_band
from miscope_core.notebook import load_variant


@pytest.fixture(scope="module")
def sixteen(tiny_sweep):
    workspace, spec = tiny_sweep
    return [load_variant(v.variant_id, workspace.root) for v in spec.variant_specs()]


def test_band_is_median_and_quartiles_of_interpolated_curves():
    x = np.array([0.0, 10.0])
    band = reduce_band("g", "train", [(x, x * k) for k in (1.0, 2.0, 3.0, 4.0)])
    assert band.n == 4
    np.testing.assert_allclose(band.median, 2.5 * band.x)
    np.testing.assert_allclose(band.q25, 1.75 * band.x)
    np.testing.assert_allclose(band.q75, 3.25 * band.x)


def test_column_quantiles_match_numpy_with_missing_values():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(7, 50))
    values[rng.random((7, 50)) < 0.3] = np.nan
    values[:, 0] = np.nan
    ours = column_quantiles(values, (0.25, 0.5, 0.75))
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanpercentile(values, [25, 50, 75], axis=0)
    np.testing.assert_allclose(np.array(ours), expected, equal_nan=True)


def test_band_covers_only_where_half_the_curves_have_data():
    curves = [(np.array([0.0, 10.0]), np.zeros(2)), (np.array([0.0, 4.0]), np.ones(2))]
    curves.append((np.array([0.0, 2.0]), np.ones(2)))
    band = reduce_band("g", "s", curves)
    assert band.x.max() <= 4.0 + 1e-9  # beyond 4 only one of three curves remains


def test_loss_curve_ensemble_has_one_band_per_grid_cell_and_split(sixteen):
    figure = compare(sixteen).ensemble("loss_curves").figure()
    medians = [t for t in figure.data if t.fill is None]
    bands = [t for t in figure.data if t.fill == "toself"]
    assert len(medians) == len(bands) == 4 * 2  # 2x2 grid cells x (train, test)
    assert all("(n=4)" in t.name for t in medians)
    assert {t.name.split(":")[0] for t in medians} == {
        "prime=7, train_fraction=0.5",
        "prime=7, train_fraction=0.7",
        "prime=11, train_fraction=0.5",
        "prime=11, train_fraction=0.7",
    }
    assert figure.layout.yaxis.type == "log" and "median and IQR" in figure.layout.title.text


def test_ensemble_median_matches_the_seeds_at_the_first_epoch(sixteen):
    cell = [v for v in sixteen if v.params["prime"] == 7 and v.params["train_fraction"] == 0.5]
    data = compare(cell).ensemble("loss_curves", by=[]).data()
    train = next(b for b in data.bands if b.series == "train")
    expected = np.median([v.metrics["train_loss"][0] for v in cell])
    assert train.x[0] == 0 and train.median[0] == pytest.approx(expected)


def test_alignment_shifts_each_variant_by_its_event():
    epochs = np.arange(10)
    metrics = {
        "epoch": epochs,
        "train_accuracy": (epochs >= 2).astype(float),
        "test_accuracy": (epochs >= 7).astype(float),
        "train_loss": np.where(epochs >= 2, 1e-4, 2.0),
        "test_loss": np.where(epochs >= 7, 1e-3, 3.0),
    }
    record = {"model": {"d_vocab_out": 7}}
    assert phase_event("generalization")(metrics, record) == 7
    assert phase_event("memorized")(metrics, record) == 2


def test_events_locate_on_real_variants(sixteen):
    source = sixteen[0].source
    assert get_alignment("epoch").locate(source) == 0
    assert np.isnan(get_alignment("grokking").locate(source))  # p=7 in 20 epochs never groks
    assert np.isnan(get_alignment("regime").locate(source))  # not analyzed: left out


def test_variants_without_the_event_are_refused_with_the_way_out(sixteen):
    with pytest.raises(ValueError, match="align by 'epoch'"):
        compare(sixteen[:4]).ensemble("loss_curves", align="grokking").figure()


def test_unknown_alignment_and_per_epoch_views_are_refused(sixteen):
    with pytest.raises(KeyError, match="grokking"):
        compare(sixteen[:2]).ensemble("loss_curves", align="groking")
    with pytest.raises(ValueError, match="across-epochs view"):
        compare(sixteen[:2]).ensemble("attention.patterns").data()


def test_side_by_side_stays_limited_to_six(sixteen):
    with pytest.raises(ValueError, match=r"1 to 6 variants side by side.*ensemble"):
        compare(sixteen).view("loss_curves")


def test_left_out_variants_are_named_a_few_per_subtitle_line():
    from miscope_core.ensemble import IDS_PER_LINE, left_out_note

    assert left_out_note({}) == ""
    excluded = {f"p59_seed{i}_dseed{i}_tf0.4": "no grokking event" for i in range(9)}
    note = left_out_note(excluded)
    lines = note.removeprefix("<br><sup>").removesuffix("</sup>").split("<br>")
    assert lines[0].startswith("9 left out (no grokking event): ")
    assert len(lines) == 3 and all(line.count("p59_") <= IDS_PER_LINE for line in lines)
    assert all(variant in note for variant in excluded)
