"""The web process stays light; panels, frames, URL parsing and downloads behave."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from services.figures import (
    PanelRequest,
    build_panel,
    format_views_param,
    parse_views_param,
    render_panel_figure,
)

LIGHT_CHECK = """
import sys
from app.server import create_app
app = create_app(sys.argv[1])
client = app.server.test_client()
for path in ("/", "/families", "/train", "/analyze", "/explore", "/jobs", "/_dash-layout"):
    assert client.get(path).status_code == 200, path
heavy = sorted(m for m in ("torch", "transformer_lens", "transformers") if m in sys.modules)
print(heavy)
"""


def test_app_never_imports_torch_or_transformer_lens(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", LIGHT_CHECK, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_views_param_round_trip():
    text = "neurons.activation_grid:neuron=3:layer=0,training.loss_curves,x.y:group=mlp"
    panels = parse_views_param(text)
    assert panels[0] == PanelRequest("neurons.activation_grid", {"neuron": 3, "layer": 0})
    assert panels[2].params == {"group": "mlp"}
    assert format_views_param(panels) == text
    with pytest.raises(ValueError, match="name=value"):
        parse_views_param("training.loss_curves:oops")


def apply(figure, ops):
    for path, value in ops:
        target = figure
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return figure


def test_per_epoch_frames_reproduce_the_figure_at_each_epoch(tiny_variant):
    workspace, paths = tiny_variant
    variant = paths.root.name
    panel = build_panel(workspace, variant, PanelRequest("weights.frequency_spectrum.W_E"))
    frames = panel["frames"]
    assert frames["epochs"] == [0, 10, 20, 30, 40]
    for i, epoch in enumerate(frames["epochs"]):
        moved = apply(
            json.loads(json.dumps(panel["figure"])), frames["patches"][frames["index"][i]]
        )
        drawn = render_panel_figure(
            workspace, variant, PanelRequest("weights.frequency_spectrum.W_E"), epoch
        )
        assert moved["data"] == drawn["data"], epoch


def test_across_epoch_frames_move_only_the_cursor(tiny_variant):
    workspace, paths = tiny_variant
    panel = build_panel(workspace, paths.root.name, PanelRequest("training.loss_curves"))
    ops = panel["frames"]["patches"][2]
    assert [["layout", "shapes", 0, "x0"], 20] in ops
    assert not any(path[0] == "data" for path, _ in ops)


def test_trajectory_cursor_follows_the_epoch(tiny_variant):
    workspace, paths = tiny_variant
    variant = paths.root.name
    panel = build_panel(workspace, variant, PanelRequest("parameters.pca.pc2_pc3"))
    moved = apply(json.loads(json.dumps(panel["figure"])), panel["frames"]["patches"][1])
    drawn = render_panel_figure(workspace, variant, PanelRequest("parameters.pca.pc2_pc3"), 10)
    cursor = [i for i, t in enumerate(drawn["data"]) if t.get("meta") == "epoch_cursor"][0]
    assert moved["data"][cursor]["x"] == pytest.approx(drawn["data"][cursor]["x"], rel=1e-5)


def test_download_route_exports_and_rejects(tiny_variant):
    from app.server import create_app

    workspace, paths = tiny_variant
    client = create_app(workspace.root).server.test_client()
    variant = paths.root.name
    reply = client.get(f"/download/{variant}/training.loss_curves.csv?epoch=10")
    assert reply.status_code == 200 and reply.data.startswith(b"trace,")
    html = client.get(
        f"/download/{variant}/parameters.pca.pc2_pc3.html?params=" + json.dumps({"group": "all"})
    )
    assert html.status_code == 200 and b"plotly" in html.data.lower()
    assert client.get(f"/download/{variant}/training.loss_curves.exe").status_code == 400
    assert client.get("/download/..%2Fetc/training.loss_curves.csv").status_code in (400, 404)
    bad = client.get(f"/download/{variant}/no.such.view.csv")
    assert bad.status_code == 400 and b"Unknown view" in bad.data
    assert len(bad.data) < 400 and b"docs/views.md" in bad.data
    typo = client.get(f"/download/{variant}/trainin.loss_curves.csv").data.decode()
    assert "Did you mean 'training.loss_curves'" in typo and len(typo) < 400
