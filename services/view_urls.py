"""Explore-page URL state: `views=name[:param=value...],...` <-> a list of panels."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PanelRequest:
    """One panel of the Explore grid: a view name and its keyword parameters."""

    view: str
    params: dict[str, Any] = field(default_factory=dict)


def parse_views_param(text: str | None) -> list[PanelRequest]:
    """'a.b,c.d:neuron=3:layer=0' -> panels (values parsed as JSON where they can be)."""
    panels = []
    for item in (text or "").split(","):
        name, *pairs = [part.strip() for part in item.split(":")]
        if not name:
            continue
        params = {}
        for pair in pairs:
            key, sep, raw = pair.partition("=")
            if not sep or not key:
                raise ValueError(
                    f"Bad view parameter {pair!r} in {item!r}; use name=value, "
                    f"e.g. neurons.activation_grid:neuron=3"
                )
            params[key] = _parse_value(raw)
        panels.append(PanelRequest(name, params))
    return panels


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def format_views_param(panels: list[PanelRequest]) -> str:
    """Inverse of parse_views_param."""
    items = []
    for panel in panels:
        pairs = [
            f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
            for k, v in panel.params.items()
            if v is not None
        ]
        items.append(":".join([panel.view, *pairs]))
    return ",".join(items)
