"""Explore one variant: epoch-locked panels, one global slider, play, keys, click-to-jump.

URL: /explore?variant=ID&views=name[:param=value...],...&epoch=N. Scrubbing is clientside
(assets/explore.js applies each panel's preloaded frames as a Patch); the server only builds
panels when they are added, re-parameterised or when new checkpoints land.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import flask
from dash import ALL, MATCH, ClientsideFunction, Input, Output, State, ctx, dcc, html, no_update

from app.components.common import error_alert, page_header, state_badge
from app.components.densify import densify_card, register_densify_callbacks
from app.components.panels import PICKER_HEIGHT, panel_card, slider_marks, view_options
from app.context import current_workspace
from services.figures import (
    PanelRequest,
    build_panel,
    figure_at,
    parse_views_param,
    render_error,
    resolve_panel,
    variant_token,
    view_catalog,
)
from services.registry import list_checkpoint_epochs, list_variant_states, locate_variant

DEFAULT_KINDS = ("across_epochs", "per_epoch", "cross_epoch", "per_epoch")
PREFERRED = (
    "training.loss_curves",
    "neurons.frequency_specialization",
    "parameters.pca.pc2_pc3",
    "weights.frequency_spectrum.W_E",
    "embedding.basis_norms",
)
FRAMES_ROUTE = "/explore-frames"  # the URL carries the variant token: a new state, a new URL
SPEEDS = ((" 0.5×", 800), (" 1×", 400), (" 2×", 200), (" 4×", 100))


def layout(
    variant: str | None = None, views: str | None = None, epoch: str | None = None, **_query
):
    """The Explore page for ?variant=..., or a variant chooser."""
    workspace = current_workspace()
    if not variant:
        return choose_variant(workspace)
    try:
        _, paths = locate_variant(workspace, variant)
    except (ValueError, KeyError) as exc:
        return html.Div(
            [
                page_header("Explore"),
                error_alert(str(exc.args[0]), "Unknown or invalid variant"),
                choose_variant(workspace, heading=False),
            ]
        )
    epochs = list_checkpoint_epochs(paths)
    if not epochs:
        return html.Div(
            [
                page_header(f"Explore {variant}"),
                error_alert(
                    "This variant has no checkpoints yet; training writes them as it goes.",
                    "Nothing to show yet",
                ),
            ]
        )
    catalog = view_catalog(workspace, variant)
    panels, problems = requested_panels(workspace, variant, views, catalog)
    index, epoch_problem = epoch_index(epochs, epoch)
    problems += [epoch_problem] if epoch_problem else []
    by_name = {v["name"]: v for v in catalog}
    return html.Div(
        [
            toolbar(variant, catalog, epochs, index),
            densify_card(epochs),  # issue 16: zoom-in retraining (app/components/densify.py)
            html.Div(
                [dbc.Alert(p, color="warning", className="py-2 small mb-2") for p in problems]
            ),
            dbc.Row(
                [panel_card(i, variant, by_name[p.view], p.params) for i, p in enumerate(panels)],
                id="explore-grid",
                className="mt-2",
            ),
            dcc.Store(id="explore-variant", data=variant),
            dcc.Store(id="explore-epochs", data=epochs),
            dcc.Store(id="explore-token", data=variant_token(workspace, variant)),
            dcc.Store(id="explore-refresh", data=0),
            dcc.Interval(id="explore-play-tick", interval=400, disabled=True),
            dcc.Interval(id="explore-watch", interval=8000),
            html.Div(id="explore-url-sink", hidden=True),
        ]
    )


def choose_variant(workspace, heading: bool = True) -> html.Div:
    """Links to every variant that has checkpoints."""
    variants = [v for v in list_variant_states(workspace) if v.checkpoints]
    items = [
        dbc.ListGroupItem(
            [
                html.A(v.variant_id, href=f"/explore?variant={v.variant_id}"),
                " ",
                state_badge(v.state),
                html.Small(f"  {v.detail}", className="text-muted"),
            ]
        )
        for v in variants
    ]
    return html.Div(
        [
            page_header("Explore", "Choose a variant to explore.")
            if heading
            else html.H5("Variants in this workspace", className="mt-3"),
            dbc.ListGroup(items)
            if items
            else html.P(["No trained variants yet. ", html.A("Train one", href="/train"), "."]),
        ]
    )


def requested_panels(workspace, variant, views, catalog) -> tuple[list[PanelRequest], list[str]]:
    """Panels from ?views= (validated against the catalog), or sensible defaults."""
    problems, panels = [], []
    try:
        requested = parse_views_param(views)
    except ValueError as exc:
        requested, problems = [], [str(exc)]
    available = {v["name"]: v for v in catalog if v["available"]}
    for panel in requested:
        try:
            resolved = resolve_panel(workspace, variant, panel)
        except (KeyError, ValueError, TypeError) as exc:
            message = str(exc.args[0] if exc.args else exc)
            problems.append(f"{message} (ignored; pick views from 'Add a view…')")
            continue
        if resolved.view not in available:
            reason = next((v["reason"] for v in catalog if v["name"] == resolved.view), "")
            problems.append(f"View '{resolved.view}' is not available: {reason}")
            continue
        panels.append(PanelRequest(resolved.view, {k: v for k, v in panel.params.items()}))
    if not requested:
        panels = default_panels(available)
    return panels, problems


def default_panels(available: dict) -> list[PanelRequest]:
    """Up to four views: loss curves, per-epoch views and the trajectory, when available."""
    chosen = [name for name in PREFERRED if name in available][:4]
    for kind in DEFAULT_KINDS:
        if len(chosen) >= 4:
            break
        extra = [n for n, v in available.items() if v["kind"] == kind and n not in chosen]
        chosen += extra[:1]
    return [PanelRequest(name) for name in chosen]


def epoch_index(epochs: list[int], epoch: str | None) -> tuple[int, str | None]:
    """Slider index of ?epoch= (nearest checkpoint); a bad value falls back to the last."""
    if epoch in (None, ""):
        return len(epochs) - 1, None
    try:
        wanted = int(epoch)
    except ValueError:
        return len(epochs) - 1, (
            f"epoch must be an integer, got {epoch!r}; showing the last checkpoint"
        )
    return min(range(len(epochs)), key=lambda i: (abs(epochs[i] - wanted), i)), None


def toolbar(variant: str, catalog, epochs: list[int], index: int) -> html.Div:
    """Title, view picker, play/pause + speed, the global epoch slider and its label."""
    return html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        html.H4(
                            ["Explore ", html.Code(variant, id="explore-variant-name")],
                            className="mb-0",
                        ),
                        md=5,
                    ),
                    dbc.Col(
                        dcc.Dropdown(
                            id="explore-add-view",
                            options=view_options(catalog),
                            placeholder="Add a view… (type to search)",
                            clearable=True,
                            maxHeight=PICKER_HEIGHT,
                            optionHeight=30,
                        ),
                        md=5,
                    ),
                    dbc.Col(
                        dbc.Button(
                            "Add panel",
                            id="explore-add",
                            color="primary",
                            size="sm",
                            className="w-100",
                        ),
                        md=2,
                    ),
                ],
                className="g-2 align-items-center mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.ButtonGroup(
                            [
                                dbc.Button(
                                    "▶ Play", id="explore-play", color="secondary", size="sm"
                                ),
                                dbc.Select(
                                    id="explore-speed",
                                    value="400",
                                    size="sm",
                                    style={"width": "80px"},
                                    options=[{"label": s, "value": str(ms)} for s, ms in SPEEDS],
                                ),
                            ]
                        ),
                        width="auto",
                    ),
                    dbc.Col(
                        html.Span(
                            f"epoch {epochs[index]}",
                            id="explore-epoch-label",
                            className="epoch-label",
                        ),
                        width="auto",
                    ),
                    dbc.Col(
                        dcc.Slider(
                            id="explore-slider",
                            min=0,
                            max=len(epochs) - 1,
                            step=1,
                            value=index,
                            marks=slider_marks(epochs),
                            updatemode="drag",
                            included=False,
                            allow_direct_input=False,
                        ),
                        className="pt-1",
                    ),
                ],
                className="g-2 align-items-center",
            ),
            html.Small(
                "Keys: ← → step, Home/End jump. Click a point on an across-epochs plot to "
                "jump there.",
                className="text-muted",
            ),
        ],
        className="explore-toolbar",
    )


def register_callbacks(app, data_dir: str) -> None:
    """Panel building (server), scrubbing, play, click-to-jump and URL state (clientside)."""
    clientside(app)
    register_densify_callbacks(app, data_dir)  # issue 16: the densify control

    @app.callback(
        Output({"type": "panel-graph", "index": MATCH}, "figure"),
        Output({"type": "panel-frames", "index": MATCH}, "data"),
        Output({"type": "panel-error", "index": MATCH}, "children"),
        Input({"type": "panel-spec", "index": MATCH}, "data"),
        Input("explore-refresh", "data"),
        State("explore-variant", "data"),
        State("explore-slider", "value"),
        State("explore-epochs", "data"),
    )
    def show(spec, _refresh, variant, index, epochs):
        """The panel at the slider's epoch and its frames, from one shared build."""
        try:
            panel = build_panel(
                current_workspace(), variant, PanelRequest(spec["view"], spec.get("params") or {})
            )
        except Exception as exc:  # a failing view shows its message; the page stays alive
            message = f"{type(exc).__name__}: {exc.args[0] if exc.args else exc}"
            return (
                render_error(message),
                None,
                dbc.Alert(message, color="danger", className="py-1 small mb-1"),
            )
        figure = figure_at(panel, epochs[index] if epochs and index is not None else None)
        query = urlencode(
            {
                "params": json.dumps(spec.get("params") or {}, sort_keys=True),
                "token": panel["token"],
            }
        )
        frames = {
            "url": f"{FRAMES_ROUTE}/{variant}/{spec['view']}?{query}",
            "kind": panel["kind"],
            "view": panel["view"],
        }
        return figure, frames, None

    @app.server.route(f"{FRAMES_ROUTE}/<variant>/<view>")
    def frames(variant: str, view: str):
        """A panel's scrub frames as JSON text encoded once per build (megabytes for some
        views: sent as stored bytes, never re-encoded per request)."""
        try:
            params = json.loads(flask.request.args.get("params") or "{}")
            panel = build_panel(current_workspace(), variant, PanelRequest(view, params))
        except Exception as exc:  # the panel callback already shows this error in the panel
            return flask.Response(
                json.dumps({"error": str(exc.args[0] if exc.args else exc)}),
                status=404,
                mimetype="application/json",
            )
        return flask.Response(
            panel["frames_json"],
            mimetype="application/json",
            headers={"Cache-Control": "private, max-age=3600"},
        )

    @app.callback(
        Output({"type": "panel-spec", "index": MATCH}, "data"),
        Output({"type": "panel-error", "index": MATCH}, "children", allow_duplicate=True),
        Input({"type": "panel-param", "index": MATCH, "name": ALL}, "value"),
        State({"type": "panel-param", "index": MATCH, "name": ALL}, "id"),
        State({"type": "panel-spec", "index": MATCH}, "data"),
        State("explore-variant", "data"),
        prevent_initial_call=True,
    )
    def reparameterise(values, ids, spec, variant):
        params = {
            i["name"]: coerce(v) for i, v in zip(ids, values, strict=True) if v not in (None, "")
        }
        try:
            resolved = resolve_panel(
                current_workspace(), variant, PanelRequest(spec["view"], params)
            )
        except (KeyError, ValueError, TypeError) as exc:
            return no_update, dbc.Alert(
                str(exc.args[0] if exc.args else exc), color="warning", className="py-1 small mb-1"
            )
        changed = {k: v for k, v in resolved.params.items() if k in params}
        if changed == (spec.get("params") or {}):
            return no_update, None
        return {"view": spec["view"], "params": changed}, None

    @app.callback(
        Output("explore-grid", "children"),
        Output("explore-add-view", "value"),
        Input("explore-add", "n_clicks"),
        Input({"type": "panel-remove", "index": ALL}, "n_clicks"),
        State("explore-add-view", "value"),
        State({"type": "panel-spec", "index": ALL}, "data"),
        State("explore-variant", "data"),
        prevent_initial_call=True,
    )
    def edit_grid(_add, removes, new_view, specs, variant):
        trigger = ctx.triggered_id
        specs = list(specs)
        if trigger == "explore-add":
            if not new_view:
                return no_update, no_update
            specs.append({"view": new_view, "params": {}})
        elif isinstance(trigger, dict) and any(removes):
            del specs[trigger["index"]]
        else:
            return no_update, no_update
        catalog = {v["name"]: v for v in view_catalog(current_workspace(), variant)}
        return [
            panel_card(i, variant, catalog[s["view"]], s["params"]) for i, s in enumerate(specs)
        ], None

    @app.callback(
        Output("explore-epochs", "data"),
        Output("explore-slider", "max"),
        Output("explore-slider", "marks"),
        Output("explore-token", "data"),
        Output("explore-refresh", "data"),
        Input("explore-watch", "n_intervals"),
        State("explore-variant", "data"),
        State("explore-token", "data"),
        State("explore-refresh", "data"),
        prevent_initial_call=True,
    )
    def watch(_tick, variant, token, refresh):
        workspace = current_workspace()
        fresh = variant_token(workspace, variant)
        if fresh == token:
            return (no_update,) * 5
        epochs = list_checkpoint_epochs(locate_variant(workspace, variant)[1])
        return epochs, len(epochs) - 1, slider_marks(epochs), fresh, (refresh or 0) + 1


