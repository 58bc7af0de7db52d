"""The Train page's Sweep card: a grid and a seed range over the form's family, preset and
settings; the number of variants and an estimated time before launch; progress, cancel and
resume of the sweep afterwards (one job per variant; each is also on the Jobs page)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, html, no_update

from app.context import current_workspace
from services.jobs import JobConflictError
from services.sweeps import (
    cancel_sweep,
    changed_settings,
    describe_estimate,
    launch_sweep,
    plan_sweep,
    resume_sweep,
    sweep_progress,
)
from services.workspace import CorruptFileError, ValidationError

GRID_HELP = "One parameter per line: name=v1,v2 (e.g. prime=53,59). Other parameters: the form's."


def sweep_card() -> dbc.Card:
    """Grid and seed inputs, the plan line, Launch sweep, and the sweep's progress."""
    return dbc.Card(
        [
            dbc.CardHeader("Sweep: a grid x seeds, one job per variant"),
            dbc.CardBody(
                [
                    dbc.Label("Grid", html_for="sweep-grid", className="mb-0 small fw-semibold"),
                    dbc.Textarea(id="sweep-grid", rows=2, placeholder="prime=53,59", value=""),
                    html.Div(GRID_HELP, className="param-help mb-2"),
                    dbc.Label("Seeds", html_for="sweep-seeds", className="mb-0 small fw-semibold"),
                    dbc.Input(
                        id="sweep-seeds", size="sm", placeholder="0-3", value="", debounce=0.3
                    ),
                    html.Div(
                        "A seed sets the model and the data seed; e.g. 0-7 or 1,4,9.",
                        className="param-help",
                    ),
                    html.Div(id="sweep-plan", className="mt-2"),
                    dbc.Button(
                        "Launch sweep",
                        id="sweep-launch",
                        color="primary",
                        className="mt-2",
                        disabled=True,
                    ),
                    html.Div(id="sweep-progress", className="mt-3"),
                    html.Div(
                        [
                            dbc.Button(
                                "Cancel sweep", id="sweep-cancel", size="sm", color="outline-danger"
                            ),
                            dbc.Button(
                                "Resume sweep",
                                id="sweep-resume",
                                size="sm",
                                color="outline-primary",
                            ),
                        ],
                        id="sweep-actions",
                        className="d-flex gap-2 mt-2",
                        style={"display": "none"},
                    ),
                ]
            ),
        ],
        className="mt-3",
    )


def _plan(grid_text, seeds, family, preset, param_values, param_ids, setting_values, setting_ids):
    params = {i["name"]: v for i, v in zip(param_ids, param_values, strict=True)}
    settings = {i["name"]: v for i, v in zip(setting_ids, setting_values, strict=True)}
    fixed, overrides = changed_settings(family, preset, params, settings)
    items = [line.strip() for line in (grid_text or "").splitlines() if line.strip()]
    named = {item.partition("=")[0].strip() for item in items}
    seeded = {"seed", "data_seed"} if (seeds or "").strip() else set()
    items += [f"{k}={v}" for k, v in fixed.items() if k not in named | seeded]
    return plan_sweep(family, items, seeds, preset, overrides)


FORM_STATES = (
    State("train-family", "value"),
    State("train-preset", "value"),
    State({"type": "train-param", "name": ALL}, "value"),
    State({"type": "train-param", "name": ALL}, "id"),
    State({"type": "train-setting", "name": ALL}, "value"),
    State({"type": "train-setting", "name": ALL}, "id"),
    State("train-analyze-after", "value"),
)


