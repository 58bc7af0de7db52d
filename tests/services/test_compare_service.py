"""Comparison services on real tiny variants."""

import pytest

from services.compare import (
    comparable_views,
    compare_figures,
    parse_variant_ids,
    shared_trajectory_figure,
    variant_table,
)
from tests.conftest import train_and_analyze


@pytest.fixture(scope="module")
def two_variants(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare_service")
    ids = []
    for seed in (0, 1):
        workspace, paths = train_and_analyze(
            root,
            params={"seed": seed},
            training={"epochs": 20},
            analyzers=["parameters.snapshot", "parameters.trajectory", "embedding.basis_norms"],
        )
        ids.append(paths.root.name)
    return workspace, ids


def test_parse_variant_ids_rejects_path_tricks():
    assert parse_variant_ids("a, b,a") == ["a", "b"]
    with pytest.raises(ValueError, match="Invalid variant id"):
        parse_variant_ids("ok,../etc")


def test_variant_table_rows(two_variants):
    workspace, ids = two_variants
    rows = {r["variant"]: r for r in variant_table(workspace)}
    assert set(rows) == set(ids)
    row = rows[ids[0]]
    assert row["prime"] == 13 and "test_acc" in row
    assert row["state"] in ("analyzed", "partial", "stale")


def test_grid_and_overlay(two_variants):
    workspace, ids = two_variants
    views = {v["name"] for v in comparable_views(workspace, ids)}
    assert "embedding.basis_norms" in views and "training.loss_curves" in views
    grid = compare_figures(workspace, ids, "embedding.basis_norms", position=10)
    assert [p["epoch"] for p in grid["panels"]] == [10, 10]
    assert "epoch 10" in grid["panels"][0]["title"]
    progress = compare_figures(
        workspace, ids, "embedding.basis_norms", position=0.5, align="progress"
    )
    assert progress["epochs"] == {ids[0]: 10, ids[1]: 10}
    overlay = compare_figures(workspace, ids, "training.loss_curves", overlay=True)
    assert len({t["legendgroup"] for t in overlay["overlay"]["data"]}) == 2
    with pytest.raises(ValueError, match="align must be one of"):
        compare_figures(workspace, ids, "embedding.basis_norms", align="time")


def test_shared_trajectory_figure(two_variants):
    workspace, ids = two_variants
    figure = shared_trajectory_figure(workspace, ids, 1, 2)
    assert len([t for t in figure["data"] if t.get("mode") == "lines+markers"]) == 2
