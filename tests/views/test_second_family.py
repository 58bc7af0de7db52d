"""Every view either renders for the second family (induction) or says why it cannot."""

from __future__ import annotations

import pytest

from miscope_core.views import available_views, list_views, render_for_source
from miscope_core.views.style import CURSOR_NAME


@pytest.mark.slow
@pytest.mark.parametrize("name", [v.name for v in list_views()])
def test_view_renders_or_is_not_applicable(tiny_induction_source, name):
    status = {a.name: a for a in available_views(tiny_induction_source)}[name]
    if not status.available:
        assert not status.applicable and status.reason.startswith("not applicable: "), status
        return
    figure = render_for_source(tiny_induction_source, name)
    assert tiny_induction_source.variant_id in figure.layout.title.text
    data = [t for t in figure.data if t.meta != CURSOR_NAME]
    assert data and any(
        getattr(t, k, None) is not None and len(getattr(t, k)) > 0 for t in data for k in "xyz"
    )


@pytest.mark.slow
def test_universal_views_apply_to_the_second_family(tiny_induction_source):
    rows = {a.name: a for a in available_views(tiny_induction_source)}
    for name in (
        "training.loss_curves",
        "attention.patterns",
        "parameters.pca.pc2_pc3",
        "dynamics.essential.pc1_pc2",
        "parameters.singular_values",
    ):
        assert rows[name].available, rows[name].reason
    loss = render_for_source(tiny_induction_source, "loss_curves")
    assert {t.name for t in loss.data} >= {"repeated half", "first half"}
    attention = render_for_source(tiny_induction_source, "attention.patterns", layer=1)
    assert "x0" in list(attention.data[0].x) and "layer 1" in attention.layout.title.text
