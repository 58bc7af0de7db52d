"""Panel builds: one build per panel state shared by every caller; the epoch in metadata."""

from __future__ import annotations

import threading
import time

import pytest

from services.figures import PanelRequest, SingleFlightCache, build_panel, figure_at


def test_concurrent_callers_of_one_key_wait_for_one_build():
    cache = SingleFlightCache(4)
    builds, results = [], []
    started = threading.Event()

    def slow_build():
        builds.append(1)
        started.set()
        time.sleep(0.3)
        return {"built": len(builds)}

    def call():
        results.append(cache.get(("v", "view"), slow_build))

    threads = [threading.Thread(target=call) for _ in range(2)]
    threads[0].start()
    started.wait(5)
    threads[1].start()
    for thread in threads:
        thread.join(5)
    assert builds == [1]
    assert results[0] is results[1]
    assert cache.get(("v", "view"), slow_build) is results[0]
    assert builds == [1]


def test_a_failed_build_reaches_every_waiter_and_is_not_cached():
    cache = SingleFlightCache(4)
    release = threading.Event()
    errors = []

    def failing():
        release.wait(5)
        raise ValueError("view 'x' needs neuron")

    def call():
        try:
            cache.get("k", failing)
        except ValueError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    release.set()
    for thread in threads:
        thread.join(5)
    assert errors == ["view 'x' needs neuron"] * 2
    assert cache.get("k", lambda: 7) == 7


def test_cache_keeps_the_newest_entries():
    cache = SingleFlightCache(2)
    for key in "abc":
        cache.get(key, lambda key=key: key)
    assert cache.get("a", lambda: "rebuilt") == "rebuilt"


def test_page_requests_share_one_build_per_variant_state(tiny_variant):
    workspace, paths = tiny_variant
    first = build_panel(workspace, paths.root.name, PanelRequest("training.loss_curves"))
    again = build_panel(workspace, paths.root.name, PanelRequest("training.loss_curves"))
    assert again is first


@pytest.mark.parametrize("view", ["weights.frequency_spectrum.W_E", "training.loss_curves"])
def test_epoch_travels_in_metadata_not_in_the_panel_title(tiny_variant, view):
    from miscope_core.views import render_view

    workspace, paths = tiny_variant
    variant = paths.root.name
    exported = render_view(workspace, variant, view, 20)
    assert exported.layout.meta["epoch"] == 20
    assert "epoch 20" in exported.layout.title.text  # exports keep the full title
    panel = build_panel(workspace, variant, PanelRequest(view))
    shown = figure_at(panel, 20)
    assert shown["layout"]["meta"]["epoch"] == 20
    title = shown["layout"].get("title") or {}  # one title per panel: the card header's
    assert "epoch" not in (title.get("text") or "")
    assert not (title.get("text") or "").startswith(panel["title"])
    assert figure_at(panel, 31)["layout"]["meta"]["epoch"] == 30  # nearest checkpoint
    assert panel["figure"]["layout"]["meta"]["epoch"] == 40  # the shared build is untouched


def test_frames_route_serves_the_builds_frames(tiny_variant):
    import json

    from app.server import create_app

    workspace, paths = tiny_variant
    variant = paths.root.name
    client = create_app(workspace.root).server.test_client()
    reply = client.get(f"/explore-frames/{variant}/training.loss_curves?params=%7B%7D")
    assert reply.status_code == 200
    panel = build_panel(workspace, variant, PanelRequest("training.loss_curves"))
    assert json.loads(reply.data) == json.loads(json.dumps(panel["frames"]))
    missing = client.get(f"/explore-frames/{variant}/no.such_view")
    assert missing.status_code == 404 and b"Unknown view" in missing.data


def test_view_picker_groups_every_view_by_area_and_shows_many_rows(tiny_variant):
    from app.components.panels import PICKER_HEIGHT, view_options
    from services.figures import view_catalog

    workspace, paths = tiny_variant
    catalog = view_catalog(workspace, paths.root.name)
    options = view_options(catalog)
    headings = [o for o in options if o["value"].startswith("__")]
    views = [o for o in options if not o["value"].startswith("__")]
    assert {o["value"] for o in views} == {v["name"] for v in catalog if v["applicable"]}
    assert len(views) >= 60
    area = None
    for option in options:  # every view sits under its own area's heading
        if option in headings:
            area = option["value"][2:]
        else:
            assert option["value"].split(".")[0] == area
    assert len(headings) == len({v["name"].split(".")[0] for v in catalog if v["applicable"]})
    assert PICKER_HEIGHT // 30 >= 16  # rows visible at once (optionHeight 30 px)
