"""Notebook API: variant.intervene(...) returns a view; variant.densify(...) extends the run."""

import shutil

import numpy as np
import pytest

from miscope_core import load_variant

pytestmark = pytest.mark.slow


@pytest.fixture
def variant(tiny_variant, tmp_path):
    workspace, paths = tiny_variant
    shutil.copytree(workspace.root / "results", tmp_path / "results")
    return load_variant(paths.root.name, data_dir=tmp_path)


def test_intervene_resolves_named_sets_and_returns_the_necessity_view(variant):
    # the tiny run has not grokked: no key frequencies stand apart, and the set says so
    with pytest.raises(ValueError, match="No key frequencies stand apart"):
        variant.intervene("ablate", "key_frequencies")
    subspace = {"kind": "residual", "hook": "hook_embed", "frequencies": [1, 2]}
    view = variant.intervene("ablate", [subspace, "heads"])
    assert view.spec.name == "interventions.necessity"
    names = list(variant.source.summary("interventions.ablation")["component_names"][-1])
    assert names[0] == "hook_embed W_E k={1,2}" and "L0H0" in names[1:]
    assert view.figure().data
    with pytest.raises(KeyError, match="component set"):
        variant.intervene("ablate", "key_frequency")
    with pytest.raises(ValueError, match="action must be one of"):
        variant.intervene("prune")


def test_densify_writes_the_window_and_extends_the_analyses(variant):
    result = variant.densify(11, 12)
    assert result.written == [11, 12] and 11 in variant.epochs
    summary = variant.source.summary("interventions.ablation")
    assert {11, 12} <= set(np.asarray(summary["epochs"]).tolist())
