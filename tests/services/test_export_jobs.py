"""The export queue: image exports are bounded (busy beyond the bound), GIF export jobs report
progress, can be cancelled between frames, and serve their file when done."""

from __future__ import annotations

import threading
import time

import pytest

from miscope_core.views.export import ExportCancelled
from services.export_jobs import ExportBusy, ExportQueue


def wait_state(job, states, timeout=10.0):
    deadline = time.time() + timeout
    while job.state not in states and time.time() < deadline:
        time.sleep(0.02)
    return job.state


def slow_work(frames: int, gate: threading.Event | None = None):
    def work(on_frame):
        for done in range(1, 2 * frames + 1):
            if gate is not None:
                gate.wait(5)
            time.sleep(0.01)
            on_frame(done, 2 * frames)
        return b"GIF89a", "image/gif", "x.gif"

    return work


def test_job_reports_progress_and_serves_the_file():
    queue = ExportQueue(slots=1, max_waiting=0)
    job = queue.submit("v.gif", slow_work(3))
    assert wait_state(job, ("done",)) == "done"
    status = job.status()
    assert status["fraction"] == 1.0 and status["message"] == "x.gif ready"
    assert job.payload == b"GIF89a" and queue.get(job.id) is job


def test_cancel_stops_between_frames_and_frees_the_slot():
    queue = ExportQueue(slots=1, max_waiting=0)
    gate = threading.Event()
    job = queue.submit("v.gif", slow_work(50, gate))
    with pytest.raises(ExportBusy, match="try again"):
        queue.submit("w.gif", slow_work(1))
    queue.cancel(job.id)
    gate.set()
    assert wait_state(job, ("cancelled",)) == "cancelled"
    assert job.done < job.total
    again = queue.submit("w.gif", slow_work(1))  # the slot was released
    assert wait_state(again, ("done",)) == "done"


def test_synchronous_exports_wait_for_a_slot_then_refuse_beyond_the_bound():
    queue = ExportQueue(slots=1, max_waiting=1)
    inside, release = threading.Event(), threading.Event()
    order = []

    def hold():
        with queue.slot():
            inside.set()
            release.wait(5)
            order.append("first")

    def wait_then_run():
        with queue.slot():
            order.append("second")

    first, second = threading.Thread(target=hold), threading.Thread(target=wait_then_run)
    first.start()
    inside.wait(5)
    second.start()
    time.sleep(0.1)
    with pytest.raises(ExportBusy, match=r"running or waiting \(the limit is 2\)"):
        with queue.slot():
            pass
    release.set()
    first.join(5)
    second.join(5)
    assert order == ["first", "second"]


def test_failed_work_is_reported_not_raised():
    def broken(on_frame):
        raise ValueError("View 'x' needs neuron")

    job = ExportQueue().submit("x.gif", broken)
    assert wait_state(job, ("failed",)) == "failed"
    assert "needs neuron" in job.message


def test_cancelled_error_is_an_export_error():
    from miscope_core.views.export import ExportError

    assert issubclass(ExportCancelled, ExportError)


def test_gif_export_job_through_the_routes(tiny_variant):
    from app.server import create_app
    from miscope_core.views.export import find_chromium

    if find_chromium() is None:
        pytest.skip("Chromium not installed: Kaleido renders the GIF frames with it")
    workspace, paths = tiny_variant
    client = create_app(workspace.root).server.test_client()
    variant = paths.root.name
    typo = client.post(f"/export-jobs/{variant}/trainin.loss_curves.gif")
    assert typo.status_code == 400 and "Did you mean" in typo.text and len(typo.text) < 400
    started = client.post(f"/export-jobs/{variant}/training.loss_curves.gif")
    assert started.status_code == 202, started.text
    job_id = started.json["id"]
    deadline, status = time.time() + 120, started.json
    seen_progress = set()
    while status["state"] not in ("done", "failed") and time.time() < deadline:
        time.sleep(0.2)
        status = client.get(f"/export-jobs/{job_id}").json
        seen_progress.add(status["done"])
    assert status["state"] == "done", status
    assert len(seen_progress) > 1  # progress moved while it ran
    reply = client.get(f"/export-jobs/{job_id}/file")
    assert reply.data.startswith(b"GIF8")
    assert ".gif" in reply.headers["Content-Disposition"]
    assert client.get("/export-jobs/nope").status_code == 404
