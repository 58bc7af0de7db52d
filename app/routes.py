"""Flask routes beside the Dash pages: panel downloads through the catalog export."""

from __future__ import annotations

import json
import logging

import flask

from miscope_core.workspace import Workspace

DOWNLOAD_FORMATS = ("png", "svg", "html", "csv", "pdf", "gif")
log = logging.getLogger(__name__)


def register_routes(server: flask.Flask, workspace: Workspace) -> None:
    """Add /download/<variant>/<view>.<fmt>?epoch=N&params={json} to the Flask server."""

    @server.route("/download/<variant_id>/<path:filename>")
    def download(variant_id: str, filename: str):
        return download_response(workspace, variant_id, filename, flask.request.args)


def download_response(workspace: Workspace, variant_id: str, filename: str, args) -> flask.Response:
    """Validate the request, export through the catalog, or answer a plain-text error."""
    from services.figures import export_panel

    view, _, fmt = filename.rpartition(".")
    if fmt not in DOWNLOAD_FORMATS:
        return _error(f"Unknown download format {fmt!r}; valid formats: {list(DOWNLOAD_FORMATS)}")
    try:
        epoch = int(args["epoch"]) if args.get("epoch") not in (None, "") else None
        params = json.loads(args.get("params") or "{}")
        if not isinstance(params, dict):
            raise ValueError("params must be a JSON object")
        payload, mime, name = export_panel(workspace, variant_id, view, fmt, epoch, params)
    except (KeyError, ValueError, TypeError, LookupError) as exc:
        return _error(str(exc.args[0]) if exc.args else str(exc))
    except Exception as exc:  # export needs a browser for images; say so instead of a 500 page
        log.exception("download of %s/%s failed", variant_id, filename)
        return _error(f"Export failed: {type(exc).__name__}: {exc}", status=500)
    response = flask.Response(payload, mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _error(message: str, status: int = 400) -> flask.Response:
    return flask.Response(message, status=status, mimetype="text/plain")
