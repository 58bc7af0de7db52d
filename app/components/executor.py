"""Running a job record from a page: a Dash background callback (DiskcacheManager).

The background process starts the job in its own session and waits for it. Dash kills a
background callback's process when the page re-triggers it or a newer run replaces it; the job
itself survives that, reports through its durable record, and stops only on a cooperative
cancel (the record's status), so a reload, a second tab or a new launch never loses work.
"""

from __future__ import annotations

from dash import Input, Output, dcc, html


def executor_stores(prefix: str) -> html.Div:
    """The stores a page writes a job id into (run) and the executor reports back on (done)."""
    return html.Div([dcc.Store(id=f"{prefix}-run"), dcc.Store(id=f"{prefix}-ran")])


def register_executor(app, data_dir: str, prefix: str) -> None:
    """Background callback: run the job(s) whose id (or list of ids) lands in `<prefix>-run`."""

    @app.callback(Output(f"{prefix}-ran", "data"), Input(f"{prefix}-run", "data"),
                  background=True, prevent_initial_call=True)
    def execute(job_ids):
        from services.runner import spawn_job

        ids = [job_ids] if isinstance(job_ids, str) else list(job_ids or [])
        processes = {job_id: spawn_job(job_id, data_dir) for job_id in ids}
        return {job_id: process.wait() for job_id, process in processes.items()}
