"""The view catalog: one registry read by the notebook, the dashboard, export and the docs.

Importing this package (and loading artifacts, and rendering) never imports torch or
transformer_lens.
"""

from __future__ import annotations

from miscope_core.views.registry import (
    ACROSS_EPOCHS,
    ALIASES,
    CROSS_EPOCH,
    CROSS_VARIANT,
    KINDS,
    PER_EPOCH,
    VIEWS,
    ViewParam,
    ViewSpec,
    get_view,
    list_views,
    register_view,
)
from miscope_core.views.render import (
    ViewAvailability,
    ViewNotAvailableError,
    available_views,
    render_for_source,
    render_view,
    validate_params,
    view_epochs,
)
from miscope_core.views.source import VariantSource

__all__ = [
    "ACROSS_EPOCHS",
    "ALIASES",
    "CROSS_EPOCH",
    "CROSS_VARIANT",
    "KINDS",
    "PER_EPOCH",
    "VIEWS",
    "VariantSource",
    "ViewAvailability",
    "ViewNotAvailableError",
    "ViewParam",
    "ViewSpec",
    "available_views",
    "get_view",
    "list_views",
    "register_view",
    "render_for_source",
    "render_view",
    "validate_params",
    "view_epochs",
]
