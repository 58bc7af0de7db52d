"""Families: every registered family with its schema, probe, context, presets and variants."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from app.components.common import page_header, state_badge
from app.context import current_workspace
from services.registry import describe_families, list_variant_states


def layout(**_query):
    """One card per registered family."""
    workspace = current_workspace()
    cards = [family_card(f, list_variant_states(workspace, f["name"])) for f in describe_families()]
    return html.Div(
        [
            page_header(
                "Families",
                "Registered model families: what they train, "
                "the parameters a variant takes, and the variants so far.",
            ),
            *cards,
        ]
    )


def family_card(family: dict, variants) -> dbc.Card:
    """Description, parameter schema, architecture, probe, context, presets, variants."""
    return dbc.Card(
        [
            dbc.CardHeader(
                [family["title"], html.Code(f"  {family['name']}", className="ms-2")],
                id=family["name"],
            ),
            dbc.CardBody(
                [
                    html.P(family["description"]),
                    dbc.Row(
                        [
                            dbc.Col(
                                [
                                    html.H6("Domain parameters"),
                                    parameter_table(family["parameters"]),
                                    html.H6("Presets", className="mt-3"),
                                    preset_table(family),
                                ],
                                md=7,
                            ),
                            dbc.Col(
                                [
                                    html.H6("Architecture"),
                                    architecture_table(family["architecture"]),
                                    html.H6("Probe", className="mt-3"),
                                    html.P(family["probe"], className="small"),
                                    html.H6("Interpretive context"),
                                    html.P(
                                        [html.Code(k, className="me-2") for k in family["context"]],
                                        className="small",
                                    ),
                                ],
                                md=5,
                            ),
                        ]
                    ),
                    html.H6("Variants", className="mt-2"),
                    variant_table(variants),
                ]
            ),
        ],
        className="mb-4",
    )


def parameter_table(parameters) -> dbc.Table:
    """name, type, default, description."""
    rows = [
        html.Tr(
            [
                html.Td(html.Code(p["name"])),
                html.Td(p["type"]),
                html.Td(str(p["default"])),
                html.Td(p["description"]),
            ]
        )
        for p in parameters
    ]
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in ("name", "type", "default", "description")])),
            html.Tbody(rows),
        ],
        size="sm",
        className="family-schema",
    )


def preset_table(family: dict) -> dbc.Table:
    """Preset name, settings and description."""
    rows = []
    for name, preset in family["presets"].items():
        settings = ", ".join(
            f"{k}={v}" for k, v in {**preset["params"], **preset["training"]}.items()
        )
        default = (
            dbc.Badge("default", color="light", text_color="dark", className="ms-1")
            if name == family["default_preset"]
            else None
        )
        rows.append(
            html.Tr(
                [
                    html.Td([html.Code(name), default]),
                    html.Td(html.Small(settings)),
                    html.Td(html.Small(preset["description"])),
                ]
            )
        )
    return dbc.Table(html.Tbody(rows), size="sm", className="family-schema")


def architecture_table(architecture: dict) -> dbc.Table:
    """Model config fields."""
    rows = [html.Tr([html.Td(html.Code(k)), html.Td(str(v))]) for k, v in architecture.items()]
    return dbc.Table(html.Tbody(rows), size="sm", className="family-schema")


def variant_table(variants) -> html.Div:
    """Variants of this family with state badges."""
    if not variants:
        return html.P(
            ["None yet. ", html.A("Train one", href="/train"), "."], className="text-muted small"
        )
    rows = [
        html.Tr(
            [
                html.Td(html.A(v.variant_id, href=f"/explore?variant={v.variant_id}")),
                html.Td(state_badge(v.state)),
                html.Td(f"{v.epochs_completed}/{v.epochs} epochs"),
                html.Td(html.Small(v.detail, className="text-muted")),
            ]
        )
        for v in variants
    ]
    return dbc.Table(html.Tbody(rows), size="sm", hover=True)
