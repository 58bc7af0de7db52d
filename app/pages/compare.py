"""Compare variants: a sortable variant table, the same view side by side or overlaid.

URL: /compare?variants=a,b,c&view=NAME&align=epoch|progress&at=N&overlay=1, or
/compare?sweep=ID&view=NAME&align=EVENT for a sweep's table and ensemble. One slider drives
every panel; each panel's title states which checkpoint it shows. Figures come from the
catalog through services.compare (the notebook's `compare()` draws the same thing).
"""

from __future__ import annotations

from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dash_table, dcc, html

from app.components.common import error_alert, page_header
from app.components.sweep_section import register_sweep_section_callbacks, sweep_section
from app.context import current_workspace
from services.compare import (
    comparable_views,
    compare_figures,
    max_epoch,
    parse_variant_ids,
    shared_trajectory_figure,
    variant_table,
)
from services.sweeps import list_sweeps

TABLE_COLUMNS = (
    "variant",
    "family",
    "state",
    "train_acc",
    "test_acc",
    "memorized_at",
    "generalized_at",
    "key_frequencies",
)
OVERLAYABLE = ("across_epochs", "cross_epoch")
DEFAULT_VIEW = "training.loss_curves"
POSITION_LABELS = {
    "epoch": "Epoch (each panel shows its nearest checkpoint)",
    "progress": "Training progress (% of each variant's run)",
}


def layout(
    variants: str | None = None,
    view: str | None = None,
    align: str | None = None,
    at: str | None = None,
    overlay: str | None = None,
    sweep: str | None = None,
    **_query,
):
    """Variant table, then (with 1-6 variants chosen) the comparison controls and panels;
    with ?sweep=ID, that sweep's table and ensemble instead."""
    workspace = current_workspace()
    header = page_header(
        "Compare variants",
        "The same view for several variants, side by side or overlaid, driven by one epoch slider.",
    )
    if sweep:
        return html.Div([header, sweep_section(sweep, view, align)])
    try:
        chosen = parse_variant_ids(variants)
        rows = variant_table(workspace)
    except ValueError as exc:
        return html.Div([header, error_alert(str(exc), "Invalid variant list")])
    unknown = [v for v in chosen if v not in {r["variant"] for r in rows}]
    problems = (
        [
            error_alert(
                f"No variant(s) {unknown} in this workspace; pick from the table.",
                "Unknown variant",
            )
        ]
        if unknown
        else []
    )
    chosen = [v for v in chosen if v not in unknown]
    body = [header, *problems, sweeps_links(workspace), table_card(rows, chosen)]
    if chosen:
        body.append(comparison_section(workspace, chosen, view, align, at, overlay == "1"))
    return html.Div(body)


def sweeps_links(workspace) -> html.Div | None:
    """Links to each sweep's table and ensemble (nothing when there are no sweeps)."""
    sweeps = list_sweeps(workspace)
    if not sweeps:
        return None
    links = [
        html.Li(
            [
                html.A(s["id"], href=f"/compare?sweep={s['id']}"),
                html.Span(
                    " (damaged)" if "error" in s else f" ({s['variants']} variants)",
                    className="text-muted small",
                ),
            ]
        )
        for s in sweeps[:20]
    ]
    return html.Div([html.H6("Sweeps"), html.Ul(links)], className="mb-3")


def table_card(rows, chosen) -> dbc.Card:
    """Every variant; select rows (2-6) and press Compare."""
    columns = [c for c in TABLE_COLUMNS if any(c in r for r in rows)]
    params = sorted({k for r in rows for k in r} - set(TABLE_COLUMNS))
    selected = [i for i, r in enumerate(rows) if r["variant"] in chosen]
    table = dash_table.DataTable(
        id="compare-table",
        data=rows,
        row_selectable="multi",
        selected_rows=selected,
        columns=[
            {"name": c.replace("_", " "), "id": c} for c in [*columns[:1], *params, *columns[1:]]
        ],
        sort_action="native",
        filter_action="native",
        page_size=12,
        # Long cells (a 29-frequency list) wrap inside a bounded width instead of widening the
        # table until the other columns leave the screen.
        style_table={"overflowX": "auto"},
        style_cell={
            "fontSize": 13,
            "padding": "4px 8px",
            "whiteSpace": "normal",
            "height": "auto",
            "maxWidth": "16rem",
            "overflowWrap": "anywhere",
        },
        style_header={"fontWeight": "600"},
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.Div(
                    [
                        html.H5("Variants", className="mb-0 me-3"),
                        dbc.Button(
                            "Compare selected",
                            id="compare-go",
                            href="#",
                            size="sm",
                            color="primary",
                            disabled=True,
                        ),
                    ],
                    className="d-flex align-items-center mb-2",
                ),
                html.Small(
                    "Sort or filter by any column; select 2 to 6 rows.",
                    className="text-muted d-block mb-2",
                ),
                table if rows else html.P("No variants yet; train some on the Train page."),
            ]
        ),
        className="mb-3",
    )


