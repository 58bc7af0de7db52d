"""Offline figures: notebook output and HTML carry plotly.js inline; .show() in a terminal
writes a file and says where, never silently nothing."""

from __future__ import annotations

import re

import pytest

from miscope_core import load_variant
from miscope_core.views import display

EXTERNAL_SCRIPT = re.compile(r"<script[^>]+src=[\"']?(https?:)?//", re.IGNORECASE)


@pytest.fixture
def variant(variant_copy):
    root, variant_id = variant_copy
    return load_variant(variant_id, data_dir=root)


def assert_offline(html: str) -> None:
    # plotly.js itself mentions cdn.plot.ly (its default topojson URL, used by maps only);
    # what must not be there is a script loaded from the network
    assert not EXTERNAL_SCRIPT.search(html) and 'src="https://cdn.plot.ly' not in html


def test_html_export_embeds_plotlyjs(variant):
    html = variant.view("loss_curves").export("html").read_text()
    assert_offline(html)
    assert "Plotly.newPlot" in html and len(html) > 3_000_000  # the library itself is inline


def test_notebook_bundle_sends_plotlyjs_once_and_never_a_cdn(variant, monkeypatch):
    monkeypatch.setattr(display._KernelState, "plotlyjs_sent", False)
    view = variant.view("loss_curves")
    first, second = view._repr_mimebundle_(), view._repr_mimebundle_()
    for bundle in (first, second):
        assert_offline(bundle["text/html"])
        assert bundle[display.PLOTLY_MIME]["data"]
    assert len(first["text/html"]) > 3_000_000 > len(second["text/html"])
    assert_offline(view._repr_html_())


def test_comparison_view_is_offline_too(variant):
    from miscope_core.comparison import compare

    overlay = compare([variant]).view("loss_curves")
    assert_offline(overlay._repr_html_())
    assert_offline(overlay._repr_mimebundle_()["text/html"])


def test_show_in_a_terminal_writes_html_and_prints_its_path(variant, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    opened = []
    monkeypatch.setattr(display.webbrowser, "open", lambda url: opened.append(url) or True)
    path = variant.view("loss_curves").show()
    assert path is not None and path.exists() and path.suffix == ".html"
    assert str(path) in capsys.readouterr().out
    assert opened == []  # headless Linux: no browser attempt, the path is the way to view it


def test_show_opens_a_browser_when_there_is_a_display(variant, monkeypatch, capsys):
    monkeypatch.setattr(display.sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":0")
    opened = []
    monkeypatch.setattr(display.webbrowser, "open", lambda url: opened.append(url) or True)
    path = variant.view("loss_curves").show()
    assert opened == [path.resolve().as_uri()]
    assert "opened in your browser" in capsys.readouterr().out
