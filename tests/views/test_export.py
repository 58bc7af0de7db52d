"""Exports: file headers for png/svg/pdf/html, GIF frame counts, canonical names, batch CLI."""

from __future__ import annotations

import pytest

from miscope_core import load_variant
from miscope_core.views.export import (
    ExportError,
    browser_session,
    canonical_export_name,
    check_image_export,
    find_chromium,
)
from miscope_core.views.frames import fix_axis_ranges

needs_chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="Chromium not installed (apt-get install -y chromium); Kaleido needs it for images",
)

HEADERS = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF", "gif": b"GIF8"}


@pytest.fixture
def variant(variant_copy):
    root, variant_id = variant_copy
    return load_variant(variant_id, data_dir=root)


def test_canonical_names_carry_variant_view_epoch_and_params():
    name = canonical_export_name("p59", "parameters.pca.pc2_pc3", "png", 3000, {"group": "mlp"})
    assert name == "p59__parameters.pca.pc2_pc3__e3000__group-mlp.png"
    assert canonical_export_name("p59", "v", "gif", None, {}, [0, 10, 20]) == "p59__v__e0-20x3.gif"


def test_html_export_needs_no_browser(variant):
    path = variant.view("loss_curves").export("html")
    assert path.parent == variant.source.workspace.exports / variant.id
    assert path.name == f"{variant.id}__training.loss_curves__e40.html"
    text = path.read_text()
    assert text.lstrip().lower().startswith(("<html", "<!doctype html")) and "Plotly" in text


def test_missing_browser_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    with pytest.raises(ExportError, match="Cannot export PNG: no Chromium found"):
        check_image_export("png")


def test_unknown_format_lists_the_valid_ones(variant):
    with pytest.raises(ValueError, match="valid formats"):
        variant.view("loss_curves").export("jpeg")


def test_gif_frames_share_axis_ranges(tiny_source):
    from miscope_core.views import render_for_source

    frames = fix_axis_ranges(
        [render_for_source(tiny_source, "parameters.velocity", e) for e in (0, 40)]
    )
    assert frames[0].layout.yaxis.range is not None
    assert frames[0].layout.yaxis.range == frames[1].layout.yaxis.range
    assert frames[0].layout.xaxis.range == frames[1].layout.xaxis.range


@needs_chromium
@pytest.mark.slow
def test_static_exports_have_valid_headers(variant, tmp_path):
    with browser_session():
        png = variant.at(20).view("parameter_trajectory").export("png")
        svg = variant.view("fourier_norms").export("svg", path=tmp_path)
        pdf = variant.view("loss_curves").export("pdf", path=tmp_path / "loss.pdf")
    assert png.read_bytes().startswith(HEADERS["png"])
    assert png.name == f"{variant.id}__parameters.pca.pc2_pc3__e20.png"
    assert b"<svg" in svg.read_bytes()[:400] and svg.parent == tmp_path
    assert pdf.read_bytes().startswith(HEADERS["pdf"])


@needs_chromium
@pytest.mark.slow
def test_gif_has_one_frame_per_selected_checkpoint(variant):
    from PIL import Image

    path = variant.view("fourier_norms").export("gif", epochs=[0, 20, 40])
    assert path.read_bytes().startswith(HEADERS["gif"])
    with Image.open(path) as image:
        assert image.n_frames == 3
    every = variant.view("parameter_trajectory").export("gif")
    with Image.open(every) as image:
        assert image.n_frames == len(variant.epochs)


@needs_chromium
@pytest.mark.slow
def test_export_command_batches_views(variant_copy, tmp_path, capsys):
    from app.cli.export_command import main

    root, variant_id = variant_copy
    out = tmp_path / "figures"
    code = main(
        [
            "export",
            variant_id,
            "--data-dir",
            str(root),
            "--format",
            "svg",
            "--views",
            "loss",
            "fourier_norms",
            "velocity",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 3 and all(f.endswith(".svg") for f in files)
    assert "3 of 3 views exported" in capsys.readouterr().err


def test_export_command_rejects_unknown_views(variant_copy, capsys):
    from app.cli.export_command import main

    root, variant_id = variant_copy
    assert (
        main(
            [
                "export",
                variant_id,
                "--data-dir",
                str(root),
                "--format",
                "html",
                "--views",
                "fourier_nroms",
            ]
        )
        == 2
    )
    assert "Did you mean" in capsys.readouterr().err


def test_batch_export_reports_failures_per_view(variant_copy, tmp_path):
    from miscope_core.views import VariantSource
    from miscope_core.views.export import export_many

    root, variant_id = variant_copy
    source = VariantSource.open(root, variant_id)
    seen = []
    results = export_many(
        source,
        ["loss_curves", "no_such_view"],
        "html",
        tmp_path / "out",
        on_item=lambda name, result: seen.append(name),
    )
    assert results["loss_curves"].name.endswith(".html") and results["loss_curves"].exists()
    assert isinstance(results["no_such_view"], KeyError)
    assert seen == ["loss_curves", "no_such_view"]


def test_gif_of_a_view_that_ignores_the_epoch_is_refused(variant):
    with pytest.raises(ValueError, match="does not change with the epoch"):
        variant.view("parameters.pca.explained_variance").export("gif")


def test_miscope_cli_runs_export(variant_copy, tmp_path):
    from app.cli.main import main

    root, variant_id = variant_copy
    out = tmp_path / "html"
    assert (
        main(
            [
                "export",
                variant_id,
                "--data-dir",
                str(root),
                "--format",
                "html",
                "--views",
                "loss_curves",
                "weight_norm",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert sorted(p.suffix for p in out.iterdir()) == [".html", ".html"]
