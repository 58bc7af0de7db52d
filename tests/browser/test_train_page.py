"""Launching training from the Train page: a tiny run reaches done; cancel stops a long one."""

from __future__ import annotations

import time

import pytest
from selenium.common.exceptions import StaleElementReferenceException

from services.jobs import JobStore
from services.registry import list_checkpoint_epochs
from tests.browser.test_pages import severe_logs


def fill(dash_duo, kind: str, name: str, value) -> None:
    """Type into a generated form field."""
    element = dash_duo.find_element(f'[id*=\'"name":"{name}"\'][id*=\'"{kind}"\']')
    element.clear()
    element.send_keys(str(value))


def click(dash_duo, selector: str) -> None:
    """Scroll an element into view and click it."""
    element = dash_duo.find_element(selector)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    dash_duo.driver.execute_script("arguments[0].click();", element)


def launch_tiny(dash_duo, epochs: int, schedule: str) -> None:
    dash_duo.driver.get(f"{dash_duo.server_url}/train?family=modulo_addition&preset=tiny")
    dash_duo.wait_for_element("#train-launch", timeout=15)
    fill(dash_duo, "train-param", "prime", 13)
    fill(dash_duo, "train-setting", "epochs", epochs)
    fill(dash_duo, "train-setting", "checkpoints", schedule)
    click(dash_duo, "#train-analyze-after")  # training only: keep it short
    dash_duo.wait_for_contains_text("#train-validation", f"{epochs} epochs", timeout=10)
    click(dash_duo, "#train-launch")
    dash_duo.wait_for_element("#train-job-id", timeout=20)


def current_text(dash_duo, selector: str, tries: int = 20) -> str:
    """An element's text, re-finding it when the every-second re-render replaced it."""
    for _ in range(tries - 1):
        try:
            return dash_duo.find_element(selector).text
        except StaleElementReferenceException:
            time.sleep(0.1)
    return dash_duo.find_element(selector).text


def wait_status(dash_duo, status: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            badges = dash_duo.find_elements("#train-progress .job-status")
            if badges and badges[0].text == status:
                return
        except StaleElementReferenceException:  # the card re-renders every second
            pass
        time.sleep(0.5)
    raise AssertionError(
        f"job did not reach {status}; page shows: {current_text(dash_duo, '#train-progress')[:400]}"
    )


@pytest.mark.slow
def test_tiny_training_from_the_page_reaches_done(dash_duo, tmp_path):
    from app.server import create_app

    dash_duo.start_server(create_app(tmp_path))
    launch_tiny(dash_duo, 20, "every:10")
    wait_status(dash_duo, "done", timeout=150)
    job = JobStore(tmp_path / "jobs.sqlite").get(current_text(dash_duo, "#train-job-id"))
    assert job.status == "done" and job.progress == 1.0
    paths = tmp_path / "results" / "modulo_addition" / job.variant_id
    from miscope_core.variants import VariantPaths

    assert list_checkpoint_epochs(VariantPaths(paths)) == [0, 10, 20]
    assert severe_logs(dash_duo) == []


@pytest.mark.slow
def test_cancel_from_the_page_stops_the_run(dash_duo, tmp_path):
    from app.server import create_app

    dash_duo.start_server(create_app(tmp_path))
    launch_tiny(dash_duo, 20000, "every:200")
    wait_status(dash_duo, "running", timeout=120)
    time.sleep(2)
    click(dash_duo, "#train-cancel")
    wait_status(dash_duo, "cancelled", timeout=60)
    job = JobStore(tmp_path / "jobs.sqlite").get(current_text(dash_duo, "#train-job-id"))
    assert job.status == "cancelled" and "resumable" in job.message
