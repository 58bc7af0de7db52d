"""The view registry: lookups, aliases, duplicate names, parameter rules, generated docs."""

from __future__ import annotations

import pytest

from miscope_core.views import (
    KINDS,
    VIEWS,
    ViewParam,
    ViewSpec,
    get_view,
    list_views,
    register_view,
)
from miscope_core.views.docs import DOCS_PATH, render_catalog_markdown
from miscope_core.views.registry import ALIASES


def test_catalog_has_the_views_the_issue_names():
    names = {v.name for v in list_views()}
    for required in (
        "training.loss_curves",
        "parameters.pca.pc1_pc2",
        "parameters.pca.pc1_pc3",
        "parameters.pca.pc2_pc3",
        "parameters.pca.trajectory_3d",
        "parameters.pca.explained_variance",
        "parameters.velocity",
        "parameters.weight_norm",
        "embedding.basis_norms",
    ):
        assert required in names


@pytest.mark.parametrize(
    "alias, target",
    [
        ("parameter_trajectory", "parameters.pca.pc2_pc3"),
        ("loss_curves", "training.loss_curves"),
        ("fourier_norms", "weights.frequency_spectrum.W_E"),
    ],
)
def test_aliases_resolve_to_dotted_names(alias, target):
    assert get_view(alias).name == target


def test_unknown_view_suggests_close_matches():
    with pytest.raises(KeyError, match="Did you mean.*parameter_trajectory"):
        get_view("parameter_trajectroy")


@pytest.mark.parametrize("name", ["parameters.pca.pc2_pc4", "zzz", "embedding.fourer_norms"])
def test_unknown_view_error_is_short_and_points_to_the_catalog(name):
    with pytest.raises(KeyError) as caught:
        get_view(name)
    message = caught.value.args[0]
    assert len(message) < 400 and message.count("'") <= 2 * 6
    assert "`miscope views`" in message and "docs/views.md" in message


def test_views_command_lists_the_catalog(capsys):
    from app.cli.main import main

    assert main(["views"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(list_views())
    assert any(line.startswith("parameters.pca.pc2_pc3 ") for line in lines)


def test_list_views_by_kind_and_bad_kind():
    for kind in KINDS:
        assert all(v.kind == kind for v in list_views(kind))
    assert list_views("per_epoch") and list_views("across_epochs") and list_views("cross_epoch")
    with pytest.raises(ValueError, match="valid kinds"):
        list_views("per-epoch")


def _dummy(source, epoch):
    return {}


def test_duplicate_view_name_raises_naming_both_modules():
    spec = ViewSpec(
        name="training.loss_curves",
        title="x",
        description="x",
        kind="per_epoch",
        requires=(),
        loader=_dummy,
        renderer=_dummy,
    )
    with pytest.raises(ValueError, match="miscope_core.views.library.training.*test_catalog"):
        register_view(spec)
    alias_clash = ViewSpec(
        name="tests.some_view",
        title="x",
        description="x",
        kind="per_epoch",
        requires=(),
        loader=_dummy,
        renderer=_dummy,
        aliases=("parameter_trajectory",),
    )
    with pytest.raises(ValueError, match="parameter_trajectory"):
        register_view(alias_clash)
    assert "tests.some_view" not in VIEWS


def test_every_view_is_documented_and_described():
    text = DOCS_PATH.read_text()
    for spec in list_views():
        assert spec.description.strip() and spec.title.strip(), spec.name
        assert spec.kind in KINDS
        assert f"### `{spec.name}`" in text
    for alias in ALIASES:
        assert f"`{alias}`" in text


def test_docs_are_up_to_date():
    assert DOCS_PATH.read_text() == render_catalog_markdown(), (
        "docs/views.md is stale; run `uv run python -m miscope_core.views.docs`"
    )


def test_param_rules_read_like_the_error_messages():
    neuron = ViewParam("neuron", int, 0, "neuron", upper="d_mlp")
    assert neuron.rule({"d_mlp": 512}) == "an int in 0..511"
    group = ViewParam("group", str, "all", "g", choices=("all", "mlp"))
    assert group.rule({}) == "one of ['all', 'mlp']"
