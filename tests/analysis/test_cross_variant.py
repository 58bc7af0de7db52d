"""The jointly fitted trajectory basis across variants."""

import numpy as np
import pytest

from miscope_core.analysis.artifacts import ArtifactStore
from miscope_core.analysis.cross_variant import fit_shared_basis, flattened_parameters
from tests.conftest import train_and_analyze


@pytest.fixture(scope="module")
def three_variants(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared")
    ids = []
    for seed in (0, 1, 2):
        workspace, paths = train_and_analyze(
            root, params={"seed": seed}, training={"epochs": 20}, analyzers=["parameters.snapshot"]
        )
        ids.append(paths.root.name)
    return workspace, ids


def test_projecting_a_variant_alone_reproduces_its_panel(three_variants):
    workspace, ids = three_variants
    basis = fit_shared_basis(workspace, "modulo_addition", ids)
    assert basis.refitted
    assert basis.explained_variance_ratio.sum() <= 1 + 1e-9
    for variant_id in ids:
        store = ArtifactStore(workspace.variant_paths("modulo_addition", variant_id).artifacts)
        rows = np.stack(
            [flattened_parameters(store, int(e), "all") for e in basis.epochs[variant_id]]
        )
        expected = basis.projections[variant_id]
        np.testing.assert_allclose(
            basis.project(rows), expected, rtol=1e-4, atol=1e-3 * np.abs(expected).max()
        )


def test_reused_when_unchanged_and_refitted_when_the_set_changes(three_variants):
    workspace, ids = three_variants
    first = fit_shared_basis(workspace, "modulo_addition", ids)
    again = fit_shared_basis(workspace, "modulo_addition", list(reversed(ids)))
    assert not again.refitted and again.path == first.path
    pair = fit_shared_basis(workspace, "modulo_addition", ids[:2])
    assert pair.refitted and pair.path != first.path
    assert set(pair.projections) == set(ids[:2])


def test_missing_snapshots_are_explained(tmp_path, three_variants):
    workspace, ids = three_variants
    with pytest.raises(KeyError, match="Unknown variant"):
        workspace.locate("p13_seed9_dseed0_tf0.5")
