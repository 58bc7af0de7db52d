"""The Explore page's densify control: pick an epoch window, see what it costs, launch the job.

A densify job re-trains the window from the nearest exact resume point and writes the missing
checkpoints (byte-identical to a dense run), then analyzes them; the Explore page's watcher
picks the new checkpoints up when they land.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update

from app.components.executor import executor_stores, register_executor
from app.context import current_workspace
from services.densify import launch_densify, plan_densify_request, resume_points
from services.jobs import JobConflictError
from services.workspace import ValidationError

PREFIX = "densify"


def densify_card(epochs: list[int]) -> html.Details:
    """A collapsed 'Zoom in' section: from / to / every inputs, the plan, a launch button."""

    def number(name: str, value: int, label: str) -> dbc.Col:
        return dbc.Col(
            dbc.InputGroup(
                [
                    dbc.InputGroupText(label),
                    dbc.Input(id=f"{PREFIX}-{name}", type="number", value=value, min=0, step=1),
                ],
                size="sm",
            ),
            md=3,
        )

    start, stop = epochs[0], epochs[min(1, len(epochs) - 1)]
    return html.Details(
        [
            html.Summary("Zoom in: re-train an epoch window with dense checkpoints"),
            dbc.Row(
                [
                    number("from", start, "from"),
                    number("to", stop, "to"),
                    number("every", 1, "every"),
                    dbc.Col(
                        dbc.Button("Densify", id=f"{PREFIX}-launch", color="primary", size="sm"),
                        md=2,
                    ),
                ],
                className="g-2 mt-1",
            ),
            html.Div(id=f"{PREFIX}-plan", className="small text-muted mt-1"),
            html.Div(id=f"{PREFIX}-message", className="mt-1"),
            executor_stores(PREFIX),
        ],
        className="explore-densify mt-2",
    )


def plan_text(workspace, variant: str, start, stop, every) -> str:
    """What densifying the window would add and cost, or why it cannot."""
    try:
        plan = plan_densify_request(workspace, variant, start, stop, every)
    except (ValidationError, KeyError, ValueError) as exc:
        return str(exc.args[0] if exc.args else exc)
    return (
        f"{len(plan.new_epochs)} new checkpoints; replays {plan.replay_epochs} epochs from "
        f"epoch {plan.replay_from}. {resume_points(workspace, variant).summary}."
    )


def register_densify_callbacks(app, data_dir: str) -> None:
    """Plan preview on input, launch on click (the job starts through the executor)."""
    register_executor(app, data_dir, PREFIX)

    @app.callback(
        Output(f"{PREFIX}-plan", "children"),
        Input(f"{PREFIX}-from", "value"),
        Input(f"{PREFIX}-to", "value"),
        Input(f"{PREFIX}-every", "value"),
        State("explore-variant", "data"),
    )
    def preview(start, stop, every, variant):
        return plan_text(current_workspace(), variant, start, stop, every)

    @app.callback(
        Output(f"{PREFIX}-run", "data"),
        Output(f"{PREFIX}-message", "children"),
        Input(f"{PREFIX}-launch", "n_clicks"),
        State(f"{PREFIX}-from", "value"),
        State(f"{PREFIX}-to", "value"),
        State(f"{PREFIX}-every", "value"),
        State("explore-variant", "data"),
        prevent_initial_call=True,
    )
    def launch(_clicks, start, stop, every, variant):
        try:
            job = launch_densify(current_workspace(), variant, start, stop, every, start_job=False)
        except (ValidationError, JobConflictError, KeyError, ValueError) as exc:
            message = str(exc.args[0] if exc.args else exc)
            return no_update, dbc.Alert(message, color="danger", className="py-1 small")
        text = f"Densify job {job.id} launched; new checkpoints appear here as they land."
        return job.id, dbc.Alert(text, color="success", className="py-1 small")