def comparison_section(workspace, chosen, view, align, at, overlay) -> html.Div:
    """Controls (view, alignment, overlay, smoothing, slider), panels and the shared basis."""
    try:
        views = comparable_views(workspace, chosen)
        last = max_epoch(workspace, chosen)
    except (KeyError, ValueError) as exc:
        return error_alert(str(exc.args[0] if exc.args else exc), "Cannot compare these")
    names = [v["name"] for v in views]
    view = view if view in names else (DEFAULT_VIEW if DEFAULT_VIEW in names else names[0])
    align = align if align in ("epoch", "progress") else "epoch"
    options = [
        {"label": f"{v['title']} ({v['kind'].replace('_', ' ')})", "value": v["name"]}
        for v in views
    ]
    controls = dbc.Row(
        [
            dbc.Col(
                [
                    dbc.Label("View"),
                    dcc.Dropdown(id="compare-view", options=options, value=view, clearable=False),
                ],
                md=5,
            ),
            dbc.Col(
                [
                    dbc.Label("Align by"),
                    dbc.RadioItems(
                        id="compare-align",
                        value=align,
                        inline=True,
                        options=[
                            {"label": "epoch", "value": "epoch"},
                            {"label": "training progress", "value": "progress"},
                        ],
                    ),
                ],
                md=3,
            ),
            dbc.Col(
                [
                    dbc.Checklist(
                        id="compare-overlay",
                        switch=True,
                        className="mt-4",
                        options=[{"label": "overlay", "value": "1"}],
                        value=["1"] if overlay else [],
                    ),
                    dbc.Label("EMA smoothing", className="small mb-0"),
                    dcc.Slider(
                        id="compare-smoothing",
                        min=0,
                        max=0.95,
                        step=0.05,
                        value=0,
                        marks=None,
                        tooltip={"placement": "bottom"},
                    ),
                ],
                md=4,
            ),
        ],
        className="g-3 mb-2",
    )
    slider = dcc.Slider(
        id="compare-position",
        min=0,
        max=100 if align == "progress" else last,
        step=1,
        value=_initial_position(at, align, last),
        updatemode="mouseup",
        marks=None,
        tooltip={"placement": "bottom", "always_visible": True},
    )
    return html.Div(
        [
            dbc.Card(
                dbc.CardBody(
                    [
                        controls,
                        dbc.Label(POSITION_LABELS[align], id="compare-position-label"),
                        slider,
                    ]
                ),
                className="mb-3",
            ),
            dcc.Loading(html.Div(id="compare-panels")),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H5("Parameter trajectories on a shared basis"),
                        html.P(
                            "One PCA fitted jointly over every checkpoint of the compared "
                            "variants, so "
                            "loop sizes and positions are comparable.",
                            className="text-muted small",
                        ),
                        dbc.Row(
                            [
                                dbc.Col(
                                    dbc.InputGroup(
                                        [
                                            dbc.InputGroupText("x: PC"),
                                            dbc.Input(
                                                id="compare-pc-x",
                                                type="number",
                                                min=1,
                                                max=10,
                                                value=2,
                                            ),
                                        ]
                                    ),
                                    md=2,
                                ),
                                dbc.Col(
                                    dbc.InputGroup(
                                        [
                                            dbc.InputGroupText("y: PC"),
                                            dbc.Input(
                                                id="compare-pc-y",
                                                type="number",
                                                min=1,
                                                max=10,
                                                value=3,
                                            ),
                                        ]
                                    ),
                                    md=2,
                                ),
                            ]
                        ),
                        dcc.Loading(html.Div(id="compare-shared", className="mt-2")),
                    ]
                ),
                className="mt-3",
            ),
            dcc.Store(id="compare-variants", data=chosen),
            dcc.Store(id="compare-last-epoch", data=last),
            dcc.Location(id="compare-url", refresh=False),
        ]
    )


