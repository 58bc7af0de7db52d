"""Flask routes beside the Dash pages: panel downloads through the catalog export, and export
jobs (a GIF with progress and cancel) through one bounded queue per server."""

from __future__ import annotations

import json
import logging

import flask

from services.export_jobs import IMAGE_FORMATS, ExportBusy, ExportQueue, start_panel_export
from services.workspace import Workspace

DOWNLOAD_FORMATS = ("png", "svg", "html", "csv", "pdf", "gif")
BAD_REQUEST = (KeyError, ValueError, TypeError, LookupError)
RETRY_AFTER_S = 30
log = logging.getLogger(__name__)


def register_routes(server: flask.Flask, workspace: Workspace) -> ExportQueue:
    """Add /download/<variant>/<view>.<fmt>?epoch=N&params={json} and /export-jobs/...;
    returns the server's export queue."""
    queue = ExportQueue()
    server.extensions["miscope_export_queue"] = queue

    @server.route("/download/<variant_id>/<path:filename>")
    def download(variant_id: str, filename: str):
        return download_response(workspace, variant_id, filename, flask.request.args, queue)

    @server.route("/export-jobs/<variant_id>/<path:filename>", methods=["POST"])
    def start_export(variant_id: str, filename: str):
        return start_export_response(workspace, variant_id, filename, flask.request.args, queue)

    @server.route("/export-jobs/<job_id>")
    def export_status(job_id: str):
        return _job_reply(queue, job_id, lambda job: job)

    @server.route("/export-jobs/<job_id>/cancel", methods=["POST"])
    def cancel_export(job_id: str):
        return _job_reply(queue, job_id, lambda job: queue.cancel(job.id))

    @server.route("/export-jobs/<job_id>/file")
    def export_file(job_id: str):
        try:
            job = queue.get(job_id)
        except KeyError as exc:
            return _error(exc.args[0], status=404)
        if job.state != "done" or job.payload is None:
            return _error(f"Export {job_id} is {job.state}: {job.message}", status=409)
        return _attachment(job.payload, job.mime, job.filename)

    return queue


def parse_request(filename: str, args) -> tuple[str, str, int | None, dict]:
    """(view, format, epoch, params) of a download URL; ValueError names what is wrong."""
    view, _, fmt = filename.rpartition(".")
    if fmt not in DOWNLOAD_FORMATS:
        raise ValueError(
            f"Unknown download format {fmt!r}; valid formats: {list(DOWNLOAD_FORMATS)}"
        )
    epoch = int(args["epoch"]) if args.get("epoch") not in (None, "") else None
    params = json.loads(args.get("params") or "{}")
    if not isinstance(params, dict):
        raise ValueError("params must be a JSON object")
    return view, fmt, epoch, params


def download_response(
    workspace: Workspace, variant_id: str, filename: str, args, queue: ExportQueue | None = None
) -> flask.Response:
    """Validate the request, export through the catalog (images through the queue), or answer
    a short plain-text error."""
    from services.figures import export_panel

    try:
        view, fmt, epoch, params = parse_request(filename, args)
        if fmt in IMAGE_FORMATS and queue is not None:
            with queue.slot():
                payload, mime, name = export_panel(workspace, variant_id, view, fmt, epoch, params)
        else:
            payload, mime, name = export_panel(workspace, variant_id, view, fmt, epoch, params)
    except ExportBusy as exc:
        return _busy(exc)
    except BAD_REQUEST as exc:
        return _error(str(exc.args[0]) if exc.args else str(exc))
    except Exception as exc:  # export needs a browser for images; say so instead of a 500 page
        log.exception("download of %s/%s failed", variant_id, filename)
        return _error(f"Export failed: {type(exc).__name__}: {exc}", status=500)
    return _attachment(payload, mime, name)


def start_export_response(
    workspace: Workspace, variant_id: str, filename: str, args, queue: ExportQueue
) -> flask.Response:
    """Start an image export job; 202 with its status, 400 for a bad request, 503 when busy."""
    try:
        view, fmt, epoch, params = parse_request(filename, args)
        job = start_panel_export(queue, workspace, variant_id, view, fmt, epoch, params)
    except ExportBusy as exc:
        return _busy(exc)
    except BAD_REQUEST as exc:
        return _error(str(exc.args[0]) if exc.args else str(exc))
    return flask.jsonify(job.status()), 202


def _job_reply(queue: ExportQueue, job_id: str, action) -> flask.Response:
    try:
        return flask.jsonify(action(queue.get(job_id)).status())
    except KeyError as exc:
        return _error(exc.args[0], status=404)


def _attachment(payload: bytes, mime: str, name: str) -> flask.Response:
    response = flask.Response(payload, mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _busy(exc: ExportBusy) -> flask.Response:
    response = _error(str(exc), status=503)
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def _error(message: str, status: int = 400) -> flask.Response:
    return flask.Response(message, status=status, mimetype="text/plain")
