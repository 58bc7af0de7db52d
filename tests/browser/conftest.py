"""Browser tests: headless Chromium through dash_duo (DASH_TEST_CHROMEPATH=/usr/bin/chromium)."""

from __future__ import annotations

import os
import shutil

import pytest
from dash.testing.application_runners import BaseDashRunner
from selenium.webdriver.chrome.options import Options

os.environ.setdefault("DASH_TEST_CHROMEPATH", "/usr/bin/chromium")
# dash_duo serves each app on the next port from 58050 in every process: give each pytest-xdist
# worker (gw0, gw1, ...) its own range, or two workers' servers collide.
BaseDashRunner._next_port = 58050 + 500 * int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:])
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--window-size=1400,1000",
)


def pytest_setup_options():
    """Chrome flags for a closed network and a container."""
    options = Options()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    if os.path.exists(os.environ["DASH_TEST_CHROMEPATH"]):
        options.binary_location = os.environ["DASH_TEST_CHROMEPATH"]
    return options


def pytest_collection_modifyitems(config, items):
    """Every test here is a browser test; skip them all when Chromium is missing."""
    missing = shutil.which("chromedriver") is None or not os.path.exists(
        os.environ["DASH_TEST_CHROMEPATH"]
    )
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(
                    pytest.mark.skip(
                        reason="needs chromium and chromedriver "
                        "(apt-get install chromium chromium-driver)"
                    )
                )


@pytest.fixture
def workspace_copy(request, tmp_path):
    """A private copy of the shared tiny analyzed variant's workspace
    (MISCOPE_TEST_TINY_WORKSPACE may name an already analyzed copy, to skip training)."""
    from pathlib import Path

    prepared = os.environ.get("MISCOPE_TEST_TINY_WORKSPACE")
    if prepared:
        source = Path(prepared)
        variant_id = next(source.glob("results/*/*/variant.json")).parent.name
    else:
        workspace, paths = request.getfixturevalue("tiny_variant")
        source, variant_id = workspace.root, paths.root.name
    target = tmp_path / "ws"
    shutil.copytree(source / "results", target / "results")
    return target, variant_id


@pytest.fixture
def app_on(workspace_copy):
    """(app, variant_id) of a dashboard over the copied workspace."""
    from app.server import create_app

    root, variant_id = workspace_copy
    return create_app(root), variant_id, root
