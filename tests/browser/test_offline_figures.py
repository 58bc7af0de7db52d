"""An exported HTML figure renders from file:// in Chromium with the network switched off."""

from __future__ import annotations

from tests.browser.test_pages import wait_for


def test_exported_html_renders_with_no_network(dash_duo, workspace_copy):
    from miscope_core import load_variant

    root, variant_id = workspace_copy
    path = load_variant(variant_id, data_dir=root).view("loss_curves").export("html")
    driver = dash_duo.driver
    driver.set_network_conditions(
        offline=True, latency=0, download_throughput=0, upload_throughput=0
    )
    driver.get(path.resolve().as_uri())
    wait_for(
        lambda: driver.execute_script("return document.querySelectorAll('svg.main-svg').length"),
        timeout=20,
        message="the figure's SVG",
    )
    assert driver.execute_script("return typeof Plotly") == "object"
    traces = driver.execute_script("return document.querySelector('.js-plotly-plot').data.length")
    assert traces >= 2
