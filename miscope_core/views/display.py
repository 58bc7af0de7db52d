"""Showing figures without the internet: notebooks get plotly.js inline, terminals get a file.

Research clusters often have no internet, so nothing here loads plotly.js from a CDN. In a
notebook the figure travels as Plotly's own MIME type (JupyterLab, Notebook 7 and VS Code
draw it with their bundled plotly.js) plus an HTML fallback whose first occurrence in the
kernel carries plotly.js inline, as Plotly's offline "notebook" renderer does, so a notebook
holds one copy of the 4.8 MB library rather than one per figure. In a plain terminal, `.show()`
writes a self-contained HTML file and opens it in a browser when there is a display.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Any

PLOTLY_MIME = "application/vnd.plotly.v1+json"


class _KernelState:
    """Whether this kernel has already sent plotly.js inline (notebook outputs only)."""

    plotlyjs_sent = False


def offline_html(figure: Any, full_html: bool = False) -> str:
    """The figure as HTML with plotly.js inline (works with no network)."""
    return figure.to_html(full_html=full_html, include_plotlyjs=True)


def notebook_bundle(figure: Any) -> dict[str, Any]:
    """Jupyter MIME bundle: Plotly's JSON type plus an HTML fallback that needs no CDN."""
    import plotly.io as pio

    include = not _KernelState.plotlyjs_sent
    _KernelState.plotlyjs_sent = True
    html = figure.to_html(full_html=False, include_plotlyjs=include)
    return {
        PLOTLY_MIME: pio.renderers["plotly_mimetype"].to_mimebundle(figure.to_dict())[PLOTLY_MIME],
        "text/html": html,
    }


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where rich display works)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def has_display() -> bool:
    """Whether a graphical browser can plausibly open (not on a headless Linux node)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def show_figure(display_object: Any, write_html: Callable[[], Path]) -> Path | None:
    """Display inline in a notebook; elsewhere write the HTML file, try a browser, print where.

    Returns the written file outside a notebook (None inside one).
    """
    if in_notebook():
        from IPython.display import display

        display(display_object)
        return None
    path = write_html()
    opened = False
    if has_display():
        try:
            opened = webbrowser.open(path.resolve().as_uri())
        except webbrowser.Error:
            opened = False
    action = "opened in your browser" if opened else "open it in a browser to view it"
    print(f"Figure written to {path} ({action}; plotly.js is inline, so it works offline)")
    return path


def offline_figure(figure: Any, html_path: Path) -> Any:
    """`figure` as a Figure whose `.show()` behaves like a view's (inline in a notebook, else
    offline HTML at `html_path`): plotly's own `.show()` does nothing visible in a terminal."""
    return _offline_figure_class()(figure, html_path)


def _offline_figure_class() -> type:
    global _OFFLINE_FIGURE
    if _OFFLINE_FIGURE is None:
        import plotly.graph_objects as go

        class OfflineFigure(go.Figure):
            """A plotly Figure that shows itself offline (see `offline_figure`)."""

            def __init__(self, figure: Any = None, html_path: Path | None = None, **kwargs):
                super().__init__(figure, **kwargs)
                self._miscope_html_path = html_path

            def show(self, *args, **kwargs) -> Path | None:
                """Inline in a notebook; elsewhere write offline HTML and say where."""
                if self._miscope_html_path is None:
                    return super().show(*args, **kwargs)
                return show_figure(self, self._write_html)

            def _write_html(self) -> Path:
                from miscope_core.io import atomic_write_bytes

                path = Path(self._miscope_html_path)
                atomic_write_bytes(path, offline_html(self, full_html=True).encode())
                return path

            def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
                return notebook_bundle(self)

        _OFFLINE_FIGURE = OfflineFigure
    return _OFFLINE_FIGURE


_OFFLINE_FIGURE: type | None = None
