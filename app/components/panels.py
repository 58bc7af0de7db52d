"""Explore panels: a card per view with generated parameter controls and a download menu."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import dash_bootstrap_components as dbc
from dash import dcc, html

KIND_LABELS = {
    "per_epoch": "per epoch",
    "across_epochs": "across epochs",
    "cross_epoch": "across epochs (cross-epoch)",
    "cross_variant": "across variants",
}
DOWNLOADS = (
    ("PNG", "png"),
    ("SVG", "svg"),
    ("Interactive HTML", "html"),
    ("Data (CSV)", "csv"),
    ("GIF over checkpoints", "gif"),
)
GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}


PICKER_HEIGHT = 560  # px: about 16 rows of the 70+ views at once, scrolling for the rest


def view_options(catalog: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dropdown options grouped by area (the name's first part: a disabled heading per area),
    each labelled with its kind; unavailable ones greyed, inapplicable ones left out."""
    areas: dict[str, list[dict[str, Any]]] = {}
    for view in sorted(catalog, key=lambda v: v["name"]):
        if view["applicable"]:
            areas.setdefault(view["name"].split(".")[0], []).append(view)
    options = []
    for area, views in areas.items():
        ready = sum(v["available"] for v in views)
        options.append(
            {
                "label": f"── {area} ({ready} of {len(views)}) ──",
                "value": f"__{area}",
                "disabled": True,
            }
        )
        options += [
            {
                "label": f"{v['name']} · {KIND_LABELS.get(v['kind'], v['kind'])}"
                + ("" if v["available"] else "  (needs analysis)"),
                "value": v["name"],
                "disabled": not v["available"],
                "title": v["description"] if v["available"] else v["reason"],
            }
            for v in views
        ]
    return options


def panel_card(index: int, variant_id: str, view: dict[str, Any], params: dict[str, Any]):
    """One panel: header (title, kind, downloads, remove), parameter controls, graph."""
    controls = [param_control(index, p, params.get(p["name"])) for p in view["params"]]
    return dbc.Col(
        dbc.Card(
            [
                dbc.CardHeader(
                    [
                        html.Span(
                            view["title"], className="panel-title", title=view["description"]
                        ),
                        dbc.Badge(
                            KIND_LABELS.get(view["kind"], view["kind"]),
                            color="light",
                            text_color="secondary",
                            className="kind-label",
                        ),
                        download_menu(variant_id, view["name"], params),
                        dbc.Button(
                            "×",
                            id={"type": "panel-remove", "index": index},
                            color="link",
                            size="sm",
                            className="text-muted p-0 px-1",
                            title="Remove this panel",
                        ),
                    ]
                ),
                dbc.CardBody(
                    [
                        dbc.Row(controls, className="g-2 panel-params mb-1") if controls else None,
                        html.Div(id={"type": "panel-error", "index": index}),
                        dcc.Loading(
                            dcc.Graph(
                                id={"type": "panel-graph", "index": index},
                                config=GRAPH_CONFIG,
                                style={"height": "430px"},
                                className="panel-graph",
                            ),
                            delay_show=400,
                        ),
                        dcc.Store(
                            id={"type": "panel-spec", "index": index},
                            data={"view": view["name"], "params": params},
                        ),
                        dcc.Store(id={"type": "panel-frames", "index": index}),
                    ],
                    className="p-2",
                ),
            ],
            className="panel-card h-100",
        ),
        lg=6,
        className="mb-3",
    )


def param_control(index: int, param: dict[str, Any], value: Any) -> dbc.Col:
    """A control generated from a view's declared parameter."""
    control_id = {"type": "panel-param", "index": index, "name": param["name"]}
    current = param["default"] if value is None else value
    if param["choices"]:
        control = dbc.Select(
            id=control_id,
            value=str(current),
            size="sm",
            options=[{"label": str(c), "value": str(c)} for c in param["choices"]],
        )
    elif param["type"] == "bool":
        control = dbc.Checkbox(id=control_id, value=bool(current), label=param["name"])
    else:
        numeric = param["type"] in ("int", "float")
        control = dbc.Input(
            id=control_id,
            value=current,
            size="sm",
            debounce=True,
            type="number" if numeric else "text",
            min=param["min"],
            max=param["max"],
            step=1 if param["type"] == "int" else "any",
            placeholder="auto" if param["default"] is None else None,
        )
    return dbc.Col(
        html.Div(
            [dbc.Label(param["name"], className="form-label"), control],
            title=f"{param['description']} ({param['rule']})",
        ),
        width=4,
    )


def download_menu(variant_id: str, view: str, params: dict[str, Any]) -> dbc.DropdownMenu:
    """PNG / SVG / HTML / CSV / GIF links; assets/explore.js adds the current epoch on click."""
    query = f"?params={quote(json.dumps(params))}" if params else "?"
    items = [
        dbc.DropdownMenuItem(
            label,
            href=f"/download/{variant_id}/{view}.{fmt}{query}",
            external_link=True,
            target="_blank",
            className="download-link",
        )
        for label, fmt in DOWNLOADS
    ]
    return dbc.DropdownMenu(
        items,
        label="Download",
        size="sm",
        color="light",
        align_end=True,
        toggle_class_name="py-0 px-2 small",
    )


def slider_marks(epochs: list[int], count: int = 8) -> dict[int, str]:
    """About `count` labelled marks over the checkpoint index."""
    if not epochs:
        return {}
    step = max(1, (len(epochs) - 1) // max(1, count - 1))
    marks = {i: str(epochs[i]) for i in range(0, len(epochs), step)}
    marks[len(epochs) - 1] = str(epochs[-1])
    return marks
