"""MIScope core: families, training, analysis and the view catalog (no Dash, no Flask).

The notebook vocabulary is exported lazily, so `import miscope_core` stays light (no torch):

    from miscope_core import load_variant, list_families, list_views, compare
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_variant": "miscope_core.notebook",
    "Variant": "miscope_core.notebook",
    "list_families": "miscope_core.families",
    "get_family": "miscope_core.families",
    "list_views": "miscope_core.views",
    "get_view": "miscope_core.views",
    "compare": "miscope_core.comparison",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'miscope_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
