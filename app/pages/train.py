"""Train: a form generated from the family's parameter schema and presets; launch; progress.

The Sweep card (app/components/sweep_form.py) launches a grid x seeds of the same form."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from app.components.common import error_alert, job_badge, page_header, progress_bar
from app.components.executor import executor_stores, register_executor
from app.components.sweep_form import register_sweep_callbacks, sweep_card
from app.context import current_workspace
from services.jobs import JobConflictError, JobStore
from services.launch import cancel_job, launch_training, training_form, validate_training_request
from services.registry import describe_families
from services.workspace import ValidationError

SETTING_HELP = {
    "epochs": "number of training epochs (a longer run extends an existing variant)",
    "checkpoints": "'default' (the family's schedule), 'every:N' or a list like 0,50,200",
    "batch_size": "'full' for full-batch training, or a number",
    "betas": "AdamW betas, two numbers: 0.9,0.98",
    "resume_every": "keep an exact resume state every N epochs (for densify; 0 = none)",
}


# The calibration family: what a new researcher trains first (and what `miscope demo` trains).
DEFAULT_FAMILY = "modulo_addition"


def layout(family: str | None = None, preset: str | None = None, **_query):
    """The training form (family from ?family=, preset from ?preset=) and the progress card."""
    families = describe_families()
    names = [f["name"] for f in families]
    fallback = DEFAULT_FAMILY if DEFAULT_FAMILY in names else names[0]
    chosen = family if family in names else fallback
    presets = next(f for f in families if f["name"] == chosen)["presets"]
    form = training_form(chosen, preset if preset in presets else None)
    return html.Div(
        [
            page_header(
                "Train a variant",
                "Every field comes from the family's parameter schema "
                "and presets. Training runs as a job; cancel keeps every checkpoint.",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Card(
                                [
                                    dbc.CardHeader("Settings"),
                                    dbc.CardBody(
                                        [
                                            dbc.Row(
                                                [
                                                    dbc.Col(
                                                        [
                                                            dbc.Label("Family"),
                                                            dbc.Select(
                                                                id="train-family",
                                                                value=chosen,
                                                                options=[
                                                                    {
                                                                        "label": f["title"],
                                                                        "value": f["name"],
                                                                    }
                                                                    for f in families
                                                                ],
                                                            ),
                                                        ]
                                                    ),
                                                    dbc.Col(
                                                        [
                                                            dbc.Label("Preset"),
                                                            dbc.Select(
                                                                id="train-preset",
                                                                value=form["preset"],
                                                                options=[
                                                                    {"label": p, "value": p}
                                                                    for p in presets
                                                                ],
                                                            ),
                                                        ]
                                                    ),
                                                ],
                                                className="mb-2",
                                            ),
                                            html.Div(
                                                id="train-preset-help", className="param-help mb-3"
                                            ),
                                            html.Div(form_fields(form), id="train-fields"),
                                            dbc.Checkbox(
                                                id="train-analyze-after",
                                                value=True,
                                                className="mt-2",
                                                label=(
                                                    "Analyze with the default battery when "
                                                    "training finishes"
                                                ),
                                            ),
                                            html.Div(id="train-validation", className="mt-3"),
                                            dbc.Button(
                                                "Launch training",
                                                id="train-launch",
                                                color="primary",
                                                className="mt-2",
                                                disabled=True,
                                            ),
                                        ]
                                    ),
                                ]
                            ),
                            sweep_card(),
                        ],
                        lg=5,
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader("Progress"),
                                dbc.CardBody(
                                    html.Div(
                                        id="train-progress",
                                        children=html.P(
                                            "Launch a run to follow it here.",
                                            className="text-muted",
                                        ),
                                    )
                                ),
                            ]
                        ),
                        lg=7,
                    ),
                ],
                className="g-3",
            ),
            dcc.Store(id="train-job"),
            dcc.Store(id="train-cancelled"),
            dcc.Store(id="train-sweep"),
            executor_stores("train-exec"),
            dcc.Interval(id="train-tick", interval=1000),
        ]
    )


def form_fields(form: dict) -> html.Div:
    """Inputs for the family's domain parameters and the training settings."""
    params = [
        field_input("train-param", p["name"], p["value"], p["type"], p["description"])
        for p in form["parameters"]
    ]
    settings = [
        field_input(
            "train-setting",
            s["name"],
            s["value"],
            "number" if isinstance(s["value"], int | float) else "text",
            SETTING_HELP.get(s["name"], ""),
        )
        for s in form["training"]
    ]
    return html.Div(
        [
            html.H6("Domain parameters"),
            dbc.Row(params, className="g-2"),
            html.H6("Training", className="mt-3"),
            dbc.Row(settings, className="g-2"),
        ]
    )


def field_input(kind: str, name: str, value, type_name: str, help_text: str) -> dbc.Col:
    """A labelled input for one parameter (number for int/float, text otherwise)."""
    numeric = type_name in ("int", "float", "number")
    return dbc.Col(
        [
            dbc.Label(name, html_for=f"{kind}-{name}", className="mb-0 small fw-semibold"),
            dbc.Input(
                id={"type": kind, "name": name},
                value=value,
                size="sm",
                type="number" if numeric else "text",
                step="any" if numeric else None,
                debounce=0.3,
            ),
            html.Div(help_text, className="param-help"),
        ],
        md=6,
    )


def _collect(values, ids) -> dict:
    return {i["name"]: v for i, v in zip(ids, values, strict=True)}


