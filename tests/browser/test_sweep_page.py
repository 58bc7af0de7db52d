"""A 2x2 grid x 4 seeds sweep launched from the Train page runs, and Compare shows its
sweep table and ensemble."""

from __future__ import annotations

import shutil
import time

import pytest

from services.jobs import JobStore
from tests.browser.test_pages import severe_logs
from tests.browser.test_train_page import click, current_text, fill


def wait_text(dash_duo, selector: str, text: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if text in current_text(dash_duo, selector):
                return
        except Exception:  # not rendered yet
            pass
        time.sleep(0.5)
    raise AssertionError(
        f"{selector} never showed {text!r}; page: {dash_duo.driver.page_source[-800:]}"
    )


@pytest.mark.slow
def test_sweep_from_the_train_page_runs_and_renders_on_compare(dash_duo, tiny_sweep, tmp_path):
    from app.server import create_app

    workspace, spec = tiny_sweep
    root = tmp_path / "ws"
    shutil.copytree(workspace.root / "results", root / "results")
    missing = spec.variant_specs()[-1].variant_id  # the page's sweep must train this one
    shutil.rmtree(root / "results" / "modulo_addition" / missing)

    dash_duo.start_server(create_app(root))
    dash_duo.driver.get(f"{dash_duo.server_url}/train?family=modulo_addition&preset=tiny")
    dash_duo.wait_for_element("#sweep-grid", timeout=15)
    fill(dash_duo, "train-setting", "epochs", 20)
    fill(dash_duo, "train-setting", "checkpoints", "0,10,20")
    click(dash_duo, "#train-analyze-after")  # training only: keep it short
    dash_duo.find_element("#sweep-grid").send_keys("prime=7,11\ntrain_fraction=0.5,0.7")
    dash_duo.find_element("#sweep-seeds").send_keys("0-3")
    wait_text(dash_duo, "#sweep-plan", "16 variants", timeout=15)
    assert "estimated" in current_text(dash_duo, "#sweep-plan")
    click(dash_duo, "#sweep-launch")
    wait_text(dash_duo, "#sweep-counts", "16 done", timeout=240)

    jobs = JobStore(root / "jobs.sqlite").list()
    assert [(j.variant_id, j.status) for j in jobs] == [(missing, "done")]
    sweep_id = current_text(dash_duo, "#sweep-id")

    dash_duo.driver.get(f"{dash_duo.server_url}/compare?sweep={sweep_id}")
    dash_duo.wait_for_element("#sweep-table", timeout=20)
    rows = dash_duo.find_elements("#sweep-table tbody tr")
    assert len(rows) >= 17  # header + 16 variants (one page)
    assert "no grokking" in current_text(dash_duo, "#sweep-table")
    dash_duo.wait_for_element("#ensemble-graph .js-plotly-plot .main-svg", timeout=60)
    bands = dash_duo.driver.execute_script(
        "return document.querySelector('#ensemble-graph .js-plotly-plot').data"
        ".filter(t => t.fill === 'toself').length"
    )
    assert bands == 8  # 4 grid cells x (train, test)
    assert severe_logs(dash_duo) == []
