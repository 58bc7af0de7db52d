"""Readings that misled (issue 14.5), as the views draw them on the tiny variant (p = 13,
which never generalizes)."""

from __future__ import annotations

import numpy as np


def test_clock_pizza_before_generalization_is_greyed_not_drawn(tiny_source):
    from miscope_core.views.render import render_for_source

    figure = render_for_source(tiny_source, "algorithm.clock_pizza_over_training")
    by_name = {trace.name: trace for trace in figure.data}
    main = by_name["gradient symmetricity (Pizza → 1)"]
    assert np.all(np.isnan(np.asarray(main.y, dtype=float)))  # never generalized
    greyed = by_name["gradient symmetricity, not interpretable"]
    assert len(greyed.y) == len(main.y) and greyed.line.dash == "dot"
    notes = [a.text for a in figure.layout.annotations]
    assert any("not interpretable" in (text or "") for text in notes)


def test_constant_class_geometry_site_is_declared_not_applicable(tiny_source):
    import pytest

    from miscope_core.views.render import render_for_source

    with pytest.raises(ValueError, match="resid_pre.*not applicable.*'=' token"):
        render_for_source(tiny_source, "representations.centroid_pca", site="resid_pre")
    history = render_for_source(tiny_source, "representations.geometry_over_training")
    assert "not applicable" in history.layout.meta["what"]
    assert "resid_pre" not in {trace.name for trace in history.data}


def test_progress_views_say_no_key_frequencies_yet(tiny_source):
    """p = 13 has not grokked: the restricted / excluded loss are not drawn."""
    from miscope_core.views.render import render_for_source

    figure = render_for_source(tiny_source, "progress.losses")
    assert "no key frequencies yet" in figure.layout.meta["what"]
    restricted = next(t for t in figure.data if t.name.startswith("restricted"))
    assert np.all(np.isnan(np.asarray(restricted.y, dtype=float)))


def test_regimes_view_on_both_families(tiny_source, tiny_induction_source):
    from miscope_core.views.render import render_for_source

    for source in (tiny_source, tiny_induction_source):
        figure = render_for_source(source, "training.regimes")
        assert "regimes by BIC" in figure.layout.meta["what"]
        assert any((s.name or "").startswith("regime_") for s in figure.layout.shapes)
