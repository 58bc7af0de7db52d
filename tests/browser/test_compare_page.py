"""The Compare page: three tiny variants, one slider driving every panel, overlays."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.test_pages import wait_for
from tests.conftest import train_and_analyze

ANALYZERS = ["parameters.snapshot", "parameters.trajectory", "embedding.basis_norms"]


@pytest.fixture(scope="module")
def three_variants(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare_page")
    ids = []
    for seed, epochs in ((0, 20), (1, 20), (2, 30)):
        _, paths = train_and_analyze(
            root, params={"seed": seed}, training={"epochs": epochs}, analyzers=ANALYZERS
        )
        ids.append(paths.root.name)
    return root, ids


def panel_titles(dash_duo) -> list[str]:
    return dash_duo.driver.execute_script(
        "return [...document.querySelectorAll('.compare-panel-title')].map(e => e.textContent);"
    )


def test_slider_moves_every_panel_and_overlay_has_a_trace_per_variant(dash_duo, three_variants):
    from app.server import create_app

    root, ids = three_variants
    dash_duo.start_server(create_app(root))
    dash_duo.wait_for_page(
        f"{dash_duo.server_url}/compare?variants={','.join(ids)}"
        f"&view=embedding.basis_norms&align=epoch&at=10"
    )
    titles = wait_for(lambda: len(panel_titles(dash_duo)) == 3 and panel_titles(dash_duo))
    assert all(t.endswith("epoch 10") for t in titles), titles
    handle = dash_duo.driver.find_element(By.CSS_SELECTOR, "#compare-position [role=slider]")
    handle.click()
    handle.send_keys(Keys.END)
    moved = wait_for(
        lambda: (t := panel_titles(dash_duo)) and t != titles and len(t) == 3 and all(t) and t
    )
    assert sorted(t.rsplit(" ", 1)[-1] for t in moved) == ["20", "20", "30"], moved
    assert "at=30" in dash_duo.driver.current_url

    dash_duo.wait_for_page(
        f"{dash_duo.server_url}/compare?variants={','.join(ids)}"
        f"&view=training.loss_curves&overlay=1"
    )
    dash_duo.wait_for_element(".compare-overlay .js-plotly-plot", timeout=30)
    groups = dash_duo.driver.execute_script(
        "const g = document.querySelector('.compare-overlay .js-plotly-plot');"
        "return [...new Set(g.data.map(t => t.legendgroup))];"
    )
    assert len(groups) == 3
    assert not [e for e in dash_duo.get_logs() or [] if e.get("level") == "SEVERE"]


def test_bad_variant_list_shows_an_error(dash_duo, three_variants):
    from app.server import create_app

    root, _ = three_variants
    dash_duo.start_server(create_app(root))
    dash_duo.wait_for_page(f"{dash_duo.server_url}/compare?variants=../etc,x")
    dash_duo.wait_for_contains_text(".error-alert", "Invalid variant id", timeout=15)
