"""Analyze: pick variants and analyzers (from the registry), see what is missing, launch."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update

from app.components.common import error_alert, jobs_table, page_header, state_badge
from app.components.executor import executor_stores, register_executor
from app.context import current_workspace
from services.jobs import JobConflictError, JobStore
from services.launch import launch_analysis
from services.registry import CorruptFileError, analysis_status, list_variant_states
from services.workspace import ValidationError

STATUS_COLORS = {
    "complete": "success",
    "missing": "secondary",
    "stale": "warning",
    "not applicable": "light",
}


def layout(variant: str | None = None, **_query):
    """Variant and analyzer pickers, per-variant status, launch, analysis history."""
    from services.analyzers import describe_analyzers

    workspace = current_workspace()
    variants = [v for v in list_variant_states(workspace) if v.checkpoints]
    analyzers = describe_analyzers()
    chosen = (
        [variant]
        if variant in {v.variant_id for v in variants}
        else [v.variant_id for v in variants if v.state in ("trained", "partial", "stale")][:1]
    )
    return html.Div(
        [
            page_header(
                "Analyze",
                "Run analyzers over every checkpoint. Work is incremental: only "
                "missing or stale artifacts are computed.",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Variants"),
                                dbc.CardBody(
                                    dbc.Checklist(
                                        id="analyze-variants",
                                        value=chosen,
                                        options=[
                                            {
                                                "label": html.Span(
                                                    [v.variant_id, " ", state_badge(v.state)]
                                                ),
                                                "value": v.variant_id,
                                            }
                                            for v in variants
                                        ],
                                    )
                                    if variants
                                    else html.P(
                                        [
                                            "No trained variants. ",
                                            html.A("Train one", href="/train"),
                                            ".",
                                        ],
                                        className="text-muted",
                                    )
                                ),
                            ]
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Analyzers"),
                                dbc.CardBody(
                                    [
                                        dbc.Checklist(
                                            id="analyze-analyzers",
                                            value=[
                                                a.name for a in analyzers if a.in_default_battery
                                            ],
                                            options=[
                                                {
                                                    "label": html.Span(
                                                        [
                                                            html.Code(a.name),
                                                            html.Span(
                                                                f" — {a.description}",
                                                                className="text-muted small",
                                                            ),
                                                        ]
                                                    ),
                                                    "value": a.name,
                                                }
                                                for a in analyzers
                                            ],
                                        ),
                                        dbc.Button(
                                            "Launch analysis",
                                            id="analyze-launch",
                                            color="primary",
                                            className="mt-3",
                                        ),
                                        html.Div(id="analyze-feedback", className="mt-2"),
                                    ]
                                ),
                            ]
                        ),
                        md=8,
                    ),
                ],
                className="g-3 mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader("What each selected variant needs"),
                    dbc.CardBody(id="analyze-status"),
                ],
                className="mb-3",
            ),
            dbc.Card([dbc.CardHeader("Analysis jobs"), dbc.CardBody(id="analyze-history")]),
            executor_stores("analyze-exec"),
            dcc.Interval(id="analyze-tick", interval=1500),
        ]
    )


def status_table(workspace, variant_id: str) -> html.Div:
    """Per analyzer: complete / missing / stale / not applicable, with the reason."""
    from services.registry import locate_variant

    _, paths = locate_variant(workspace, variant_id)
    try:
        statuses = analysis_status(paths)
    except CorruptFileError as exc:  # one damaged variant must not break the status column
        return html.Div([html.H6(variant_id), error_alert(str(exc), "Damaged file")])
    rows = [
        html.Tr(
            [
                html.Td(html.Code(r["analyzer"])),
                html.Td(r["kind"]),
                html.Td(
                    dbc.Badge(
                        r["status"],
                        color=STATUS_COLORS[r["status"]],
                        text_color="dark" if r["status"] == "not applicable" else None,
                    )
                ),
                html.Td(html.Small(r["reason"], className="text-muted")),
            ]
        )
        for r in statuses
    ]
    return html.Div([html.H6(variant_id), dbc.Table(html.Tbody(rows), size="sm")])


def register_callbacks(app, data_dir: str) -> None:
    """Status per variant, launch, history."""
    register_executor(app, data_dir, "analyze-exec")

    @app.callback(
        Output("analyze-status", "children"),
        Input("analyze-variants", "value"),
        Input("analyze-exec-ran", "data"),
    )
    def show_status(variant_ids, _ran):
        if not variant_ids:
            return html.P("Select a variant.", className="text-muted")
        workspace = current_workspace()
        return [status_table(workspace, v) for v in variant_ids]

    @app.callback(
        Output("analyze-exec-run", "data"),
        Output("analyze-feedback", "children"),
        Input("analyze-launch", "n_clicks"),
        State("analyze-variants", "value"),
        State("analyze-analyzers", "value"),
        prevent_initial_call=True,
    )
    def launch(_clicks, variant_ids, analyzers):
        if not variant_ids or not analyzers:
            return no_update, dbc.Alert(
                "Select at least one variant and one analyzer.",
                color="warning",
                className="py-2 small",
            )
        workspace, launched, problems = current_workspace(), [], []
        for variant_id in variant_ids:
            try:
                launched.append(launch_analysis(workspace, variant_id, analyzers, start=False).id)
            except (ValidationError, JobConflictError, KeyError, ValueError) as exc:
                problems.append(f"{variant_id}: {exc.args[0] if exc.args else exc}")
        alerts = [dbc.Alert(p, color="danger", className="py-2 small") for p in problems]
        if launched:
            alerts.insert(
                0,
                dbc.Alert(
                    f"Launched {len(launched)} job(s): {', '.join(launched)}",
                    color="success",
                    className="py-2 small",
                ),
            )
        return (launched or no_update), alerts

    @app.callback(Output("analyze-history", "children"), Input("analyze-tick", "n_intervals"))
    def history(_tick):
        store = JobStore(current_workspace().jobs_db)
        jobs = [j for j in store.list(limit=30) if j.kind in ("analyze", "train_analyze")]
        return jobs_table(jobs[:12], actions=False)
