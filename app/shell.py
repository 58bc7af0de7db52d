"""The frame around every page: navigation bar and page container."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

NAV = (
    ("/", "Overview"),
    ("/families", "Families"),
    ("/train", "Train"),
    ("/analyze", "Analyze"),
    ("/explore", "Explore"),
    ("/compare", "Compare"),
    ("/jobs", "Jobs"),
)


def shell_layout() -> html.Div:
    """Navbar on top, the current page below."""
    links = [dbc.NavItem(dbc.NavLink(name, href=href, active="exact")) for href, name in NAV]
    navbar = dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand(
                    [html.Span("MI", className="brand-mi"), "Scope"], href="/", className="fw-bold"
                ),
                dbc.Nav(links, navbar=True, className="ms-auto"),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3 py-1",
    )
    return html.Div([navbar, dbc.Container(dash.page_container, fluid=True, className="pb-5")])
