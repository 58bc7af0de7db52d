"""Export views as PNG, SVG, PDF, HTML or GIF (checkpoint animation), and plotted data as CSV.

Static images go through Kaleido 1.x driving the system Chromium; `browser_session()` keeps
one browser open for a batch. GIFs are PNG frames (one per selected checkpoint, axis ranges
fixed across frames) assembled with Pillow.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from miscope_core.views.frames import fix_axis_ranges
from miscope_core.views.registry import ViewSpec, get_view
from miscope_core.views.render import render_for_source, resolve_epoch, view_epochs
from miscope_core.views.source import VariantSource, nearest, open_source

EXPORT_FORMATS = ("png", "svg", "pdf", "html", "gif")
IMAGE_FORMATS = ("png", "svg", "pdf")
MIME_TYPES = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "html": "text/html",
    "gif": "image/gif",
    "csv": "text/csv",
}
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
GIF_FRAME_MS = 600


class ExportError(RuntimeError):
    """An export cannot be produced (missing browser or kaleido, bad format)."""


class ExportCancelled(ExportError):
    """An export was cancelled by its requester (raised from an `on_frame` callback)."""


# on_frame(done, total): progress of a GIF, called after each drawn figure and each rendered
# frame; it may raise ExportCancelled to stop the export between frames.
FrameCallback = Callable[[int, int], None]


def find_chromium() -> str | None:
    """The browser Kaleido will drive: $BROWSER_PATH, else a Chromium/Chrome on PATH."""
    configured = os.environ.get("BROWSER_PATH")
    if configured and Path(configured).exists():
        return configured
    return next((found for name in BROWSER_NAMES if (found := shutil.which(name))), None)


def check_format(fmt: str) -> str:
    """Normalise and validate an export format."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; valid formats: {list(EXPORT_FORMATS)}")
    return fmt


