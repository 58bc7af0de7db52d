"""The view catalog for the command line: list views, batch-export a variant's views."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from miscope_core.views.export import ExportError

__all__ = ["ExportError", "export_views", "list_catalog", "views_to_export"]


def list_catalog(data_dir=None, variant_id: str | None = None) -> list[dict[str, str | None]]:
    """One row per view: name, kind, title and, for a variant, why it is not available."""
    from miscope_core.views import VariantSource, available_views, list_views

    reasons = {}
    if variant_id:
        source = VariantSource.open(data_dir, variant_id)
        reasons = {row.name: row.reason for row in available_views(source) if not row.available}
    return [
        {
            "name": spec.name,
            "kind": spec.kind,
            "title": spec.title,
            "not_available": reasons.get(spec.name),
        }
        for spec in list_views()
    ]


def views_to_export(data_dir, variant_id: str, views: list[str] | None, fmt: str) -> list[str]:
    """Canonical names of `views` (aliases resolved; unknown ones raise KeyError), or by
    default every view available for the variant (for gif, those that change with the epoch)."""
    from miscope_core.views import VariantSource, available_views, get_view

    source = VariantSource.open(data_dir, variant_id)  # an unknown variant fails first
    if views:
        return [get_view(v).name for v in views]
    names = [row.name for row in available_views(source) if row.available]
    return [n for n in names if fmt != "gif" or get_view(n).uses_epoch]


def export_views(
    data_dir,
    variant_id: str,
    names: list[str],
    fmt: str,
    output: Path | None,
    epoch: int | None,
    on_item: Callable[[str, object], None] | None = None,
) -> dict[str, object]:
    """Export views with one browser start: {view: path, or the exception it raised}.

    A missing exporter (kaleido, a browser) raises ExportError before any view is drawn.
    """
    from miscope_core.views import VariantSource
    from miscope_core.views.export import export_many

    source = VariantSource.open(data_dir, variant_id)
    return export_many(source, names, fmt, output, epoch, on_item)