def _initial_position(at, align, last) -> float:
    try:
        value = float(at) if at is not None else (100 if align == "progress" else last)
    except ValueError:
        value = last
    return min(max(value, 0), 100 if align == "progress" else last)


def register_callbacks(app, data_dir: str) -> None:
    """Table selection, slider mode, panels (server-rendered on release) and the shared basis."""
    register_sweep_section_callbacks(app)

    @app.callback(
        Output("compare-go", "href"),
        Output("compare-go", "disabled"),
        Input("compare-table", "selected_rows"),
        State("compare-table", "data"),
    )
    def selection_link(selected, rows):
        """The URL that compares the selected rows (enabled for 1-6 rows)."""
        ids = [rows[i]["variant"] for i in (selected or [])]
        return f"/compare?{urlencode({'variants': ','.join(ids)})}", not 1 <= len(ids) <= 6

    @app.callback(
        Output("compare-position", "max"),
        Output("compare-position", "step"),
        Output("compare-position", "value"),
        Output("compare-position-label", "children"),
        Input("compare-align", "value"),
        State("compare-last-epoch", "data"),
        State("compare-position", "value"),
        State("compare-position", "max"),
        prevent_initial_call=True,
    )
    def slider_for_alignment(align, last, value, old_max):
        """Epochs 0..last, or percent of each run 0..100; keeps the relative position."""
        fraction = (value or 0) / (old_max or 1)
        if align == "progress":
            return 100, 1, round(fraction * 100), POSITION_LABELS[align]
        return last, 1, round(fraction * last), POSITION_LABELS[align]

    @app.callback(
        Output("compare-panels", "children"),
        Output("compare-url", "search"),
        Input("compare-view", "value"),
        Input("compare-align", "value"),
        Input("compare-position", "value"),
        Input("compare-overlay", "value"),
        Input("compare-smoothing", "value"),
        State("compare-variants", "data"),
    )
    def draw_panels(view, align, position, overlay, smoothing, chosen):
        """The grid (or the overlay) at the slider position; errors stay inside the section."""
        overlay_on = bool(overlay)
        search = "?" + urlencode(
            {
                "variants": ",".join(chosen),
                "view": view,
                "align": align,
                "at": position,
                **({"overlay": "1"} if overlay_on else {}),
            }
        )
        workspace = current_workspace()
        where = (position or 0) / 100 if align == "progress" else position
        try:
            result = compare_figures(
                workspace, chosen, view, where, align, overlay_on, smoothing or 0.0
            )
        except (KeyError, ValueError, TypeError, LookupError) as exc:
            return error_alert(str(exc.args[0] if exc.args else exc), "Cannot draw this"), search
        if overlay_on:
            return dcc.Graph(figure=result["overlay"], className="compare-overlay"), search
        width = 12 if len(result["panels"]) == 1 else (6 if len(result["panels"]) in (2, 4) else 4)
        cards = [
            dbc.Col(
                dbc.Card(
                    dbc.CardBody(
                        [
                            html.Div(
                                [
                                    html.Span(
                                        panel["title"], className="compare-panel-title fw-semibold"
                                    ),
                                    html.Small(f"  {panel['variant']}", className="text-muted"),
                                ],
                                className="small mb-1",
                            ),
                            dcc.Graph(
                                figure=panel["figure"],
                                className="compare-panel-graph",
                                config={"displaylogo": False},
                            ),
                        ]
                    )
                ),
                md=width,
                className="mb-3",
            )
            for panel in result["panels"]
        ]
        return dbc.Row(cards), search

    @app.callback(
        Output("compare-shared", "children"),
        Input("compare-pc-x", "value"),
        Input("compare-pc-y", "value"),
        State("compare-variants", "data"),
    )
    def draw_shared(pc_x, pc_y, chosen):
        """The jointly fitted trajectory PCA (needs parameters.snapshot for every variant)."""
        try:
            figure = shared_trajectory_figure(
                current_workspace(), chosen, int(pc_x or 2), int(pc_y or 3)
            )
        except (KeyError, ValueError, TypeError, FileNotFoundError) as exc:
            return dbc.Alert(str(exc.args[0] if exc.args else exc), color="warning")
        return dcc.Graph(figure=figure)