def register_callbacks(app, data_dir: str) -> None:
    """Form regeneration, inline validation, launch, progress and cancel."""
    register_executor(app, data_dir, "train-exec")
    register_sweep_callbacks(app)

    @app.callback(
        Output("train-fields", "children"),
        Output("train-preset", "options"),
        Output("train-preset", "value"),
        Output("train-preset-help", "children"),
        Input("train-family", "value"),
        Input("train-preset", "value"),
    )
    def regenerate_form(family, preset):
        presets = next(f for f in describe_families() if f["name"] == family)["presets"]
        if ctx.triggered_id == "train-family" or preset not in presets:
            preset = None
        form = training_form(family, preset)
        options = [{"label": p, "value": p} for p in form["presets"]]
        return (
            form_fields(form),
            options,
            form["preset"],
            form["presets"][form["preset"]]["description"],
        )

    @app.callback(
        Output("train-validation", "children"),
        Output("train-launch", "disabled"),
        Input({"type": "train-param", "name": ALL}, "value"),
        Input({"type": "train-setting", "name": ALL}, "value"),
        State({"type": "train-param", "name": ALL}, "id"),
        State({"type": "train-setting", "name": ALL}, "id"),
        State("train-family", "value"),
        State("train-preset", "value"),
    )
    def validate(param_values, setting_values, param_ids, setting_ids, family, preset):
        try:
            request = validate_training_request(
                family,
                preset,
                _collect(param_values, param_ids),
                _collect(setting_values, setting_ids),
            )
        except ValidationError as exc:
            return dbc.Alert(str(exc), color="danger", className="py-2 small mb-0"), True
        n = len(request.checkpoint_epochs)
        return dbc.Alert(
            [
                html.Span("Variant "),
                html.Code(request.variant_id),
                html.Span(f": {request.training['epochs']} epochs, {n} checkpoints."),
            ],
            color="light",
            className="py-2 small mb-0",
        ), False

    @app.callback(
        Output("train-job", "data"),
        Output("train-exec-run", "data"),
        Output("train-validation", "children", allow_duplicate=True),
        Input("train-launch", "n_clicks"),
        State({"type": "train-param", "name": ALL}, "value"),
        State({"type": "train-setting", "name": ALL}, "value"),
        State({"type": "train-param", "name": ALL}, "id"),
        State({"type": "train-setting", "name": ALL}, "id"),
        State("train-family", "value"),
        State("train-preset", "value"),
        State("train-analyze-after", "value"),
        prevent_initial_call=True,
    )
    def launch(
        _clicks, param_values, setting_values, param_ids, setting_ids, family, preset, analyze_after
    ):
        try:
            request = validate_training_request(
                family,
                preset,
                _collect(param_values, param_ids),
                _collect(setting_values, setting_ids),
            )
            job = launch_training(
                current_workspace(), request, start=False, analyze_after=bool(analyze_after)
            )
        except (ValidationError, JobConflictError) as exc:
            return no_update, no_update, dbc.Alert(str(exc), color="danger", className="py-2 small")
        return (
            job.id,
            job.id,
            dbc.Alert(f"Launched job {job.id}.", color="success", className="py-2 small mb-0"),
        )

    @app.callback(
        Output("train-progress", "children"),
        Input("train-tick", "n_intervals"),
        Input("train-job", "data"),
    )
    def show_progress(_tick, job_id):
        workspace = current_workspace()
        store = JobStore(workspace.jobs_db)
        if not job_id:
            recent = store.list(limit=1, status=("queued", "running", "cancelling"))
            if not recent:
                return (
                    no_update
                    if _tick
                    else html.P("Launch a run to follow it here.", className="text-muted")
                )
            job_id = recent[0].id
        try:
            return progress_card(store.get(job_id), workspace)
        except KeyError:
            return error_alert(f"Job {job_id} not found.")

    @app.callback(
        Output("train-cancelled", "data"),
        Input("train-cancel", "n_clicks"),
        State("train-job-id", "children"),
        prevent_initial_call=True,
    )
    def cancel(clicks, job_id):
        if not clicks or not job_id:
            return no_update
        return cancel_job(current_workspace(), job_id).status


def progress_card(job, workspace) -> html.Div:
    """Status, progress bar, message, loss curves and the log tail of a job."""
    from services.figures import loss_figure

    figure = loss_figure(workspace, job.variant_id)
    cancel = dbc.Button(
        "Cancel",
        id="train-cancel",
        color="outline-danger",
        size="sm",
        disabled=not job.active or job.status == "cancelling",
    )
    return html.Div(
        [
            html.Div(
                [
                    html.Span("Job ", className="text-muted"),
                    html.Code(job.id, id="train-job-id"),
                    html.Span(" "),
                    job_badge(job.status, job.status_text),
                    html.Span(" of ", className="text-muted"),
                    html.A(job.variant_id, href=f"/explore?variant={job.variant_id}"),
                    html.Div(cancel, className="ms-auto"),
                ],
                className="d-flex align-items-center gap-1 mb-2",
            ),
            progress_bar(job),
            html.Div(job.error or job.message, className="small mt-1 mb-2", id="train-message"),
            dcc.Graph(figure=figure, config={"displaylogo": False}, style={"height": "330px"})
            if figure
            else html.P(
                "Loss curves appear after the first checkpoint.", className="text-muted small"
            ),
            html.Pre(job.log, className="log-tail mt-2"),
        ]
    )
