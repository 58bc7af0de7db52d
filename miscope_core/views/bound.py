"""BoundView: one view bound to a variant, an epoch and parameters; renders itself anywhere."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from miscope_core.views.registry import get_view
from miscope_core.views.render import (
    ViewNotAvailableError,
    render_for_source,
    validate_params,
    view_availability,
    view_epochs,
)
from miscope_core.views.source import VariantSource


class BoundView:
    """A view of one variant at an epoch (None: last checkpoint) with validated parameters.

    Construction is strict: an unknown view, a missing artifact or a bad parameter raises here,
    with the way out in the message.
    """

    def __init__(self, source: VariantSource, name: str, epoch: int | None = None, **params: Any):
        self.source = source
        self.spec = get_view(name)
        status = view_availability(source, self.spec)
        if not status.available:
            raise ViewNotAvailableError(
                f"View '{self.spec.name}' is not available for "
                f"'{source.variant_id}': {status.reason}"
            )
        validate_params(self.spec, params, source.model)
        self.epoch = epoch
        self.params = params

    @property
    def name(self) -> str:
        """The view's dotted name."""
        return self.spec.name

    @property
    def epochs(self) -> list[int]:
        """Epochs this view can be drawn at (or its cursor can visit)."""
        return view_epochs(self.source, self.spec)

    def figure(self):
        """The Plotly figure."""
        return render_for_source(self.source, self.spec, self.epoch, **self.params)

    def show(self) -> Path | None:
        """Display inline in a notebook; elsewhere write an offline HTML file into the
        workspace's exports, open it in a browser when there is a display, print its path."""
        from miscope_core.views.display import show_figure

        return show_figure(self, lambda: self.export("html"))

    def export(
        self, fmt: str = "png", path: str | Path | None = None, epochs: Sequence[int] | None = None
    ) -> Path:
        """Write png/svg/pdf/html/gif (gif: one frame per checkpoint in `epochs`, default all)."""
        from miscope_core.views.export import export_source_view

        return export_source_view(
            self.source, self.spec.name, fmt, path, self.epoch, epochs, **self.params
        )

    def to_csv(self) -> str:
        """The plotted data as CSV text."""
        from miscope_core.views.table import figure_to_csv

        return figure_to_csv(self.figure())

    def _repr_mimebundle_(self, include=None, exclude=None):
        from miscope_core.views.display import notebook_bundle

        return notebook_bundle(self.figure())

    def _repr_html_(self) -> str:
        from miscope_core.views.display import offline_html

        return offline_html(self.figure())

    def __repr__(self) -> str:
        when = "last checkpoint" if self.epoch is None else f"epoch {self.epoch}"
        extra = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"<BoundView {self.spec.name} of {self.source.variant_id} at {when}{extra}>"
