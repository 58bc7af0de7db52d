"""Jobs: every job with status, progress, duration, log tail; cancel and resume."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from app.components.common import jobs_table, page_header
from app.components.executor import executor_stores, register_executor
from app.context import current_workspace
from services.jobs import JobConflictError, JobStateError
from services.launch import cancel_job, list_jobs, resume_job
from services.slots import job_slots, job_threads


def layout(job: str | None = None, **_query):
    """The job table (refreshed every 1.5 s) and the log of one job."""
    return html.Div(
        [
            page_header(
                "Jobs",
                "Training and analysis runs from any tab, the CLI or a previous "
                "server. Interrupted jobs resume where they stopped.",
            ),
            html.P(_queue_note(), className="small text-muted", id="jobs-queue-note"),
            html.Div(id="jobs-feedback"),
            dbc.Card([dbc.CardHeader("All jobs"), dbc.CardBody(id="jobs-table")], className="mb-3"),
            dbc.Card(
                [
                    dbc.CardHeader(
                        html.Div(
                            [
                                html.Span("Log of", className="me-2 text-nowrap"),
                                dcc.Dropdown(
                                    id="jobs-log-select",
                                    value=job,
                                    clearable=False,
                                    style={"flex": "1"},
                                ),
                            ],
                            className="d-flex align-items-center",
                        )
                    ),
                    dbc.CardBody(html.Pre(id="jobs-log", className="log-tail mb-0")),
                ]
            ),
            executor_stores("jobs-exec"),
            dcc.Interval(id="jobs-tick", interval=1500),
        ]
    )


def register_callbacks(app, data_dir: str) -> None:
    """Refresh, cancel, resume, log."""
    register_executor(app, data_dir, "jobs-exec")

    @app.callback(
        Output("jobs-table", "children"),
        Output("jobs-log-select", "options"),
        Output("jobs-log", "children"),
        Output("jobs-log-select", "value"),
        Input("jobs-tick", "n_intervals"),
        Input("jobs-log-select", "value"),
        Input("jobs-feedback", "children"),
    )
    def refresh(_tick, selected, _feedback):
        jobs = list_jobs(current_workspace(), limit=100)
        options = [{"label": f"{j.id} · {j.kind} · {j.variant_id}", "value": j.id} for j in jobs]
        chosen = next((j for j in jobs if j.id == selected), jobs[0] if jobs else None)
        log = "" if chosen is None else chosen.log + (f"\n\n{chosen.error}" if chosen.error else "")
        return jobs_table(jobs), options, log, chosen.id if chosen else None

    @app.callback(
        Output("jobs-feedback", "children"),
        Output("jobs-exec-run", "data"),
        Input({"type": "jobs-cancel", "job": ALL}, "n_clicks"),
        Input({"type": "jobs-resume", "job": ALL}, "n_clicks"),
        State("jobs-exec-run", "data"),
        prevent_initial_call=True,
    )
    def act(_cancels, _resumes, running):
        trigger = ctx.triggered_id
        if not trigger or not any(t["value"] for t in ctx.triggered):
            return no_update, no_update
        workspace = current_workspace()
        try:
            if trigger["type"] == "jobs-cancel":
                job = cancel_job(workspace, trigger["job"])
                return _note(f"Cancel requested for {job.id} ({job.status})."), no_update
            job = resume_job(workspace, trigger["job"], start=False)
        except (JobStateError, JobConflictError, KeyError) as exc:
            return _note(str(exc.args[0] if exc.args else exc), "danger"), no_update
        return _note(f"Resuming {job.id}."), [job.id]


def _queue_note() -> str:
    try:
        slots, threads = job_slots(), job_threads()
    except ValueError as exc:  # a bad MISCOPE_JOB_SLOTS / MISCOPE_THREADS: say so, stay up
        return str(exc)
    return (
        f"Up to {slots} job(s) compute at once, {threads} thread(s) each; the others wait "
        f"in line (MISCOPE_JOB_SLOTS, MISCOPE_THREADS)."
    )


def _note(text: str, color: str = "info") -> dbc.Alert:
    return dbc.Alert(text, color=color, className="py-2 small", dismissable=True)