def check_image_export(fmt: str) -> None:
    """Raise a clear error when kaleido or a browser is missing for a static image."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        raise ExportError(
            f"Cannot export {fmt.upper()}: kaleido is not installed "
            f"(`uv add kaleido`); HTML export works without it"
        ) from None
    if find_chromium() is None:
        raise ExportError(
            f"Cannot export {fmt.upper()}: no Chromium found (install it with "
            f"`apt-get install -y chromium`, or set BROWSER_PATH); HTML export "
            f"works without it"
        )


@contextlib.contextmanager
def browser_session() -> Iterator[None]:
    """Keep one Kaleido browser open for every image rendered inside the block."""
    import kaleido

    server = getattr(kaleido, "_global_server", None)
    started = server is None or not server.is_running()
    if started:
        kaleido.start_sync_server(silence_warnings=True)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The kopts argument is ignored")
            yield
    finally:
        if started:
            kaleido.stop_sync_server(silence_warnings=True)


def figure_bytes(figure: Any, fmt: str) -> bytes:
    """One figure as PNG / SVG / PDF bytes, or a self-contained HTML page."""
    fmt = check_format(fmt)
    if fmt == "html":
        return figure.to_html(include_plotlyjs=True, full_html=True).encode()
    if fmt == "gif":
        raise ValueError("A GIF is an animation over checkpoints; use export_view(..., 'gif')")
    check_image_export(fmt)
    import plotly.io as pio

    return pio.to_image(figure, format=fmt)


def slug(value: Any) -> str:
    """File-name-safe text."""
    return re.sub(r"[^A-Za-z0-9.\-]+", "-", str(value)).strip("-")


def canonical_export_name(
    variant_id: str,
    view: str,
    fmt: str,
    epoch: int | None,
    params: Mapping[str, Any],
    epochs: Sequence[int] = (),
) -> str:
    """e.g. p59_seed999_dseed598_tf0.4__parameters.pca.pc2_pc3__e3000__group-mlp.png"""
    parts = [variant_id, view]
    if epochs:
        parts.append(f"e{epochs[0]}-{epochs[-1]}x{len(epochs)}")
    elif epoch is not None:
        parts.append(f"e{epoch}")
    parts += [f"{slug(k)}-{slug(v)}" for k, v in sorted(params.items())]
    return "__".join(parts) + f".{fmt}"


def gif_epochs(source: VariantSource, spec: ViewSpec, epochs: Sequence[int] | None) -> list[int]:
    """The checkpoints a GIF animates (nearest available to each requested one, deduplicated)."""
    available = view_epochs(source, spec)
    if not available:
        raise ValueError(f"View '{spec.name}' has no epochs to animate")
    if epochs is None:
        return available
    return sorted({nearest(available, int(e)) for e in epochs})


def gif_bytes(
    source: VariantSource,
    spec: ViewSpec,
    epochs: Sequence[int],
    params: Mapping[str, Any],
    on_frame: FrameCallback | None = None,
) -> bytes:
    """An animated GIF: one PNG frame per epoch, axis and colour ranges fixed across frames.

    Progress counts 2 steps per frame (draw the figure, render the PNG); `on_frame` is told
    after each and may raise ExportCancelled.
    """
    from PIL import Image

    if not spec.uses_epoch:
        raise ValueError(
            f"View '{spec.name}' does not change with the epoch; export it as "
            f"png/svg/pdf/html instead of gif"
        )
    check_image_export("gif")
    tick = on_frame or (lambda done, total: None)
    total = 2 * len(epochs)
    figures = []
    for epoch in epochs:
        figures.append(render_for_source(source, spec, epoch, **params))
        tick(len(figures), total)
    figures = fix_axis_ranges(figures)
    import plotly.io as pio

    frames = []
    with browser_session():
        for figure in figures:
            png = pio.to_image(figure, format="png")
            frames.append(Image.open(io.BytesIO(png)).convert("RGB"))
            tick(len(epochs) + len(frames), total)
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=GIF_FRAME_MS,
        loop=0,
        disposal=1,
    )
    return buffer.getvalue()


def export_source_bytes(
    source: VariantSource,
    view: str,
    fmt: str,
    epoch: int | None = None,
    epochs: Sequence[int] | None = None,
    on_frame: FrameCallback | None = None,
    **params: Any,
) -> tuple[bytes, str, str]:
    """(file bytes, MIME type, canonical file name) of a view: what a download route serves."""
    fmt = check_format(fmt)
    spec = get_view(view)
    if fmt == "gif":
        chosen = gif_epochs(source, spec, epochs)
        payload = gif_bytes(source, spec, chosen, params, on_frame)
        name = canonical_export_name(source.variant_id, spec.name, fmt, None, params, chosen)
        return payload, MIME_TYPES[fmt], name
    figure = render_for_source(source, spec, epoch, **params)
    resolved, _ = resolve_epoch(source, spec, epoch)
    name = canonical_export_name(
        source.variant_id, spec.name, fmt, resolved if spec.uses_epoch else None, params
    )
    return figure_bytes(figure, fmt), MIME_TYPES[fmt], name


def export_source_view(
    source: VariantSource,
    view: str,
    fmt: str,
    path: str | Path | None = None,
    epoch: int | None = None,
    epochs: Sequence[int] | None = None,
    **params: Any,
) -> Path:
    """Write a view to `path` (a file, or a folder for the canonical name; default: the
    workspace's exports/<variant>/<canonical name>) and return the file's path."""
    payload, _, name = export_source_bytes(source, view, fmt, epoch, epochs, **params)
    target = Path(path) if path is not None else source.workspace.exports / source.variant_id / name
    if target.is_dir() or not target.suffix:  # a folder, existing or not
        target = target / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(payload)
    return target


def export_view(
    workspace: Any,
    variant_id: str,
    view: str,
    fmt: str,
    path: str | Path | None = None,
    epoch: int | None = None,
    epochs: Sequence[int] | None = None,
    **params: Any,
) -> Path:
    """Export a view of a variant in a workspace; returns the written path."""
    source = VariantSource.open(workspace, variant_id)
    return export_source_view(source, view, fmt, path, epoch, epochs, **params)


def export_bytes(
    workspace: Any, variant_id: str, view: str, fmt: str, epoch: int | None = None, **params: Any
) -> tuple[bytes, str, str]:
    """(bytes, MIME type, file name) of a view, for a Flask download route."""
    source = open_source(workspace, variant_id)
    return export_source_bytes(source, view, fmt, epoch, **params)


def export_many(
    source: VariantSource,
    views: Sequence[str],
    fmt: str,
    directory: str | Path | None = None,
    epoch: int | None = None,
    on_item: Any = None,
) -> dict[str, Path | Exception]:
    """Export several views with one browser start; per-view failures are returned, not raised.

    `on_item(name, result)` is called after each view (for a progress bar).
    """
    fmt = check_format(fmt)
    if fmt != "html":
        check_image_export(fmt)
    results: dict[str, Path | Exception] = {}
    session = browser_session() if fmt != "html" else contextlib.nullcontext()
    with session:
        for name in views:
            try:
                results[name] = export_source_view(source, name, fmt, directory, epoch)
            except (LookupError, ValueError, TypeError, ExportError) as exc:
                results[name] = exc
            if on_item is not None:
                on_item(name, results[name])
    return results
