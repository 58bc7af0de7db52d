"""Compare: a placeholder until the variant-comparison page lands (its own issue)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from app.components.common import page_header


def layout(**_query):
    """Placeholder page."""
    return html.Div([
        page_header("Compare variants", "Several variants side by side and overlaid, "
                    "epoch-locked."),
        dbc.Alert(["Variant comparison is being built. Meanwhile, open two ",
                   html.A("Explore", href="/explore"), " tabs with the same views."],
                  color="info"),
    ])
