"""Overview: families, recent variants and jobs, and how to start."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from app.components.common import jobs_table, page_header, state_badge
from app.context import current_workspace
from services.launch import list_jobs
from services.registry import describe_families, list_variant_states


def layout(**_query):
    """The overview page."""
    workspace = current_workspace()
    variants = list_variant_states(workspace)[:8]
    return html.Div(
        [
            page_header(
                "MIScope",
                "Train model variants, analyze every checkpoint, explore how "
                f"they learn. Workspace: {workspace.root}",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card([dbc.CardHeader("How to start"), dbc.CardBody(start_steps())]),
                        md=5,
                    ),
                    dbc.Col(
                        dbc.Card([dbc.CardHeader("Families"), dbc.CardBody(family_list())]), md=7
                    ),
                ],
                className="g-3 mb-3",
            ),
            dbc.Card(
                [dbc.CardHeader("Recent variants"), dbc.CardBody(variant_list(variants))],
                className="mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader("Recent jobs"),
                    dbc.CardBody(jobs_table(list_jobs(workspace, limit=5), actions=False)),
                ]
            ),
        ]
    )


def start_steps() -> html.Ol:
    """Three steps from nothing to an explored variant."""
    return html.Ol(
        [
            html.Li(
                [
                    html.A("Train", href="/train"),
                    " a variant from a family preset "
                    "(the quick preset groks in a few minutes on CPU).",
                ]
            ),
            html.Li(
                [html.A("Analyze", href="/analyze"), " its checkpoints with the analyzer battery."]
            ),
            html.Li(
                [
                    html.A("Explore", href="/explore"),
                    " every view across training with one epoch slider.",
                ]
            ),
            html.Li(["From a terminal: ", html.Code("uv run miscope demo"), " does all three."]),
        ],
        className="mb-0",
    )


def family_list() -> html.Div:
    """One line per registered family."""
    items = [
        html.Div(
            [
                html.A(f["title"], href=f"/families#{f['name']}", className="fw-semibold"),
                html.Code(f" {f['name']}", className="ms-1"),
                html.Div(f["description"], className="text-muted small"),
            ],
            className="mb-2",
        )
        for f in describe_families()
    ]
    return html.Div(items)


def variant_list(variants) -> html.Div:
    """Variants with their state and a link to explore them."""
    if not variants:
        return html.P(
            ["No variants yet. ", html.A("Train one", href="/train"), "."],
            className="text-muted mb-0",
        )
    rows = [
        html.Tr(
            [
                html.Td(html.A(v.variant_id, href=f"/explore?variant={v.variant_id}")),
                html.Td(v.family),
                html.Td(state_badge(v.state)),
                html.Td(f"{v.epochs_completed}/{v.epochs}"),
                html.Td(html.Small(v.detail, className="text-muted")),
            ]
        )
        for v in variants
    ]
    return dbc.Table(
        [
            html.Thead(
                html.Tr([html.Th(h) for h in ("variant", "family", "state", "epochs", "detail")])
            ),
            html.Tbody(rows),
        ],
        size="sm",
        hover=True,
        className="mb-0",
    )
