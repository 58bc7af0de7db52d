"""Every page loads cleanly; Explore scrubs clientside, restores ?epoch= and rejects bad ids."""

from __future__ import annotations

import time

import pytest

from tests.conftest import wait_for

PAGES = ("/", "/families", "/train", "/analyze", "/jobs", "/compare", "/explore")


def severe_logs(dash_duo):
    """Browser console errors (network failures included)."""
    return [entry for entry in dash_duo.get_logs() or [] if entry.get("level") == "SEVERE"]


def panel_state(dash_duo, index: int, what: str):
    """Read a panel's live Plotly figure in the page."""
    return dash_duo.driver.execute_script(
        f"const g = document.querySelectorAll('.panel-graph .js-plotly-plot')[{index}];"
        f"try {{ return g ? {what} : null; }} catch (e) {{ return null; }}"
    )


def pick_views(root, variant_id):
    """One per-epoch view and one across-epochs view available on the fixture variant."""
    from miscope_core.workspace import Workspace
    from services.figures import view_catalog

    catalog = view_catalog(Workspace.open(root), variant_id)
    per_epoch = next(v["name"] for v in catalog if v["available"] and v["kind"] == "per_epoch")
    return per_epoch, "training.loss_curves"


def test_every_page_loads_without_console_errors(dash_duo, app_on):
    app, variant_id, _ = app_on
    dash_duo.start_server(app)
    for path in PAGES:
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_element(".page-header, .explore-toolbar", timeout=15)
        time.sleep(1.0)
        assert severe_logs(dash_duo) == [], path
    dash_duo.driver.get(f"{dash_duo.server_url}/explore?variant={variant_id}")
    dash_duo.wait_for_element(".panel-graph .js-plotly-plot", timeout=30)
    time.sleep(2.0)
    assert severe_logs(dash_duo) == []


def test_bad_variant_id_shows_an_error_not_a_traceback(dash_duo, app_on):
    app, _, _ = app_on
    dash_duo.start_server(app)
    for bad in ("../../etc/passwd", "%2Fetc", "nope_variant"):
        dash_duo.driver.get(f"{dash_duo.server_url}/explore?variant={bad}")
        alert = dash_duo.wait_for_element(".error-alert", timeout=15)
        assert "variant" in alert.text.lower()
        assert "Traceback" not in dash_duo.driver.page_source


def test_slider_swaps_per_epoch_data_and_moves_cursor(dash_duo, app_on):
    app, variant_id, root = app_on
    per_epoch, across = pick_views(root, variant_id)
    dash_duo.start_server(app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/explore?variant={variant_id}&views={per_epoch},{across}&epoch=0"
    )
    dash_duo.wait_for_text_to_equal("#explore-epoch-label", "epoch 0", timeout=20)
    wait_for(
        lambda: panel_state(dash_duo, 1, "g.layout.shapes && g.layout.shapes.length"),
        message="the across-epochs panel",
    )
    wait_for(
        lambda: dash_duo.driver.execute_script("return window.miscopeExplore.loaded >= 2"),
        message="frames of both panels",
    )
    wait_for(
        lambda: panel_state(dash_duo, 0, "g.layout.meta.epoch === 0"), message="the per-epoch panel"
    )
    data0 = panel_state(dash_duo, 0, "JSON.stringify(g.data[0].y || g.data[0].z)")
    assert panel_state(dash_duo, 1, "g.layout.shapes[0].x0") == 0
    dash_duo.driver.execute_script("window.dash_clientside.set_props('explore-slider', {value: 2})")
    dash_duo.wait_for_text_to_equal("#explore-epoch-label", "epoch 20", timeout=10)
    wait_for(
        lambda: panel_state(dash_duo, 0, "JSON.stringify(g.data[0].y || g.data[0].z)") != data0,
        message="per-epoch data to follow the slider",
    )
    wait_for(
        lambda: panel_state(dash_duo, 1, "g.layout.shapes[0].x0") == 20,
        message="across-epochs cursor to move",
    )
    # the address is written once scrubbing pauses
    wait_for(lambda: "epoch=20" in dash_duo.driver.current_url, message="the URL to follow")
    assert severe_logs(dash_duo) == []


def test_url_epoch_and_views_restore_state(dash_duo, app_on):
    app, variant_id, root = app_on
    per_epoch, across = pick_views(root, variant_id)
    dash_duo.start_server(app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/explore?variant={variant_id}&views={across}&epoch=31"
    )
    dash_duo.wait_for_text_to_equal("#explore-epoch-label", "epoch 30", timeout=20)
    wait_for(
        lambda: panel_state(dash_duo, 0, "g.layout.shapes && g.layout.shapes[0].x0") == 30,
        message="cursor restored from ?epoch=",
    )
    assert len(dash_duo.find_elements(".panel-card")) == 1


@pytest.mark.slow
def test_keyboard_and_play_step_the_slider(dash_duo, app_on):
    app, variant_id, _ = app_on
    dash_duo.start_server(app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/explore?variant={variant_id}&views=training.loss_curves&epoch=0"
    )
    dash_duo.wait_for_text_to_equal("#explore-epoch-label", "epoch 0", timeout=20)
    body = dash_duo.find_element("h4")
    body.click()
    from selenium.webdriver.common.keys import Keys

    dash_duo.driver.switch_to.active_element.send_keys(Keys.END)
    dash_duo.wait_for_text_to_equal("#explore-epoch-label", "epoch 40", timeout=10)
    dash_duo.driver.switch_to.active_element.send_keys(Keys.ARROW_LEFT)
    dash_duo.wait_for_text_to_equal("#explore-epoch-label", "epoch 30", timeout=10)
    dash_duo.find_element("#explore-play").click()
    wait_for(
        lambda: dash_duo.find_element("#explore-epoch-label").text != "epoch 30",
        message="play to advance",
    )
