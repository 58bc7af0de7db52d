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
    assert "epoch" not in shown["layout"]["title"]["text"]
    assert figure_at(panel, 31)["layout"]["meta"]["epoch"] == 30  # nearest checkpoint
    assert panel["figure"]["layout"]["meta"]["epoch"] == 40  # the shared build is untouched
