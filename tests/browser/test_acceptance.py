"""What a user sees on every page, with a screenshot each: the items of issue 17 that only a
browser shows (default family, live epoch, short errors, GIF export progress and cancel)."""

from __future__ import annotations

import json

from tests.browser.test_pages import severe_logs, wait_for

PAGES = {  # path -> text the page must show
    "/": "Recent variants",
    "/families": "epochs",
    "/train": "Train a variant",
    "/analyze": "Analyze",
    "/compare": "Compare",
    "/jobs": "Jobs",
}


def assert_screenshot(dash_duo, path) -> None:
    """Save a screenshot and check it shows something (not one flat colour)."""
    from PIL import Image

    assert dash_duo.driver.save_screenshot(str(path)), path
    image = Image.open(path).convert("L")
    low, high = image.getextrema()
    assert high - low > 100, f"{path.name} looks blank"
    assert len(set(image.resize((200, 150)).getdata())) > 20, f"{path.name} looks blank"


def fake_training_progress(root, variant_id, done: int, total: int) -> None:
    """variant.json as a training job leaves it mid-run (the trainer records progress)."""
    record_path = next(root.glob(f"results/*/{variant_id}/variant.json"))
    record = json.loads(record_path.read_text())
    record.update(status="training", epochs_completed=done)
    record["training"]["epochs"] = total
    record_path.write_text(json.dumps(record))


def page_text(dash_duo) -> str:
    return dash_duo.driver.find_element("tag name", "body").text


def test_every_page_renders_and_shows_the_fixed_items(dash_duo, app_on, tmp_path):
    app, variant_id, root = app_on
    fake_training_progress(root, variant_id, 20, 400)
    dash_duo.start_server(app)
    for path, expected in PAGES.items():
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_element(".page-header", timeout=15)
        wait_for(lambda e=expected: e in page_text(dash_duo), timeout=15, message=expected)
        assert_screenshot(dash_duo, tmp_path / f"{path.strip('/') or 'home'}.png")
        assert severe_logs(dash_duo) == [], path
        if path == "/families":  # the epoch reached while the job trains, not 0/400
            assert "20/400 epochs" in page_text(dash_duo)
        if path == "/":  # the Overview's recent variants show it too
            assert "20/400" in page_text(dash_duo)
        if path == "/compare":  # long cells wrap instead of pushing columns off screen
            wrap = dash_duo.driver.execute_script(
                "const c = document.querySelector('#compare-table td.dash-cell');"
                "return c && getComputedStyle(c).whiteSpace"
            )
            assert wrap == "normal", wrap
        if path == "/train":  # opens on the calibration family
            chosen = dash_duo.driver.find_element("css selector", "#train-family").text
            assert "odul" in chosen, chosen  # "Modular addition" / "modulo_addition"


def test_explore_gif_export_shows_progress_and_cancels(dash_duo, app_on, tmp_path):
    app, variant_id, _ = app_on
    dash_duo.start_server(app)
    dash_duo.driver.get(
        f"{dash_duo.server_url}/explore?variant={variant_id}&views=training.loss_curves"
    )
    dash_duo.wait_for_element(".panel-graph .js-plotly-plot", timeout=30)
    assert_screenshot(dash_duo, tmp_path / "explore.png")
    header = dash_duo.find_element(".panel-title").text
    titles = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.panel-graph .gtitle')].map(e => e.textContent)"
    )
    assert header and all(header not in t for t in titles), (header, titles)  # one title
    dash_duo.driver.execute_script(
        "const a = [...document.querySelectorAll('a.download-link')]"
        ".find(a => a.href.includes('.gif')); a.click();"
    )
    box = dash_duo.wait_for_element("#export-job-box", timeout=10)
    wait_for(
        lambda: box.get_attribute("data-state") in ("running", "done"),
        timeout=30,
        message="the export job to run",
    )
    assert "Export training.loss_curves" in box.text
    assert_screenshot(dash_duo, tmp_path / "explore_gif_progress.png")
    if box.get_attribute("data-state") == "running":
        box.find_element("css selector", ".export-job-action").click()  # Cancel
        wait_for(
            lambda: box.get_attribute("data-state") in ("cancelled", "done"),
            timeout=30,
            message="cancel to take effect",
        )


def test_misspelled_view_on_the_download_route_is_short(dash_duo, app_on, tmp_path):
    app, variant_id, _ = app_on
    dash_duo.start_server(app)
    dash_duo.driver.get(f"{dash_duo.server_url}/download/{variant_id}/trainin.loss_curves.png")
    text = wait_for(lambda: page_text(dash_duo), message="the error text")
    assert "Did you mean 'training.loss_curves'" in text and "docs/views.md" in text
    assert len(text) < 400
    assert_screenshot(dash_duo, tmp_path / "download_error.png")
