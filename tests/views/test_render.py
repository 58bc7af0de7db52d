"""Every view renders on a real tiny variant; titles, axes, cursors, fixed scales, errors."""

from __future__ import annotations

import numpy as np
import pytest

from miscope_core.views import (
    ViewNotAvailableError,
    available_views,
    get_view,
    list_views,
    render_for_source,
    render_view,
    view_epochs,
)
from miscope_core.views.style import CURSOR_NAME
from miscope_core.views.table import figure_to_csv

ALL_VIEWS = [v.name for v in list_views()]


def axis_titles(figure) -> tuple[list, list]:
    """Titles of every x axis and of the first y axis (or the 3-D scene's axes)."""
    layout = figure.layout
    if any(t.type == "scatter3d" for t in figure.data):
        scene = layout.scene
        return [scene.xaxis.title.text], [scene.yaxis.title.text, scene.zaxis.title.text]
    xs = [layout[k].title.text for k in layout if k.startswith("xaxis")]
    return xs, [layout.yaxis.title.text]


def has_data(trace) -> bool:
    for key in ("z", "y", "x"):
        values = getattr(trace, key, None)
        if values is not None and len(values):
            return True
    return False


def test_every_view_applies_to_some_family(tiny_source, tiny_induction_source):
    for name in ALL_VIEWS:
        rows = [
            {a.name: a for a in available_views(s)}[name]
            for s in (tiny_source, tiny_induction_source)
        ]
        assert any(r.available for r in rows), (name, [r.reason for r in rows])


@pytest.mark.parametrize("name", ALL_VIEWS)
def test_every_view_renders_with_defaults(tiny_source, name):
    status = {a.name: a for a in available_views(tiny_source)}[name]
    if not status.applicable:
        pytest.skip(f"{status.reason} (covered by test_second_family)")
    assert status.available, status.reason
    figure = render_for_source(tiny_source, name)
    title = figure.layout.title.text
    assert get_view(name).title in title and tiny_source.variant_id in title
    xs, ys = axis_titles(figure)
    assert any(xs) and all(ys), (name, xs, ys)
    assert figure.data and any(has_data(t) for t in figure.data if t.meta != CURSOR_NAME)
    assert figure_to_csv(figure).count("\n") > 1


@pytest.mark.parametrize("name", [v.name for v in list_views("per_epoch")])
def test_per_epoch_views_keep_their_scales_across_epochs(tiny_source, name):
    if not {a.name: a for a in available_views(tiny_source)}[name].applicable:
        pytest.skip("not applicable to modulo_addition (covered by test_second_family)")
    epochs = view_epochs(tiny_source, name)
    first, last = (render_for_source(tiny_source, name, e) for e in (epochs[0], epochs[-1]))
    assert first.layout.yaxis.range == last.layout.yaxis.range
    for a, b in zip(first.data, last.data, strict=True):
        assert (getattr(a, "zmin", None), getattr(a, "zmax", None)) == (
            getattr(b, "zmin", None),
            getattr(b, "zmax", None),
        )
    assert first.layout.coloraxis.cmax == last.layout.coloraxis.cmax


def test_per_epoch_views_default_to_the_last_checkpoint(tiny_source):
    last = tiny_source.checkpoint_epochs[-1]
    figure = render_for_source(tiny_source, "fourier_norms")
    assert f"epoch {last}" in figure.layout.title.text
    assert figure.layout.meta["epoch"] == last


def test_requested_epoch_snaps_to_nearest_checkpoint_and_says_so(tiny_source):
    figure = render_for_source(tiny_source, "fourier_norms", epoch=22)
    assert "epoch 20 (nearest checkpoint to 22)" in figure.layout.title.text
    exact = render_for_source(tiny_source, "fourier_norms", epoch=30)
    assert "nearest" not in exact.layout.title.text


@pytest.mark.parametrize(
    "name",
    ["training.loss_curves", "parameters.weight_norm", "embedding.basis_norms_over_training"],
)
def test_across_epoch_views_draw_a_movable_cursor(tiny_source, name):
    figure = render_for_source(tiny_source, name, epoch=20)
    cursors = [s for s in figure.layout.shapes if s.name == CURSOR_NAME]
    assert len(cursors) == 1 and cursors[0].x0 == 20