def clientside(app) -> None:
    """Register the clientside callbacks of assets/explore.js."""
    app.clientside_callback(
        ClientsideFunction("miscope", "scrub"),
        Output("explore-epoch-label", "children"),
        Input("explore-slider", "value"),
        State({"type": "panel-frames", "index": ALL}, "data"),
        State("explore-epochs", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("miscope", "framesLoaded"),
        Output({"type": "panel-graph", "index": MATCH}, "figure", allow_duplicate=True),
        Input({"type": "panel-frames", "index": MATCH}, "data"),
        State("explore-slider", "value"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("miscope", "togglePlay"),
        Output("explore-play-tick", "disabled"),
        Output("explore-play", "children"),
        Output("explore-play-tick", "interval"),
        Input("explore-play", "n_clicks"),
        Input("explore-speed", "value"),
        State("explore-play-tick", "disabled"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("miscope", "advance"),
        Output("explore-slider", "value"),
        Input("explore-play-tick", "n_intervals"),
        State("explore-slider", "value"),
        State("explore-slider", "max"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("miscope", "jump"),
        Output("explore-slider", "value", allow_duplicate=True),
        Input({"type": "panel-graph", "index": ALL}, "clickData"),
        State({"type": "panel-frames", "index": ALL}, "data"),
        State("explore-epochs", "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction("miscope", "syncUrl"),
        Output("explore-url-sink", "children"),
        Input("explore-slider", "value"),
        Input({"type": "panel-spec", "index": ALL}, "data"),
        State("explore-epochs", "data"),
        State("explore-variant", "data"),
    )


def coerce(value):
    """Form values: numeric strings from selects become numbers."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value
