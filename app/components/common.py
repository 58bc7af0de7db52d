"""Small shared pieces: headers, badges, error alerts, job tables."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from services.registry import CorruptFileError

log = logging.getLogger(__name__)

STATE_COLORS = {
    "untrained": "secondary",
    "training": "primary",
    "trained": "info",
    "analyzing": "primary",
    "analyzed": "success",
    "partial": "light",
    "stale": "warning",
    "damaged": "danger",
}
JOB_COLORS = {
    "queued": "secondary",
    "running": "primary",
    "cancelling": "warning",
    "cancelled": "dark",
    "done": "success",
    "failed": "danger",
    "interrupted": "warning",
}


def page_header(title: str, subtitle: str = "") -> html.Div:
    """The heading of a page."""
    return html.Div(
        [
            html.H2(title, className="mb-1"),
            html.P(subtitle, className="text-muted mb-3") if subtitle else None,
        ],
        className="page-header",
    )


def state_badge(state: str) -> dbc.Badge:
    """A coloured badge for a variant state."""
    color = STATE_COLORS.get(state, "secondary")
    return dbc.Badge(
        state,
        color=color,
        text_color="dark" if color == "light" else None,
        className="me-1 border" if color == "light" else "me-1",
    )


def job_badge(status: str, text: str | None = None) -> dbc.Badge:
    """A coloured badge for a job status (text: e.g. 'queued, 2nd in line')."""
    return dbc.Badge(
        text or status, color=JOB_COLORS.get(status, "secondary"), className="job-status"
    )


def error_alert(message: str, title: str = "Cannot show this page") -> dbc.Alert:
    """A readable error (never a traceback)."""
    return dbc.Alert(
        [html.H5(title, className="alert-heading"), html.P(message, className="mb-0")],
        color="danger",
        className="error-alert",
    )


def contained_layout(layout: Callable[..., Any], page: str) -> Callable[..., Any]:
    """`layout` that shows an error alert instead of failing (a damaged file in one variant
    must not take a page down); the alert names the file, the log keeps the traceback."""

    @functools.wraps(layout)
    def safe_layout(*args, **kwargs):
        try:
            return layout(*args, **kwargs)
        except CorruptFileError as exc:
            log.warning("%s page: %s", page, exc)
            return error_alert(str(exc), "A file of this variant is damaged")
        except Exception as exc:  # the page stays up; the traceback goes to the log
            log.exception("%s page failed", page)
            return error_alert(f"{type(exc).__name__}: {exc}", f"Cannot show the {page} page")

    return safe_layout


def format_duration(seconds: float | None) -> str:
    """'1 h 02 min', '3 min 05 s', '12 s' or '—'."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def format_time(timestamp: float | None) -> str:
    """Local HH:MM:SS (with date when not today)."""
    if not timestamp:
        return "—"
    moment = dt.datetime.fromtimestamp(timestamp)
    if moment.date() == dt.date.today():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M")


def progress_bar(job) -> dbc.Progress:
    """A job's progress as a bar labelled with its percentage."""
    value = round(100 * (job.progress or 0))
    animated = job.status in ("running", "cancelling")
    return dbc.Progress(
        value=value,
        label=f"{value}%",
        striped=animated,
        animated=animated,
        color=JOB_COLORS.get(job.status, "primary"),
        style={"height": "18px"},
    )


def jobs_table(jobs, actions: bool = True, id_prefix: str = "jobs") -> html.Div:
    """A table of job records with progress, duration and (optionally) cancel/resume buttons."""
    if not jobs:
        return html.P("No jobs yet.", className="text-muted")
    header = html.Thead(
        html.Tr(
            [
                html.Th(h)
                for h in (
                    "job",
                    "kind",
                    "variant",
                    "status",
                    "progress",
                    "message",
                    "started",
                    "duration",
                    *([""] if actions else []),
                )
            ]
        )
    )
    rows = [
        html.Tr(
            [
                html.Td(html.Code(job.id)),
                html.Td(job.kind),
                html.Td(html.A(job.variant_id, href=f"/explore?variant={job.variant_id}")),
                html.Td(job_badge(job.status, job.status_text)),
                html.Td(progress_bar(job), style={"minWidth": "120px"}),
                html.Td(
                    html.Small(job.error.splitlines()[0] if job.error else job.message),
                    className="job-message",
                ),
                html.Td(format_time(job.started)),
                html.Td(format_duration(job.duration_s)),
                *([html.Td(job_actions(job, id_prefix))] if actions else []),
            ]
        )
        for job in jobs
    ]
    return dbc.Table(
        [header, html.Tbody(rows)],
        hover=True,
        size="sm",
        responsive=True,
        className="jobs-table align-middle",
    )


def job_actions(job, id_prefix: str) -> html.Div:
    """Cancel (active jobs) or resume (interrupted/cancelled/failed jobs) buttons."""
    buttons = []
    if job.active and job.status != "cancelling":
        buttons.append(
            dbc.Button(
                "Cancel",
                size="sm",
                color="outline-danger",
                id={"type": f"{id_prefix}-cancel", "job": job.id},
            )
        )
    if job.resumable:
        buttons.append(
            dbc.Button(
                "Resume",
                size="sm",
                color="outline-primary",
                id={"type": f"{id_prefix}-resume", "job": job.id},
            )
        )
    return html.Div(buttons, className="d-flex gap-1")