def test_trajectory_highlights_the_cursor_epoch(tiny_source):
    figure = render_for_source(tiny_source, "parameter_trajectory", epoch=10)
    cursor = [t for t in figure.data if t.meta == CURSOR_NAME]
    assert len(cursor) == 1 and cursor[0].name == "epoch 10"
    assert "PC2" in figure.layout.xaxis.title.text and "PC3" in figure.layout.yaxis.title.text


def test_loss_curves_are_log_scaled_with_checkpoint_markers(tiny_source):
    figure = render_for_source(tiny_source, "loss_curves")
    assert figure.layout.yaxis.type == "log"
    markers = [t for t in figure.data if t.mode == "markers"]
    assert list(markers[0].x) == tiny_source.checkpoint_epochs


def test_frequency_axes_use_family_labels(tiny_source):
    figure = render_for_source(tiny_source, "fourier_norms")
    assert list(figure.data[0].x) == [f"k={k}" for k in range(1, 7)]
    basis = render_for_source(tiny_source, "embedding.basis_norms")
    assert list(basis.data[0].x)[:3] == ["const", "cos 1", "sin 1"]


def test_basis_labels_fall_back_to_indices_without_family_labels(tiny_source):
    from miscope_core.views.source import VariantSource

    bare = VariantSource(tiny_source.workspace, tiny_source.paths, tiny_source.record)
    bare.__dict__["context"] = {}
    assert bare.basis_labels(3) == ["basis 0", "basis 1", "basis 2"]
    assert bare.frequency_labels(2) == ["freq 1", "freq 2"]


def test_bad_parameters_say_how_to_call_it(tiny_source):
    with pytest.raises(ValueError, match=r"needs group \(one of .*try variant.view"):
        render_for_source(tiny_source, "parameter_trajectory", group="weights")
    with pytest.raises(ValueError, match=r"needs neuron \(an int in 0..511\)"):
        render_for_source(tiny_source, "neurons.activation_grid", neuron=512)
    with pytest.raises(TypeError, match="has no parameter"):
        render_for_source(tiny_source, "loss_curves", neuron=3)


def test_missing_artifacts_name_the_analyzer_to_run(variant_copy):
    import shutil

    root, variant_id = variant_copy
    artifacts = root / "results" / "modulo_addition" / variant_id / "artifacts"
    shutil.rmtree(artifacts / "parameters.trajectory")
    with pytest.raises(
        ViewNotAvailableError,
        match=f"miscope analyze {variant_id} --analyzers parameters.trajectory",
    ):
        render_view(root, variant_id, "parameter_trajectory")
    loss = render_view(root, variant_id, "loss_curves")
    assert loss.data


def test_available_views_reports_reasons(variant_copy):
    import shutil

    from miscope_core.views import VariantSource

    root, variant_id = variant_copy
    shutil.rmtree(root / "results" / "modulo_addition" / variant_id / "artifacts")
    source = VariantSource.open(root, variant_id)
    rows = {r.name: r for r in available_views(source)}
    assert rows["training.loss_curves"].available
    assert "miscope analyze" in rows["parameters.velocity"].reason
    source.__dict__["context_keys"] = frozenset()
    rows = {r.name: r for r in available_views(source)}
    assert not rows["weights.frequency_spectrum.W_E"].applicable
    assert (
        "not applicable: needs the family's interpretive token basis"
        in rows["weights.frequency_spectrum.W_E"].reason
    )


def test_csv_holds_the_plotted_values(tiny_source):
    figure = render_for_source(tiny_source, "loss_curves")
    text = figure_to_csv(figure)
    header, first = text.splitlines()[:2]
    assert header == "trace,subplot,x,y,z,text"
    train_loss = tiny_source.metrics()["train_loss"]
    assert first.startswith("train,x/y,0,")
    assert np.isclose(float(first.split(",")[3]), train_loss[0])


def test_render_view_cache_follows_the_files(variant_copy):
    import os

    from miscope_core.views.source import open_source

    root, variant_id = variant_copy
    first = open_source(root, variant_id)
    assert open_source(root, variant_id) is first
    manifest = root / "results" / "modulo_addition" / variant_id / "artifacts" / "manifest.json"
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert open_source(root, variant_id) is not first
