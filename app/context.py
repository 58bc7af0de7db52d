"""The workspace a request works on (set per app by app.server.create_app)."""

from __future__ import annotations

import flask

from services.workspace import Workspace

CONFIG_KEY = "MISCOPE_DATA_DIR"


def current_workspace() -> Workspace:
    """The app's workspace (inside a request or callback)."""
    return Workspace.open(flask.current_app.config[CONFIG_KEY])
