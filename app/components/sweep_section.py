"""The Compare page's sweep section (/compare?sweep=ID): the sweep table (one row per
variant: settings, transition epochs, outcome class; sortable and filterable) and an
ensemble of any across-epochs view, median + IQR per grid cell, aligned by an event."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dash_table, dcc, html

from app.components.common import error_alert
from app.context import current_workspace
from services.compare import ensemble_alignments, ensemble_figure, ensemble_views, sweep_table
from services.workspace import CorruptFileError

DEFAULT_VIEW = "training.loss_curves"
LEADING = ("variant", "outcome", "epochs")
EVENTS = ("memorized", "generalization", "memorization_end", "cleanup_start", "drop_end")
TRAILING = ("final_train_accuracy", "final_test_accuracy")
HIDDEN = ("finished", "cleanup_end")


def sweep_section(sweep_id: str, view: str | None = None, align: str | None = None) -> html.Div:
    """Table and ensemble of one sweep (an unknown or damaged sweep shows why)."""
    workspace = current_workspace()
    try:
        rows = sweep_table(workspace, sweep_id)
    except (KeyError, ValueError, CorruptFileError) as exc:
        return error_alert(str(exc.args[0] if exc.args else exc), "Cannot show this sweep")
    ids = [r["variant"] for r in rows]
    views = ensemble_views(workspace, ids)
    names = [v["name"] for v in views]
    view = view if view in names else (DEFAULT_VIEW if DEFAULT_VIEW in names else None)
    alignments = ensemble_alignments()
    align = align if align in {a["name"] for a in alignments} else "epoch"
    return html.Div(
        [
            dbc.Card(dbc.CardBody([html.H5(f"Sweep {sweep_id}"), table(rows)]), className="mb-3"),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H5("Ensemble: median and interquartile band per grid cell"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    dcc.Dropdown(
                                        id="ensemble-view",
                                        options=[
                                            {"label": v["title"], "value": v["name"]} for v in views
                                        ],
                                        value=view,
                                        clearable=False,
                                    ),
                                    md=6,
                                ),
                                dbc.Col(
                                    dbc.RadioItems(
                                        id="ensemble-align",
                                        value=align,
                                        inline=True,
                                        options=[
                                            {"label": a["name"], "value": a["name"]}
                                            for a in alignments
                                        ],
                                    ),
                                    md=6,
                                ),
                            ],
                            className="mb-2",
                        ),
                        dcc.Loading(html.Div(id="ensemble-figure")),
                    ]
                )
            ),
            dcc.Store(id="ensemble-variants", data=ids),
        ]
    )


def table(rows: list[dict]) -> dash_table.DataTable:
    """Sortable, filterable, paged: stays quick with hundreds of rows."""
    present = {k for r in rows for k in r}
    settings = [
        k for k in (rows[0] if rows else {}) if k not in (*LEADING, *EVENTS, *TRAILING, *HIDDEN)
    ]
    order = [*LEADING[:2], *settings, LEADING[2], *EVENTS, *TRAILING]
    columns = [{"name": c.replace("_", " "), "id": c} for c in order if c in present]
    return dash_table.DataTable(
        id="sweep-table",
        data=rows,
        columns=columns,
        sort_action="native",
        filter_action="native",
        page_size=25,
        style_table={"overflowX": "auto"},
        style_cell={"fontSize": 13, "padding": "4px 8px"},
        style_header={"fontWeight": "600"},
    )


def register_sweep_section_callbacks(app) -> None:
    """The ensemble figure follows the view and alignment pickers."""

    @app.callback(
        Output("ensemble-figure", "children"),
        Input("ensemble-view", "value"),
        Input("ensemble-align", "value"),
        State("ensemble-variants", "data"),
    )
    def draw(view, align, ids):
        if not view:
            return html.P(
                "No variant of this sweep has trained epochs yet.", className="text-muted"
            )
        try:
            figure = ensemble_figure(current_workspace(), ids, view, align)
        except (KeyError, ValueError, LookupError, CorruptFileError) as exc:
            return dbc.Alert(str(exc.args[0] if exc.args else exc), color="warning")
        return dcc.Graph(figure=figure, id="ensemble-graph")
