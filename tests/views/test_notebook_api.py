"""The notebook API: load_variant, Variant.view/at/available_views, BoundView."""

from __future__ import annotations

import pytest

from miscope_core import list_families, list_views, load_variant
from miscope_core.views import ViewNotAvailableError


@pytest.fixture(scope="module")
def variant(tiny_variant):
    workspace, paths = tiny_variant
    return load_variant(paths.root.name, data_dir=workspace.root)


def test_load_by_family_and_parameters_equals_load_by_id(tiny_variant, variant):
    workspace, _ = tiny_variant
    by_params = load_variant("modulo_addition", data_dir=workspace.root, prime=13, seed=0)
    assert by_params.id == variant.id
    assert "modulo_addition" in list_families() and list_views()


def test_load_errors_list_what_exists(tiny_variant):
    workspace, _ = tiny_variant
    with pytest.raises(
        KeyError, match="known.*p13.*miscope train modulo_addition --param prime=59"
    ):
        load_variant("modulo_addition", data_dir=workspace.root, prime=59)
    with pytest.raises(TypeError, match="valid"):
        load_variant("modulo_addition", data_dir=workspace.root, modulus=13)
    with pytest.raises(KeyError, match="Unknown variant 'p99'"):
        load_variant("p99", data_dir=workspace.root)


def test_variant_exposes_epochs_and_metrics(variant):
    assert variant.epochs == [0, 10, 20, 30, 40]
    assert len(variant.metrics["train_loss"]) == 41
    assert variant.nearest_checkpoint(26) == 30
    assert "p13" in repr(variant)


def test_the_specification_example_works(variant):
    bound = variant.view("parameter_trajectory")
    figure = bound.figure()
    assert figure.layout.title.text.startswith("Parameter trajectory: PC2 vs PC3")
    assert "<div" in bound._repr_html_()
    assert isinstance(bound._repr_mimebundle_(), dict)


def test_at_pins_the_nearest_checkpoint(variant):
    figure = variant.at(1200).view("fourier_norms").figure()
    assert "epoch 40 (nearest checkpoint to 1200)" in figure.layout.title.text
    assert variant.at(10).view("loss_curves").figure().layout.shapes[0].x0 == 10
    with pytest.raises(TypeError):
        variant.at("10")


def test_view_is_strict_at_construction(variant):
    with pytest.raises(KeyError, match="Did you mean"):
        variant.view("fourier_norm")
    with pytest.raises(ValueError, match="needs layer"):
        variant.view("neuron_specialization", layer=3)


def test_available_views_lists_every_view(variant):
    rows = variant.available_views()
    assert {r.name for r in rows} == {v.name for v in list_views()}
    assert all(r.available or not r.applicable for r in rows)
    scores = {r.name: r for r in rows}["attention.source_scores"]
    assert not scores.applicable and "induction_source_position" in scores.reason


def test_missing_analysis_is_reported_with_the_command(variant_copy):
    import shutil

    root, variant_id = variant_copy
    shutil.rmtree(
        root
        / "results"
        / "modulo_addition"
        / variant_id
        / "artifacts"
        / "neurons.frequency_specialization"
    )
    v = load_variant(variant_id, data_dir=root)
    with pytest.raises(ViewNotAvailableError, match="--analyzers neurons.frequency"):
        v.view("neuron_specialization")