def register_sweep_callbacks(app) -> None:
    """Plan preview, launch, progress, cancel and resume of a sweep."""

    @app.callback(
        Output("sweep-plan", "children"),
        Output("sweep-launch", "disabled"),
        Input("sweep-grid", "value"),
        Input("sweep-seeds", "value"),
        Input({"type": "train-setting", "name": ALL}, "value"),
        State("train-family", "value"),
        State("train-preset", "value"),
        State({"type": "train-param", "name": ALL}, "value"),
        State({"type": "train-param", "name": ALL}, "id"),
        State({"type": "train-setting", "name": ALL}, "id"),
    )
    def preview(grid_text, seeds, sv, family, preset, pv, pi, si):
        if not (grid_text or "").strip() and not (seeds or "").strip():
            return html.Small("Enter a grid and/or seeds.", className="text-muted"), True
        try:
            plan = _plan(grid_text, seeds, family, preset, pv, pi, sv, si)
        except (ValidationError, ValueError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return dbc.Alert(message, color="danger", className="py-2 small mb-0"), True
        return dbc.Alert(
            [
                html.Span(f"{len(plan.variant_ids)} variants", id="sweep-count"),
                html.Span(
                    f", estimated {describe_estimate(plan.estimate_s)} of training with "
                    f"{plan.slots} job(s) at once (analysis adds to it)."
                ),
            ],
            color="light",
            className="py-2 small mb-0",
        ), False

    @app.callback(
        Output("train-sweep", "data"),
        Output("sweep-plan", "children", allow_duplicate=True),
        Input("sweep-launch", "n_clicks"),
        State("sweep-grid", "value"),
        State("sweep-seeds", "value"),
        *FORM_STATES,
        prevent_initial_call=True,
    )
    def launch(_clicks, grid_text, seeds, family, preset, pv, pi, sv, si, analyze):
        try:
            plan = _plan(grid_text, seeds, family, preset, pv, pi, sv, si)
            record = launch_sweep(current_workspace(), plan, analyze=bool(analyze))
        except (ValidationError, ValueError, KeyError, CorruptFileError) as exc:
            return no_update, dbc.Alert(str(exc), color="danger", className="py-2 small mb-0")
        return record["id"], dbc.Alert(
            f"Launched sweep {record['id']} ({len(record['variants'])} variants).",
            color="success",
            className="py-2 small mb-0",
        )

    @app.callback(
        Output("sweep-progress", "children"),
        Output("sweep-actions", "style"),
        Input("train-tick", "n_intervals"),
        Input("train-sweep", "data"),
    )
    def show_progress(_tick, sweep_id):
        if not sweep_id:
            return no_update if _tick else None, {"display": "none"}
        try:
            return sweep_summary(sweep_progress(current_workspace(), sweep_id)), {}
        except (KeyError, ValueError, CorruptFileError) as exc:
            return dbc.Alert(str(exc), color="danger", className="small"), {"display": "none"}

    @app.callback(
        Output("sweep-plan", "children", allow_duplicate=True),
        Input("sweep-cancel", "n_clicks"),
        Input("sweep-resume", "n_clicks"),
        State("train-sweep", "data"),
        prevent_initial_call=True,
    )
    def cancel_or_resume(_cancel, _resume, sweep_id):
        if not sweep_id:
            return no_update
        workspace = current_workspace()
        try:
            if ctx.triggered_id == "sweep-cancel":
                stopped = cancel_sweep(workspace, sweep_id)
                text = f"Cancelling the sweep ({len(stopped)} job(s) stop at their next epoch)."
            else:
                resume_sweep(workspace, sweep_id)
                text = "Resuming the sweep: the missing variants run again."
        except (KeyError, CorruptFileError, JobConflictError) as exc:
            return dbc.Alert(str(exc), color="danger", className="py-2 small mb-0")
        return dbc.Alert(text, color="info", className="py-2 small mb-0")


def sweep_summary(progress: dict) -> html.Div:
    """Counts per status, an overall bar, and one line per variant that is not done."""
    counts = ", ".join(f"{n} {status}" for status, n in sorted(progress["counts"].items()))
    state = (
        "cancelled" if progress["cancelled"] else ("running" if progress["scheduler"] else "idle")
    )
    rows = [
        html.Li(
            [html.Code(r["variant"]), f" {r['status']} {round(100 * r['progress'])}%"],
            className="small",
        )
        for r in progress["variants"]
        if r["status"] != "done"
    ][:12]
    return html.Div(
        [
            html.Div(
                [
                    html.Span("Sweep ", className="text-muted"),
                    html.Code(progress["id"], id="sweep-id"),
                    html.Span(f" ({state}): "),
                    html.Span(counts, id="sweep-counts"),
                ],
                className="small",
            ),
            dbc.Progress(value=round(100 * progress["progress"]), className="my-1"),
            html.Ul(rows, className="mb-1 ps-3"),
            html.A("Sweep table and ensemble on Compare", href=f"/compare?sweep={progress['id']}"),
        ]
    )
